import assert from 'node:assert/strict'
import { keyForKvName, SeededRandom } from '@swarmstore/core'
import { RANGE_COUNT, type RangeCandidate, rangeOf, rangesPerMember, targetMembers } from '../src/index.js'

function members(n: number, seed: number): RangeCandidate[] {
  const rnd = new SeededRandom(seed)
  return Array.from({ length: n }, (_, i) => ({ peerId: `m${i}`, key: rnd.bytes(32) }))
}

describe('ranges: a fixed cut of the keyspace, and where each range should live', () => {
  it('a key belongs to the range named by its top 12 bits', () => {
    const k = new Uint8Array(32)
    assert.equal(rangeOf(k), 0)
    k[0] = 0xff
    k[1] = 0xff
    assert.equal(rangeOf(k), RANGE_COUNT - 1)
    k[0] = 0x12
    k[1] = 0x34
    assert.equal(rangeOf(k), 0x123)
  })

  it('key-value names spread over the ranges', () => {
    const counts = new Array<number>(RANGE_COUNT).fill(0)
    for (let i = 0; i < 100_000; i++) counts[rangeOf(keyForKvName(`user/${i}`))]!++
    const fair = 100_000 / RANGE_COUNT
    assert.ok(Math.max(...counts) < 2.5 * fair, `max ${Math.max(...counts)} of fair ${fair}`)
  })

  it('the target members are the same whatever the order of the candidates', () => {
    const ms = members(20, 1)
    const shuffled = [...ms].reverse()
    for (let r = 0; r < 200; r++) assert.deepEqual(targetMembers(r, ms, 3), targetMembers(r, shuffled, 3))
  })

  it('with 20 members no member holds over 1.3x its fair share of ranges, nor of 10,000 keys over 2x', () => {
    for (const seed of [1, 2, 3]) {
      const ms = members(20, seed)
      const per = rangesPerMember(ms, 3)
      const fair = (RANGE_COUNT * 3) / 20
      const max = Math.max(...per.values())
      assert.ok(max <= 1.3 * fair, `seed ${seed}: max ${max} ranges, fair ${fair}`)
      const keys = new Map<string, number>()
      for (let i = 0; i < 10_000; i++) {
        for (const id of targetMembers(rangeOf(keyForKvName(`k${seed}/${i}`)), ms, 3)) {
          keys.set(id, (keys.get(id) ?? 0) + 1)
        }
      }
      const keyMax = Math.max(...keys.values())
      assert.ok(keyMax <= 2 * ((10_000 * 3) / 20), `seed ${seed}: max ${keyMax} keys`)
    }
  })

  it('a join moves only the ranges the newcomer enters (about R/n of them), and only one member each', () => {
    const ms = members(20, 4)
    const newcomer = members(21, 5)[20]!
    let moved = 0
    for (let r = 0; r < RANGE_COUNT; r++) {
      const before = targetMembers(r, ms, 3)
      const after = targetMembers(r, [...ms, newcomer], 3)
      const gone = before.filter((id) => !after.includes(id))
      if (gone.length === 0) continue
      moved++
      assert.equal(gone.length, 1)
      assert.ok(after.includes(newcomer.peerId))
    }
    const expected = (RANGE_COUNT * 3) / 21
    assert.ok(moved > 0.7 * expected && moved < 1.3 * expected, `moved ${moved}, expected ~${expected}`)
  })

  it('a death changes only the ranges the dead member was in', () => {
    const ms = members(20, 6)
    const dead = ms[7]!
    const rest = ms.filter((m) => m !== dead)
    for (let r = 0; r < RANGE_COUNT; r++) {
      const before = targetMembers(r, ms, 3)
      const after = targetMembers(r, rest, 3)
      if (!before.includes(dead.peerId)) assert.deepEqual(after, before)
      else
        assert.deepEqual(
          after.slice(0, 2),
          before.filter((id) => id !== dead.peerId),
        )
    }
  })
})
