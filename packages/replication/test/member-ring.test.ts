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
})
