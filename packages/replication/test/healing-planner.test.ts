import assert from 'node:assert/strict'
import { type Contact, SeededRandom } from '@swarmstore/core'
import fc from 'fast-check'
import {
  type HealingAction,
  HealingPlanner,
  MemberRing,
  repairsBefore,
  selectReplicas,
} from '../src/index.js'
import { contacts, ids, randomKey } from './helpers.js'

const R = 3

function setup(n = 12, seed = 1) {
  const cs = contacts(n, seed)
  const ring = new MemberRing(cs)
  const key = randomKey(seed + 100)
  const placement = selectReplicas(key, cs, { replicas: R })
  return { cs, ring, key, placement }
}

/**
 * The two surviving holders' planners (stagger 100 ms), after the third member of P died: `pa` is
 * the one whose turn comes first (repairsBefore), `pb` the other.
 */
function deathOfThirdHolder(graceMs: number) {
  const { cs, ring, key, placement } = setup()
  const next = selectReplicas(key, cs, { replicas: R + 1 })[R]!
  const [x, y, dead] = placement as [Contact, Contact, Contact]
  const [a, b] = repairsBefore(x, y, key) ? [x, y] : [y, x]
  const pa = new HealingPlanner({ self: a, view: ring, graceMs, staggerMs: 100 })
  const pb = new HealingPlanner({ self: b, view: ring, graceMs, staggerMs: 100 })
  for (const p of [pa, pb]) p.hold(key, ids(placement))
  ring.remove(dead.peerId)
  pa.memberLeft(dead)
  pb.memberLeft(dead)
  return { key, next, pa, pb }
}

function replicates(actions: HealingAction[]): string[] {
  return actions.flatMap((a) => (a.type === 'replicate' ? [a.to.peerId] : []))
}

describe('HealingPlanner', () => {
  it('a holder inside P with full knowledge does nothing', () => {
    const { ring, key, placement } = setup()
    const p = new HealingPlanner({ self: placement[0]!, view: ring })
    p.hold(key, ids(placement))
    const plan = p.plan(0)
    assert.deepEqual(plan.actions, [])
    assert.equal(plan.nextWakeAt, undefined)
    assert.equal(p.underReplicated(), 0)
  })

  it('a fresh chunk sends nothing on a guess until its co-holders were asked, then fills the gap at once', () => {
    const { ring, key, placement } = setup()
    const [x, y, c] = placement as [Contact, Contact, Contact]
    const [a, b] = repairsBefore(x, y, key) ? [x, y] : [y, x]
    const pa = new HealingPlanner({ self: a, view: ring, graceMs: 1000, staggerMs: 100 })
    pa.hold(key, [], { checkUntil: 5000 })
    assert.deepEqual(pa.plan(10).actions, [], 'unknown members are not gaps yet')
    assert.equal(pa.plan(10).nextWakeAt, 5000, 'the gate has a deadline')
    pa.confirmed(key, b.peerId)
    pa.checked(key, 20)
    // c answered "no": it is live and lacks it, so no grace window; a's turn comes before b's
    assert.deepEqual(replicates(pa.plan(20).actions), [c.peerId])
  })

  it('a fresh chunk whose check never completes acts at the gate deadline', () => {
    const { ring, key, placement } = setup()
    const pa = new HealingPlanner({ self: placement[0]!, view: ring, graceMs: 1000 })
    pa.hold(key, [], { checkUntil: 5000 })
    assert.deepEqual(pa.plan(4999).actions, [])
    assert.deepEqual(pa.plan(5000).actions.length > 0 || pa.plan(6000).actions.length > 0, true)
  })

  it('on a death, the holder whose turn is first repairs to the new member after the grace window', () => {
    const { key, next, pa, pb } = deathOfThirdHolder(1000)
    const first = pa.plan(10)
    assert.deepEqual(first.actions, [])
    assert.equal(first.nextWakeAt, 1010)
    assert.equal(pb.plan(10).nextWakeAt, 1110, 'second holder staggered after the first')
    assert.equal(pa.underReplicated(), 1)
    const due = pa.plan(1010)
    assert.deepEqual(replicates(due.actions), [next.peerId])
    assert.equal(due.actions[0]!.type === 'replicate' && due.actions[0]!.reason, 'repair')
    assert.deepEqual(pa.plan(1020).actions, [], 'not emitted twice while in flight')
    pa.confirmed(key, next.peerId)
    assert.equal(pa.underReplicated(), 0)
  })

  it('lists the gaps a staggered holder waits out (to ask about), not the ones in flight or filled', () => {
    const { key, next, pa, pb } = deathOfThirdHolder(0)
    assert.deepEqual(replicates(pa.plan(10).actions), [next.peerId], 'the first holder at once')
    assert.deepEqual(pa.waitingGaps().size, 0, 'in flight: nothing to ask')
    assert.equal(pb.plan(10).nextWakeAt, 110)
    assert.deepEqual([...pb.waitingGaps()], [[next.peerId, [key]]])
    pb.confirmed(key, next.peerId)
    pb.plan(20)
    assert.equal(pb.waitingGaps().size, 0)
    assert.equal(pb.underReplicated(), 0)
    assert.deepEqual(pb.plan(200).actions, [], 'the stagger ends with nothing to send')
  })

  it('a false death that returns within the grace window costs no transfer', () => {
    const { ring, key, placement } = setup()
    const [a, , dead] = placement as [Contact, Contact, Contact]
    const pa = new HealingPlanner({ self: a, view: ring, graceMs: 1000 })
    pa.hold(key, ids(placement))
    ring.remove(dead.peerId)
    pa.memberLeft(dead)
    assert.deepEqual(pa.plan(0).actions, [])
    ring.add(dead)
    pa.memberJoined(dead)
    const plan = pa.plan(500)
    assert.deepEqual(plan.actions, [])
    assert.deepEqual(pa.plan(5000).actions, [])
  })

  it('the last known copy repairs at once (urgent), ahead of other work', () => {
    const { cs, ring, key, placement } = setup()
    const [a, d1, d2] = placement as [Contact, Contact, Contact]
    const pa = new HealingPlanner({ self: a, view: ring, graceMs: 60_000 })
    pa.hold(key, ids(placement))
    for (const d of [d1, d2]) {
      ring.remove(d.peerId)
      pa.memberLeft(d)
    }
    const plan = pa.plan(0)
    const want = selectReplicas(key, cs, { replicas: 5 }).slice(3, 5)
    assert.deepEqual(replicates(plan.actions).sort(), ids(want).sort())
    assert.ok(plan.actions.every((x) => x.type === 'replicate' && x.urgent))
  })

  it('rebalance on join: the pushed-out holder hands off, and drops only after confirmation', () => {
    const { cs, ring, key, placement } = setup(12, 7)
    // A newcomer nearer to the key than everyone.
    const nk = new Uint8Array(key)
    nk[31] = nk[31]! ^ 1
    const joiner: Contact = { peerId: 'joiner', key: nk, addrs: [] }
    const far = placement[2]!
    const pf = new HealingPlanner({ self: far, view: ring, graceMs: 1000 })
    pf.hold(key, ids(placement))
    ring.add(joiner)
    pf.memberJoined(joiner)
    const plan = pf.plan(0)
    assert.deepEqual(plan.actions, [{ type: 'replicate', key, to: joiner, reason: 'handoff', urgent: false }])
    assert.ok(pf.holds(key), 'not dropped before the new holder confirmed')
    assert.deepEqual(pf.plan(1).actions, [])
    pf.confirmed(key, 'joiner')
    assert.deepEqual(pf.plan(2).actions, [{ type: 'drop', key }])
    assert.equal(pf.holds(key), false)
    assert.equal(cs.length, 12)
  })

  it('a pinned stray is never dropped; a failed handoff is retried after retryMs', () => {
    const { ring, key, placement } = setup(12, 9)
    const nk = new Uint8Array(key)
    nk[31] = nk[31]! ^ 1
    const joiner: Contact = { peerId: 'joiner', key: nk, addrs: [] }
    const pf = new HealingPlanner({ self: placement[2]!, view: ring, retryMs: 300, isPinned: () => true })
    pf.hold(key, ids(placement))
    ring.add(joiner)
    pf.memberJoined(joiner)
    assert.equal(pf.plan(0).actions.length, 1)
    pf.failed(key, 'joiner', 10)
    const p1 = pf.plan(20)
    assert.deepEqual(p1.actions, [])
    assert.equal(p1.nextWakeAt, 310)
    assert.equal(replicates(pf.plan(310).actions)[0], 'joiner')
    pf.confirmed(key, 'joiner')
    assert.deepEqual(pf.plan(400).actions, [], 'pinned: kept')
    assert.ok(pf.holds(key))
  })

  it('a full node is skipped for new copies but keeps what it holds', () => {
    const { cs, ring, key, placement } = setup(12, 3)
    const [a, b, c] = placement as [Contact, Contact, Contact]
    const full = new Set([b.peerId])
    // a knows b holds it: b stays in P although full.
    const pa = new HealingPlanner({ self: a, view: ring, isFull: (x) => full.has(x.peerId) })
    pa.hold(key, ids(placement))
    assert.deepEqual(pa.plan(0).actions, [])
    // c lost its copy: the repair goes to c, not around b.
    pa.lacks(key, c.peerId)
    pa.lacks(key, b.peerId)
    const plan = pa.plan(0)
    const next = selectReplicas(key, cs, { replicas: 4, isFull: (x) => full.has(x.peerId) })
    assert.deepEqual(replicates(plan.actions).sort(), ids(next.slice(1, 3)).sort())
    assert.ok(!replicates(plan.actions).includes(b.peerId))
  })

  it('property: a copy is dropped only when self ∉ P and every member of P confirmed it', () => {
    let drops = 0
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const rnd = new SeededRandom(seed)
        const cs = contacts(20, seed)
        const ring = new MemberRing(cs.slice(0, 10))
        const key = randomKey(seed ^ 0x5eed)
        const self = cs[0]!
        const p = new HealingPlanner({ self, view: ring, graceMs: 50, staggerMs: 5, retryMs: 20 })
        p.hold(key)
        const confirmedBy = new Set<string>()
        let now = 0
        for (let step = 0; step < 60 && p.holds(key); step++) {
          now += rnd.int(40)
          const r = rnd.int(5)
          const c = cs[1 + rnd.int(19)]!
          if (r === 0 && !ring.has(c.peerId)) {
            ring.add(c)
            p.memberJoined(c)
          } else if (r === 1 && ring.has(c.peerId)) {
            ring.remove(c.peerId)
            p.memberLeft(c)
          } else if (r === 2) {
            p.lacks(key, c.peerId)
            confirmedBy.delete(c.peerId)
          }
          const plan = p.plan(now)
          for (const a of plan.actions) {
            if (a.type === 'drop') {
              drops++
              const P = ring.closest(key, R)
              assert.ok(!P.some((m) => m.peerId === self.peerId), 'dropped while in P')
              for (const m of P) assert.ok(confirmedBy.has(m.peerId), `dropped before ${m.peerId} confirmed`)
            } else if (rnd.next() < 0.7) {
              p.confirmed(key, a.to.peerId)
              confirmedBy.add(a.to.peerId)
            } else p.failed(key, a.to.peerId, now)
          }
        }
      }),
      { numRuns: 300 },
    )
    assert.ok(drops > 20, `the property saw only ${drops} drops`)
  })
  it('property: a membership event reported as not affecting us changes no held placement', () => {
    let skipped = 0
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const rnd = new SeededRandom(seed)
        const cs = contacts(200, seed)
        const ring = new MemberRing(cs)
        const self = cs[0]!
        const p = new HealingPlanner({ self, view: ring })
        for (let i = 0; i < 300; i++) {
          const key = rnd.bytes(32)
          const P = ring.closest(key, R)
          if (P.some((m) => m.peerId === self.peerId)) p.hold(key, ids(P))
        }
        p.plan(0)
        for (let e = 0; e < 20; e++) {
          const c = { peerId: `x${e}`, key: rnd.bytes(32), addrs: [] }
          ring.add(c)
          const touched = p.memberJoined(c)
          if (!touched) {
            skipped++
            for (const k of p.heldKeys()) {
              assert.ok(
                !ring.closest(k, R + 1).some((m) => m.peerId === c.peerId),
                'skipped an affecting join',
              )
            }
          }
          p.plan(e)
        }
      }),
      { numRuns: 40 },
    )
    assert.ok(skipped > 100, `only ${skipped} events skipped`)
  })
})
