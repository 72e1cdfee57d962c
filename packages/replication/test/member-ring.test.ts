import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import fc from 'fast-check'
import { MemberRing } from '../src/index.js'
import { bruteClosest, contacts, ids, randomKey } from './helpers.js'

describe('MemberRing', () => {
  it('closest(n) equals the brute-force n closest, with and without a filter, under adds/removes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 80 }), (seed, n) => {
        const rnd = new SeededRandom(seed)
        const cs = contacts(n, seed)
        const ring = new MemberRing(cs)
        const gone = new Set<string>()
        for (const c of cs) {
          if (rnd.next() < 0.2) {
            ring.remove(c.peerId)
            gone.add(c.peerId)
          }
        }
        const live = cs.filter((c) => !gone.has(c.peerId))
        assert.equal(ring.size, live.length)
        const key = randomKey(seed ^ 0x55)
        const want = 1 + rnd.int(6)
        assert.deepEqual(ids(ring.closest(key, want)), bruteClosest(key, live, want))
        const skip = new Set(live.filter(() => rnd.next() < 0.5).map((c) => c.peerId))
        assert.deepEqual(
          ids(ring.closest(key, want, (c) => !skip.has(c.peerId))),
          bruteClosest(key, live, want, skip),
        )
      }),
      { numRuns: 300 },
    )
  })

  it('finds a member by its own key first and replaces a re-added member', () => {
    const cs = contacts(10, 4)
    const ring = new MemberRing(cs)
    assert.equal(ring.closest(cs[3]!.key, 1)[0]!.peerId, 'p3')
    assert.equal(ring.add({ ...cs[3]!, addrs: ['/ip4/1.2.3.4/tcp/1'] }), false)
    assert.equal(ring.size, 10)
    assert.deepEqual(ring.get('p3')!.addrs, ['/ip4/1.2.3.4/tcp/1'])
    assert.equal(ring.remove('nope'), undefined)
  })
  it('stays exact for clustered keys (long shared prefixes) and n ≥ size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 40 }), (seed, n) => {
        const rnd = new SeededRandom(seed)
        const key = rnd.bytes(32)
        const cs = contacts(n, seed + 1).map((c) => {
          const k = new Uint8Array(c.key)
          k.set(key.subarray(0, rnd.int(4)))
          if (rnd.next() < 0.3) k[3] = key[3]! ^ (1 << rnd.int(8))
          return { ...c, key: k }
        })
        const ring = new MemberRing(cs)
        for (const want of [1, 3, n, n + 2]) {
          assert.deepEqual(ids(ring.closest(key, want)), bruteClosest(key, cs, want))
        }
        assert.deepEqual(ids(ring.closest(cs[0]!.key, 3)), bruteClosest(cs[0]!.key, cs, 3))
      }),
      { numRuns: 300 },
    )
  })
})
