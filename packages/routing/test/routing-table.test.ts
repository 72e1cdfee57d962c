import assert from 'node:assert/strict'
import { commonPrefixLength, compareDistance, KEY_BITS, SeededRandom, xor } from '@swarmstore/core'
import fc from 'fast-check'
import { RoutingTable } from '../src/index.js'
import { contactFor, keyWithCpl, randomContacts } from './helpers.js'

const K = 20

function table(selfSeed = 1, k = K, cache = 5) {
  const self = new SeededRandom(selfSeed).bytes(32)
  const added: string[] = []
  const removed: string[] = []
  const t = new RoutingTable(self, {
    k,
    replacementCacheSize: cache,
    now: 0,
    onAdded: (c) => added.push(c.peerId),
    onRemoved: (c) => removed.push(c.peerId),
  })
  return { self, t, added, removed }
}

describe('XOR metric laws (property)', () => {
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 })
  it('d(a,a)=0, d(a,b)>0 for a≠b, symmetry, triangle inequality (as unsigned ints)', () => {
    fc.assert(
      fc.property(key, key, key, (a, b, c) => {
        const zero = new Uint8Array(32)
        assert.equal(compareDistance(a, a, a), 0)
        assert.deepEqual(xor(a, a), zero)
        assert.deepEqual(xor(a, b), xor(b, a))
        if (Buffer.compare(a, b) !== 0) assert.notDeepEqual(xor(a, b), zero)
        const big = (u: Uint8Array) => BigInt(`0x${Buffer.from(u).toString('hex')}`)
        assert.ok(big(xor(a, b)) + big(xor(b, c)) >= big(xor(a, c)))
      }),
      { seed: 42, numRuns: 500 },
    )
  })

  it('unidirectional: for a point and a distance there is exactly one key at that distance', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        assert.deepEqual(xor(a, xor(a, b)), b)
      }),
      { seed: 43, numRuns: 300 },
    )
  })
})

describe('RoutingTable', () => {
  it('never holds more than k per bucket, never holds itself, and size matches its buckets (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 600 }), (seed, n) => {
        const { self, t } = table(seed)
        t.add(contactFor(self), 0)
        for (const c of randomContacts(seed + 1, n)) t.add(c, 0)
        let total = 0
        for (const b of t.buckets()) {
          assert.ok(b.entries.length <= K)
          assert.ok(b.replacements.length <= 5)
          for (const e of [...b.entries, ...b.replacements]) {
            assert.ok(
              commonPrefixLength(e.contact.key, b.prefix) >= b.depth,
              'contact lies in its bucket range',
            )
          }
          total += b.entries.length
        }
        assert.equal(t.size, total)
        assert.ok(!t.contacts().some((c) => compareDistance(c.key, self, self) === 0))
      }),
      { seed: 7, numRuns: 60 },
    )
  })

  it('splits only the bucket holding our key (plus the relaxation near us): far buckets stay unsplit', () => {
    const { self, t } = table(3)
    const r = new SeededRandom(4)
    // 40 contacts near us (cpl >= 8), so the subtree around us holds more than k contacts...
    for (let i = 0; i < 40; i++) t.add(contactFor(keyWithCpl(self, 8 + (i % 10), r)), 0)
    // ...then 200 contacts all diverging from us at bit 0: one far bucket, keeps exactly k, never splits
    for (let i = 0; i < 200; i++) t.add(contactFor(keyWithCpl(self, 0, r)), 0)
    const buckets = t.buckets()
    const far = buckets.filter((b) => !t.holdsSelf(b) && b.depth === 1)
    assert.equal(far.length, 1, 'the cpl=0 range is one bucket')
    assert.equal(far[0]!.entries.length, K)
    assert.equal(far[0]!.replacements.length, 5)
    // every bucket off our path is a sibling of a node on our path, except relaxation splits
    for (const b of buckets) {
      if (t.holdsSelf(b)) continue
      const cpl = commonPrefixLength(b.prefix, self)
      assert.ok(cpl < b.depth)
      if (b.depth !== cpl + 1) {
        // a relaxation split: only allowed where the subtree around us holds fewer than k contacts
        const closer = t.contacts().filter((c) => commonPrefixLength(c.key, self) > cpl).length
        assert.ok(closer < K, `relaxed split at depth ${b.depth} although ${closer} contacts are closer`)
      }
    }
    // all 40 near contacts are kept
    assert.equal(t.contacts().filter((c) => commonPrefixLength(c.key, self) >= 8).length, 40)
  })

  it('relaxation: keeps every one of the k contacts closest to us even in a bucket not holding our key', () => {
    // Our self-side subtree at depth 1 is empty; 3k contacts all sit in the other half. Without the
    // relaxation only k of them would be kept, possibly not our k nearest.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
        const { self, t } = table(seed)
        const r = new SeededRandom(seed + 9)
        const cs = Array.from({ length: 3 * K }, () => contactFor(keyWithCpl(self, 0, r)))
        for (const c of cs) t.add(c, 0)
        const trueNearest = [...cs].sort((a, b) => compareDistance(a.key, b.key, self)).slice(0, K)
        const held = new Set(t.contacts().map((c) => c.peerId))
        for (const c of trueNearest) assert.ok(held.has(c.peerId), 'a k-nearest contact was dropped')
        assert.deepEqual(
          t.closest(self, K).map((c) => c.peerId),
          trueNearest.map((c) => c.peerId),
        )
      }),
      { seed: 8, numRuns: 40 },
    )
  })

  it('closest(target, n) equals a brute-force sort of the held contacts (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 40 }), (seed, n) => {
        const { t } = table(seed)
        for (const c of randomContacts(seed + 2, 400)) t.add(c, 0)
        const target = new SeededRandom(seed + 3).bytes(32)
        const brute = t
          .contacts()
          .sort((a, b) => compareDistance(a.key, b.key, target))
          .slice(0, n)
        assert.deepEqual(
          t.closest(target, n).map((c) => c.peerId),
          brute.map((c) => c.peerId),
        )
      }),
      { seed: 9, numRuns: 60 },
    )
  })

  it('a full bucket moves a re-seen contact to the tail and parks newcomers in the bounded cache', () => {
    const { self, t, added } = table(5, 4, 3)
    const r = new SeededRandom(6)
    for (let i = 0; i < 4; i++) t.add(contactFor(keyWithCpl(self, 20 + i, r)), 0) // k near ones: no relaxation
    const far = Array.from({ length: 10 }, () => contactFor(keyWithCpl(self, 0, r)))
    for (const [i, c] of far.entries()) t.add(c, i)
    const b = t.bucketFor(far[0]!.key)
    assert.deepEqual(
      b.entries.map((e) => e.contact.peerId),
      far.slice(0, 4).map((c) => c.peerId),
    )
    assert.deepEqual(
      b.replacements.map((e) => e.contact.peerId),
      far.slice(7).map((c) => c.peerId),
      'cache keeps the 3 most recent',
    )
    t.add(far[0]!, 100)
    assert.equal(b.entries.at(-1)!.contact.peerId, far[0]!.peerId, 're-seen contact moves to the tail')
    assert.equal(added.length, 8)
  })

  it('remove() promotes the freshest replacement into the bucket', () => {
    const { self, t, removed, added } = table(5, 4, 3)
    const r = new SeededRandom(6)
    for (let i = 0; i < 4; i++) t.add(contactFor(keyWithCpl(self, 20 + i, r)), 0)
    const far = Array.from({ length: 8 }, () => contactFor(keyWithCpl(self, 0, r)))
    for (const [i, c] of far.entries()) t.add(c, i)
    const victim = far[1]!
    t.remove(victim.peerId, victim.key)
    assert.deepEqual(removed, [victim.peerId])
    assert.equal(added.at(-1), far[7]!.peerId)
    const b = t.bucketFor(victim.key)
    assert.ok(t.get(far[7]!) !== undefined)
    assert.equal(b.entries.length, 4)
    assert.equal(t.get(victim), undefined)
  })

  it('handles a contact at distance 1 (cpl 255) without splitting past the key length', () => {
    const { self, t } = table(11, 2)
    const r = new SeededRandom(12)
    for (let cpl = 250; cpl < KEY_BITS; cpl++) t.add(contactFor(keyWithCpl(self, cpl, r)), 0)
    for (const b of t.buckets()) assert.ok(b.depth <= KEY_BITS)
    assert.equal(t.size, 6)
  })
})
