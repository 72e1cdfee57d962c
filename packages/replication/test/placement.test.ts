import assert from 'node:assert/strict'
import type { Contact } from '@swarmstore/core'
import { SeededRandom } from '@swarmstore/core'
import fc from 'fast-check'
import { rankAmong, repairsBefore, selectReplicas, shouldAccept } from '../src/index.js'
import { bruteClosest, contacts, ids, randomKey } from './helpers.js'

describe('placement', () => {
  it('selects the R closest by XOR (property, against a bigint reference)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 7 }),
        (seed, n, r) => {
          const cs = contacts(n, seed)
          const key = randomKey(seed + 1)
          assert.deepEqual(ids(selectReplicas(key, cs, { replicas: r })), bruteClosest(key, cs, r))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('skips full nodes and takes the next closest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const cs = contacts(30, seed)
        const rnd = new SeededRandom(seed)
        const full = new Set(cs.filter(() => rnd.next() < 0.4).map((c) => c.peerId))
        const key = randomKey(seed + 7)
        const got = ids(selectReplicas(key, cs, { replicas: 3, isFull: (c) => full.has(c.peerId) }))
        assert.deepEqual(got, bruteClosest(key, cs, 3, full))
        for (const id of got) assert.ok(!full.has(id))
      }),
      { numRuns: 100 },
    )
  })

  it('is deterministic: input order and duplicates do not matter', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const cs = contacts(25, seed)
        const rnd = new SeededRandom(seed)
        const shuffled = [...cs, ...cs.slice(0, 5)].sort(() => rnd.next() - 0.5)
        const key = randomKey(seed + 3)
        assert.deepEqual(ids(selectReplicas(key, shuffled)), ids(selectReplicas(key, cs)))
      }),
      { numRuns: 100 },
    )
  })

  it('returns fewer than R when fewer candidates qualify', () => {
    const cs = contacts(2)
    assert.equal(selectReplicas(randomKey(9), cs, { replicas: 3 }).length, 2)
    assert.equal(selectReplicas(randomKey(9), cs, { replicas: 3, isFull: () => true }).length, 0)
    assert.throws(() => selectReplicas(randomKey(9), cs, { replicas: 0 }), {
      code: 'ERR_REPLICATION_OPTIONS',
    })
  })
})

describe('shouldAccept', () => {
  const cs = contacts(40, 11)
  const key = randomKey(12)
  const ordered = bruteClosest(key, cs, 40)

  it('accepts exactly the nodes ranked below the 2R window', () => {
    for (const [rank, id] of ordered.entries()) {
      const self = cs.find((c) => c.peerId === id)!
      const d = shouldAccept({ selfKey: self.key, key, closestKnown: cs, hasCapacity: true })
      assert.equal(d.rank, rank)
      assert.equal(d.accept, rank < 6, `rank ${rank}`)
      if (!d.accept) assert.equal(d.reason, 'not-responsible')
    }
  })

  it('refuses for capacity only when otherwise responsible', () => {
    const near = cs.find((c) => c.peerId === ordered[0])!
    const far = cs.find((c) => c.peerId === ordered[30])!
    assert.deepEqual(shouldAccept({ selfKey: near.key, key, closestKnown: cs, hasCapacity: false }), {
      accept: false,
      reason: 'no-capacity',
      rank: 0,
    })
    const d = shouldAccept({ selfKey: far.key, key, closestKnown: cs, hasCapacity: false })
    assert.equal(d.accept, false)
    assert.equal(!d.accept && d.reason, 'not-responsible')
  })

  it('honours a custom window and ignores self in closestKnown', () => {
    const third = cs.find((c) => c.peerId === ordered[2])!
    assert.equal(rankAmong(third.key, key, cs), 2)
    assert.equal(
      shouldAccept({ selfKey: third.key, key, closestKnown: cs, window: 2, hasCapacity: true }).accept,
      false,
    )
    assert.equal(
      shouldAccept({ selfKey: third.key, key, closestKnown: cs, window: 3, hasCapacity: true }).accept,
      true,
    )
  })
})

describe('repairsBefore', () => {
  it('spreads first turns evenly over holders, whatever their distance to the key', () => {
    const cs = contacts(6, 9)
    let firstByNearest = 0
    const trials = 2000
    for (let i = 0; i < trials; i++) {
      const key = randomKey(1000 + i)
      const [a, b] = selectReplicas(key, cs, { replicas: 2 }) as [Contact, Contact]
      assert.equal(repairsBefore(a, b, key), !repairsBefore(b, a, key), 'a total order')
      if (repairsBefore(a, b, key)) firstByNearest++
    }
    // the nearer holder goes first about half the time (binomial, σ ≈ 22 of 2000)
    assert.ok(Math.abs(firstByNearest - trials / 2) < 150, `${firstByNearest} of ${trials}`)
  })

  it('gives a dead member’s share to both of its neighbours, not to its nearest one alone', () => {
    const cs = contacts(6, 4)
    for (const dead of cs) {
      const turns = new Map<string, number>()
      for (let i = 0; i < 3000; i++) {
        const key = randomKey(5000 + i)
        const p = selectReplicas(key, cs, { replicas: 3 })
        if (!p.some((c) => c.peerId === dead.peerId)) continue
        const [x, y] = p.filter((c) => c.peerId !== dead.peerId) as [Contact, Contact]
        const first = repairsBefore(x, y, key) ? x : y
        turns.set(first.peerId, (turns.get(first.peerId) ?? 0) + 1)
      }
      const total = [...turns.values()].reduce((s, v) => s + v, 0)
      assert.ok(
        Math.max(...turns.values()) < 0.6 * total,
        `one holder takes ${Math.max(...turns.values())} of ${total}`,
      )
    }
  })
})
