import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import fc from 'fast-check'
import { ChainRelay, ChainTracker, PutQuorum, planChain } from '../src/index.js'
import { bruteClosest, contacts, ids, randomKey } from './helpers.js'

describe('PutQuorum', () => {
  const cs = contacts(10, 5)
  const key = randomKey(6)
  const order = bruteClosest(key, cs, 10)

  it('sends to the R closest, acknowledges at W, completes at R', () => {
    const q = new PutQuorum({ key, candidates: cs })
    const s = q.start()
    assert.deepEqual(ids(s.send), order.slice(0, 3))
    assert.equal(s.status, 'pending')
    assert.equal(q.ack(order[1]!).status, 'pending')
    const a = q.ack(order[0]!)
    assert.equal(a.status, 'acknowledged')
    assert.equal(q.acknowledged, true)
    assert.deepEqual(a.send, [])
    assert.equal(q.ack(order[2]!).status, 'complete')
    assert.equal(q.settled, true)
  })

  it('with fanout W sends to the W closest only and is delegated at W acks', () => {
    const q = new PutQuorum({ key, candidates: cs, fanout: 2 })
    const s = q.start()
    assert.deepEqual(ids(s.send), order.slice(0, 2))
    assert.equal(q.ack(order[1]!).status, 'pending')
    const d = q.ack(order[0]!)
    assert.equal(d.status, 'delegated')
    assert.deepEqual(d.send, [])
    assert.equal(q.acknowledged, true)
    assert.equal(q.settled, true)
  })

  it('with fanout W replaces a refusal with the next candidate, still at most W copies', () => {
    const q = new PutQuorum({ key, candidates: cs, fanout: 2 })
    q.start()
    assert.deepEqual(ids(q.refuse(order[0]!, 'no-capacity').send), [order[2]])
    q.ack(order[1]!)
    assert.equal(q.ack(order[2]!).status, 'delegated')
    assert.equal(q.holders.length, 2)
  })

  it('refuses a fanout outside W..R', () => {
    assert.throws(() => new PutQuorum({ key, candidates: cs, fanout: 1 }), RangeError)
    assert.throws(() => new PutQuorum({ key, candidates: cs, fanout: 4 }), RangeError)
  })

  it('replaces a refusal (capacity) and a failure with the next candidates', () => {
    const q = new PutQuorum({ key, candidates: cs })
    q.start()
    assert.deepEqual(ids(q.refuse(order[0]!, 'no-capacity').send), [order[3]])
    assert.deepEqual(ids(q.fail(order[1]!, 'timeout').send), [order[4]])
    q.ack(order[2]!)
    q.ack(order[3]!)
    assert.equal(q.status, 'acknowledged')
    assert.equal(q.ack(order[4]!).status, 'complete')
    assert.deepEqual(
      q.refused.map((r) => [r.contact.peerId, r.reason]),
      [[order[0], 'no-capacity']],
    )
  })

  it('fails as soon as fewer than W acks are possible', () => {
    const few = cs.slice(0, 3)
    const o = bruteClosest(key, few, 3)
    const q = new PutQuorum({ key, candidates: few })
    q.start()
    assert.equal(q.fail(o[0]!).status, 'pending')
    assert.equal(q.fail(o[1]!).status, 'failed')
    assert.equal(q.settled, true)
  })

  it('is partial when acknowledged but R is out of reach', () => {
    const few = cs.slice(0, 3)
    const o = bruteClosest(key, few, 3)
    const q = new PutQuorum({ key, candidates: few })
    q.start()
    q.ack(o[0]!)
    q.ack(o[1]!)
    assert.equal(q.fail(o[2]!).status, 'partial')
  })

  it('re-queues an unknown outcome at its place, bounded by attempts', () => {
    const q = new PutQuorum({ key, candidates: cs, maxAttemptsPerPeer: 2 })
    q.start()
    assert.deepEqual(ids(q.unknown(order[0]!).send), [order[0]])
    assert.deepEqual(ids(q.unknown(order[0]!).send), [order[3]])
    assert.equal(q.failed[0]!.contact.peerId, order[0])
  })

  it('skips candidates known full and rejects replies from peers never asked', () => {
    const q = new PutQuorum({ key, candidates: cs, isFull: (c) => c.peerId === order[0] })
    assert.deepEqual(ids(q.start().send), order.slice(1, 4))
    assert.throws(() => q.ack(order[0]!), { code: 'ERR_UNEXPECTED_REPLY' })
    assert.throws(() => new PutQuorum({ key, candidates: cs, replicas: 2, writeQuorum: 3 }), {
      code: 'ERR_REPLICATION_OPTIONS',
    })
  })

  it('property: never more than R copies outstanding+acked, status consistent with counts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 0, max: 12 }), (seed, n) => {
        const rnd = new SeededRandom(seed)
        const cands = contacts(n, seed)
        const q = new PutQuorum({ key: randomKey(seed), candidates: cands })
        let step = q.start()
        const outstanding = [...step.send]
        let acks = 0
        while (outstanding.length > 0) {
          const c = outstanding.splice(rnd.int(outstanding.length), 1)[0]!
          const r = rnd.int(4)
          if (r === 0) step = q.fail(c.peerId)
          else if (r === 1) step = q.refuse(c.peerId, 'no-capacity')
          else if (r === 2) step = q.unknown(c.peerId)
          else {
            step = q.ack(c.peerId)
            acks++
          }
          outstanding.push(...step.send)
          assert.ok(q.holders.length + q.inFlight.length <= 3)
          if (acks >= 2) assert.ok(q.acknowledged)
        }
        assert.ok(q.settled, `not settled: ${q.status}`)
        const expected = acks >= 3 ? 'complete' : acks >= 2 ? 'partial' : 'failed'
        assert.equal(q.status, expected)
        if (n >= 3 && q.status === 'failed') assert.ok(q.failed.length + q.refused.length > n - 2)
      }),
      { numRuns: 300 },
    )
  })
})

describe('chained replication', () => {
  const cs = contacts(6, 21)
  const key = randomKey(22)

  it('uploader sends once to the head; reports flow back and drive the quorum', () => {
    const q = new PutQuorum({ key, candidates: cs })
    const hop = planChain(q.start().send)!
    const order = bruteClosest(key, cs, 6)
    assert.equal(hop.to.peerId, order[0])
    assert.deepEqual(ids(hop.forward), order.slice(1, 3))
    // n1 relays to n2 which relays to n3
    const r1 = new ChainRelay(hop.forward)
    assert.equal(r1.next!.to.peerId, order[1])
    const r2 = new ChainRelay(r1.next!.forward)
    assert.equal(r2.next!.to.peerId, order[2])
    assert.equal(new ChainRelay(r2.next!.forward).next, undefined)
    const t = new ChainTracker(hop)
    for (const id of [order[2]!, order[0]!, order[1]!]) {
      assert.ok(t.report({ peerId: id, outcome: 'stored' }))
      q.apply({ peerId: id, outcome: 'stored' })
    }
    assert.ok(t.done)
    assert.equal(q.status, 'complete')
  })

  it('a failed middle link is skipped by the relay and replaced by the quorum', () => {
    const order = bruteClosest(key, cs, 6)
    const q = new PutQuorum({ key, candidates: cs })
    const hop = planChain(q.start().send)!
    const r1 = new ChainRelay(hop.forward)
    const { report, next } = r1.skip({ outcome: 'failed', reason: 'timeout' })
    assert.equal(report.peerId, order[1])
    assert.equal(next!.to.peerId, order[2])
    const s = q.apply(report)
    assert.deepEqual(ids(s.send), [order[3]])
  })

  it('a broken head makes every unreported target unknown, so they are retried', () => {
    const order = bruteClosest(key, cs, 6)
    const q = new PutQuorum({ key, candidates: cs })
    const hop = planChain(q.start().send)!
    const t = new ChainTracker(hop)
    t.report({ peerId: order[2]!, outcome: 'stored' })
    q.ack(order[2]!)
    const lost = t.broken()
    assert.deepEqual(lost.map((r) => r.peerId).sort(), [order[0], order[1]].sort())
    const sends = lost.flatMap((r) => q.apply(r).send)
    assert.deepEqual(ids(sends).sort(), [order[0], order[1]].sort())
    assert.equal(t.report({ peerId: order[0]!, outcome: 'stored' }), false)
  })
})
