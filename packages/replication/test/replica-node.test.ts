import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type ReplicaAction, ReplicaNode } from '../src/index.js'
import { bruteClosest, contacts, randomKey } from './helpers.js'

type Send = ReplicaAction & { type: 'send' }

const cs = contacts(10, 5)
const self = cs[0]!
const node = () => new ReplicaNode({ self, repairBytesPerSecond: 10 << 20, chunkBytes: 1 << 20 })
const sends = (as: ReplicaAction[]) => as.filter((a): a is Send => a.type === 'send')

describe('ReplicaNode (the contract: events in with now, actions out, next wake-up)', () => {
  it('a put looks up, sends to the W nearest, is acknowledged at W and settles', () => {
    const n = node()
    const key = randomKey(1)
    n.put(1, key, 2, 0)
    const [lookup] = n.takeActions()
    assert.equal(lookup?.type, 'lookup')
    n.replied((lookup as { id: number }).id, { t: 'contacts', contacts: cs }, 1)
    const puts = sends(n.takeActions())
    assert.deepEqual(
      puts.map((s) => s.to.peerId),
      bruteClosest(key, cs, 2),
    )
    n.replied(puts[0]!.id, { t: 'stored' }, 2)
    assert.deepEqual(n.takeActions(), [], 'one ack of W=2 answers nobody')
    n.replied(puts[1]!.id, { t: 'stored' }, 3)
    assert.deepEqual(
      n.takeActions().map((a) => a.type),
      ['put-acknowledged', 'put-settled'],
    )
    assert.equal(n.stats().replicating, 0)
  })

  it('a put with too few takers fails, saying who refused', () => {
    const n = node()
    n.put(1, randomKey(2), 2, 0)
    const lookup = n.takeActions()[0] as { id: number }
    n.replied(lookup.id, { t: 'contacts', contacts: cs.slice(0, 2) }, 1)
    const [a, b] = sends(n.takeActions())
    n.replied(a!.id, { t: 'refused', reason: 'no-capacity' }, 2)
    const failed = n.takeActions().find((x) => x.type === 'put-failed') as { message: string } | undefined
    assert.match(
      failed?.message ?? '',
      /reached 0 of W=2 replicas among 2 candidates: .* refused \(no-capacity\)/,
    )
    n.replied(b!.id, { t: 'stored' }, 3)
    assert.deepEqual(n.takeActions(), [], 'answered once')
  })

  it('a read asks the nearest, hedges after the delay, and repairs the placement member that missed', () => {
    const n = node()
    const key = randomKey(3)
    const local = cs.slice(1, 4)
    n.read(7, key, local, 0)
    const first = sends(n.takeActions())
    assert.equal(first.length, 1)
    const hedgeAt = n.nextWakeAt()!
    assert.equal(hedgeAt, 150, 'max(50 ms, 3 × the 50 ms starting latency)')
    n.tick(hedgeAt)
    const hedge = sends(n.takeActions())
    assert.equal(hedge.length, 1)
    n.replied(first[0]!.id, { t: 'missing' }, 160)
    n.replied(hedge[0]!.id, { t: 'found' }, 170)
    const found = n.takeActions().find((a) => a.type === 'read-found') as ReplicaAction & {
      type: 'read-found'
    }
    assert.equal(found.from, hedge[0]!.to.peerId)
    assert.deepEqual(
      found.repairTo.map((c) => c.peerId),
      [first[0]!.to.peerId],
    )
    assert.equal(n.stats().hedges, 1)
  })

  it('a read that misses locally looks up, then says not found', () => {
    const n = node()
    n.read(1, randomKey(4), [cs[1]!], 0)
    const [ask] = sends(n.takeActions())
    n.replied(ask!.id, { t: 'missing' }, 5)
    const lookup = n.takeActions()[0] as ReplicaAction & { type: 'lookup' }
    assert.equal(lookup.type, 'lookup')
    n.replied(lookup.id, { t: 'contacts', contacts: [cs[1]!] }, 6)
    const failed = n.takeActions()[0] as ReplicaAction & { type: 'read-failed' }
    assert.deepEqual([failed.type, failed.notFound, failed.asked], ['read-failed', true, 1])
  })

  it('a fresh chunk is checked with its co-holders once storing pauses, then the gap is asked and pushed', () => {
    const n = node()
    for (const c of cs.slice(1)) n.memberUp(c, { ask: false }, 0)
    const key = randomKey(6)
    const placement = bruteClosest(key, cs, 3)
    const others = placement.filter((p) => p !== self.peerId)
    n.stored(key, 100, { size: 1 << 20 })
    assert.deepEqual(sends(n.takeActions()), [], 'nothing on a guess')
    assert.equal(n.nextWakeAt(), 100, 'a plan is due')
    n.tick(100)
    assert.deepEqual(sends(n.takeActions()), [])
    assert.equal(n.nextWakeAt(), 600, 'the co-holder check, 500 ms after storing paused')
    n.tick(600)
    const checks = sends(n.takeActions())
    assert.deepEqual(checks.map((s) => [s.to.peerId, s.req.t]).sort(), others.map((p) => [p, 'has']).sort())
    // the first co-holder has it, the second does not
    for (const s of checks) n.replied(s.id, { t: 'have', have: [s.to.peerId === others[0]] }, 650)
    n.tick(n.nextWakeAt()!)
    const ask = sends(n.takeActions())
    if (placement.includes(self.peerId)) {
      // a holder inside P fills the gap: asks right before sending, then pushes
      assert.deepEqual(
        ask.map((s) => [s.to.peerId, s.req.t]),
        [[others[1], 'has']],
      )
      n.replied(ask[0]!.id, { t: 'have', have: [false] }, 700)
      const push = sends(n.takeActions())
      assert.deepEqual(
        push.map((s) => [s.to.peerId, s.req.t]),
        [[others[1], 'push']],
      )
      n.replied(push[0]!.id, { t: 'stored' }, 800)
      n.tick(n.nextWakeAt() ?? 800)
      assert.ok(!n.takeActions().some((a) => a.type === 'drop'), 'a member of P keeps its copy')
      assert.equal(n.stats().repairsSent, 1)
    }
  })

  it('a copy outside the placement is dropped only after every placement member confirmed', () => {
    const n = node()
    for (const c of cs.slice(1)) n.memberUp(c, { ask: false }, 0)
    // a key whose R closest do not include self
    let seed = 10
    while (bruteClosest(randomKey(seed), cs, 3).includes(self.peerId)) seed++
    const key = randomKey(seed)
    const p = bruteClosest(key, cs, 3)
    n.stored(key, 0, { knownHolders: p.slice(0, 2), fresh: false })
    n.tick(0)
    assert.deepEqual(
      sends(n.takeActions()),
      [],
      'a handoff waits a repair stagger per known holder nearer the key',
    )
    n.tick(n.nextWakeAt()!)
    const ask = sends(n.takeActions())
    assert.deepEqual(
      ask.map((s) => [s.to.peerId, s.req.t]),
      [[p[2], 'has']],
      'the handoff asks the gap first',
    )
    assert.ok(!n.takeActions().some((a) => a.type === 'drop'))
    n.replied(ask[0]!.id, { t: 'have', have: [true] }, 10)
    n.tick(n.nextWakeAt() ?? 10)
    assert.deepEqual(n.takeActions(), [{ type: 'drop', key }])
  })

  it('holds no clock, timer or randomness of its own', () => {
    const dir = join(import.meta.dirname, '../src')
    const files = ['replica-node.ts', ...readdirSync(join(dir, 'replica')).map((f) => `replica/${f}`)]
    for (const f of files) {
      const src = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      assert.doesNotMatch(src, /Date\.now|setTimeout|setInterval|Math\.random|performance\.now/, f)
    }
  })
})
