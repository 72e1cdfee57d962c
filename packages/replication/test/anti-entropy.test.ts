import assert from 'node:assert/strict'
import { commonPrefixLength, type Key, keyToHex, SeededRandom } from '@swarmstore/core'
import fc from 'fast-check'
import { AntiEntropySession, type KeyPrefix, MemoryRangeIndex, sharedRange } from '../src/index.js'

/** Runs a session against a remote index, answering as the responder would. */
function exchange(local: MemoryRangeIndex, remote: MemoryRangeIndex, root: KeyPrefix, leafKeys = 16) {
  const s = new AntiEntropySession({ local, root, leafKeys })
  let summariesAsked = 0
  for (let q = s.next(); q !== undefined; q = s.next()) {
    summariesAsked += q.summaries.length
    s.receiveSummaries(q.summaries.map((prefix) => ({ prefix, summary: remote.summarize(prefix) })))
    s.receiveKeys(q.keys.map((prefix) => ({ prefix, keys: remote.keysIn(prefix, 4096) })))
  }
  assert.ok(s.done)
  return { s, summariesAsked }
}

const hexes = (ks: readonly Key[]) => ks.map(keyToHex).sort()

describe('anti-entropy', () => {
  it('finds exactly the keys each side lacks (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 400 }), (seed, n) => {
        const rnd = new SeededRandom(seed)
        const all = Array.from({ length: n }, () => rnd.bytes(32))
        const a = new MemoryRangeIndex()
        const b = new MemoryRangeIndex()
        for (const k of all) {
          const r = rnd.next()
          if (r < 0.9) {
            a.add(k)
            b.add(k)
          } else if (r < 0.95) a.add(k)
          else b.add(k)
        }
        const { s } = exchange(a, b, { key: new Uint8Array(32), bits: 0 })
        const aSet = new Set(hexes(a.keysIn({ key: new Uint8Array(32), bits: 0 }, 1e6)))
        const bSet = new Set(hexes(b.keysIn({ key: new Uint8Array(32), bits: 0 }, 1e6)))
        assert.deepEqual(hexes(s.remoteLacks), [...aSet].filter((h) => !bSet.has(h)).sort())
        assert.deepEqual(hexes(s.localLacks), [...bSet].filter((h) => !aSet.has(h)).sort())
      }),
      { numRuns: 60 },
    )
  })

  it('costs O(differences), not O(keys): one differing key in 5000', () => {
    const rnd = new SeededRandom(3)
    const keys = Array.from({ length: 5000 }, () => rnd.bytes(32))
    const a = new MemoryRangeIndex(keys)
    const b = new MemoryRangeIndex(keys.slice(1))
    const { s, summariesAsked } = exchange(a, b, { key: new Uint8Array(32), bits: 0 })
    assert.deepEqual(hexes(s.remoteLacks), hexes([keys[0]!]))
    assert.ok(summariesAsked < 40, `asked ${summariesAsked} summaries`)
    const same = exchange(a, new MemoryRangeIndex(keys), { key: new Uint8Array(32), bits: 0 })
    assert.equal(same.s.rounds, 1)
  })

  it('restores a wiped node: everything in the shared range is lacking remotely', () => {
    const rnd = new SeededRandom(9)
    const self = rnd.bytes(32)
    const neighbour = new Uint8Array(self)
    neighbour[2] = neighbour[2]! ^ 0x10
    const root = sharedRange(self, neighbour)
    assert.equal(root.bits, commonPrefixLength(self, neighbour) - 2)
    const near = Array.from({ length: 50 }, () => {
      const k = rnd.bytes(32)
      k.set(self.subarray(0, 2))
      return k
    })
    const { s } = exchange(new MemoryRangeIndex(near), new MemoryRangeIndex(), root)
    assert.equal(s.remoteLacks.length, near.filter((k) => commonPrefixLength(k, self) >= root.bits).length)
    assert.ok(s.rounds <= 1)
  })

  it('ignores answers it did not ask for', () => {
    const s = new AntiEntropySession({
      local: new MemoryRangeIndex(),
      root: { key: new Uint8Array(32), bits: 0 },
    })
    s.receiveKeys([{ prefix: { key: new Uint8Array(32), bits: 0 }, keys: [new Uint8Array(32)] }])
    assert.equal(s.localLacks.length, 0)
  })
})
