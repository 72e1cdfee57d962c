import assert from 'node:assert/strict'
import { SeededRandom } from '../src/index.js'

describe('SeededRandom', () => {
  it('same seed gives the same stream; different seeds differ', () => {
    const a = new SeededRandom(42)
    const b = new SeededRandom(42)
    const c = new SeededRandom(43)
    const sa = Array.from({ length: 100 }, () => a.nextUint32())
    const sb = Array.from({ length: 100 }, () => b.nextUint32())
    const sc = Array.from({ length: 100 }, () => c.nextUint32())
    assert.deepEqual(sa, sb)
    assert.notDeepEqual(sa, sc)
  })

  it('int(n) stays in range and covers it roughly uniformly', () => {
    const r = new SeededRandom(7)
    const counts = new Array(10).fill(0)
    for (let i = 0; i < 100_000; i++) counts[r.int(10)]++
    for (const c of counts) assert.ok(c > 9_000 && c < 11_000, `bucket count ${c}`)
  })

  it('bytes(n) has the requested length', () => {
    const r = new SeededRandom(1)
    for (const n of [0, 1, 3, 4, 5, 32]) assert.equal(r.bytes(n).length, n)
  })
})
