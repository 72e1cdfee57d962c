import assert from 'node:assert/strict'
import { ReadPlan } from '../src/index.js'
import { bruteClosest, contacts, ids, randomKey } from './helpers.js'

describe('ReadPlan', () => {
  const cs = contacts(20, 31)
  const key = randomKey(32)
  const order = bruteClosest(key, cs, 20)

  it('asks the closest first and finds', () => {
    const p = new ReadPlan({ key, closest: cs })
    const s = p.start(0)
    assert.deepEqual(ids(s.ask), [order[0]])
    assert.equal(s.hedgeAt, 250)
    const f = p.found(order[0]!)
    assert.equal(f.status, 'found')
    assert.equal(p.holder!.peerId, order[0])
    assert.equal(f.hedgeAt, undefined)
  })

  it('asks a suspected holder last, and still repairs it as a placement member', () => {
    const suspect = order[0]!
    const p = new ReadPlan({ key, closest: cs, deprioritize: (c) => c.peerId === suspect })
    assert.deepEqual(ids(p.start(0).ask), [order[1]])
    assert.equal(p.miss(order[1]!, 'missing', 10).ask[0]!.peerId, order[2])
    assert.equal(p.miss(order[2]!, 'missing', 20).ask[0]!.peerId, suspect, 'before the rest of k')
    const q = new ReadPlan({ key, closest: cs, deprioritize: (c) => c.peerId === suspect })
    q.start(0)
    q.miss(order[1]!, 'missing', 1)
    assert.equal(q.found(order[2]!).status, 'found')
    assert.deepEqual(ids(q.repairTargets()), [order[1]])
  })

  it('hedges a slow holder after the delay, bounded by parallelism', () => {
    const p = new ReadPlan({ key, closest: cs, hedgeAfterMs: 100 })
    p.start(0)
    assert.deepEqual(p.tick(99).ask, [])
    const h = p.tick(100)
    assert.deepEqual(ids(h.ask), [order[1]])
    assert.equal(
      h.hedgeAt,
      undefined,
      'no wake-up while parallelism 2 is reached (it would come back at once)',
    )
    assert.deepEqual(p.tick(500).ask, [], 'parallelism 2 reached')
    assert.equal(p.tick(500).hedgeAt, undefined)
    assert.equal(p.found(order[1]!).status, 'found')
    assert.equal(p.miss(order[0]!, 'failed', 600).status, 'found', 'a late miss changes nothing')
  })

  it('widens past the R closest to k before not-found, and reports read-repair targets', () => {
    const p = new ReadPlan({ key, closest: cs, width: 8 })
    let s = p.start(0)
    const asked: string[] = []
    for (let i = 0; i < 5; i++) {
      asked.push(...ids(s.ask))
      s = p.miss(s.ask[0]!.peerId, i === 1 ? 'corrupt' : i === 2 ? 'failed' : 'missing', i)
    }
    asked.push(...ids(s.ask))
    assert.deepEqual(asked, order.slice(0, 6))
    assert.equal(p.found(order[5]!).status, 'found')
    assert.deepEqual(
      ids(p.repairTargets()).sort(),
      [order[0], order[1]].sort(),
      'R closest that missed, not failed',
    )
  })

  it('reports not-found after all k candidates missed; widen adds more', () => {
    const p = new ReadPlan({ key, closest: cs.slice(0, 2), width: 4 })
    let s = p.start(0)
    s = p.miss(s.ask[0]!.peerId, 'missing', 1)
    s = p.miss(s.ask[0]!.peerId, 'missing', 2)
    assert.equal(s.status, 'not-found')
    assert.equal(p.repairTargets().length, 0)
    const q = new ReadPlan({ key, closest: cs.slice(0, 1), width: 4 })
    const a = q.start(0).ask[0]!
    const w = q.widen(cs.slice(0, 10), 1)
    assert.deepEqual(w.ask, [])
    const m = q.miss(a.peerId, 'missing', 2)
    assert.equal(m.ask.length, 1)
    assert.equal(m.status, 'reading')
  })
})
