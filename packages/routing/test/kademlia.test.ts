import assert from 'node:assert/strict'
import { type Contact, compareDistance, type Key, SeededRandom } from '@swarmstore/core'
import { Simulator } from '@swarmstore/sim'
import { Kademlia, type KademliaInit, type RoutingNetwork } from '../src/index.js'
import { contactFor, keyWithCpl } from './helpers.js'

/**
 * A scripted network on the simulator's clock: `alive` peers answer (after 10 ms), others time
 * out (after 100 ms); `replies` scripts FIND_NODE answers per peer.
 */
function scripted(sim: Simulator) {
  const alive = new Set<string>()
  const replies = new Map<string, (target: Key) => Contact[]>()
  const calls: { kind: 'find' | 'ping'; to: string }[] = []
  const answer = <T>(to: Contact, value: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const ok = alive.has(to.peerId)
      sim.clock.setTimer(ok ? 10 : 100, () => (ok ? resolve(value()) : reject(new Error('timeout'))))
    })
  const network: RoutingNetwork = {
    findNode: (to, target) => {
      calls.push({ kind: 'find', to: to.peerId })
      return answer(to, () => replies.get(to.peerId)?.(target) ?? [])
    },
    ping: (to) => {
      calls.push({ kind: 'ping', to: to.peerId })
      return answer(to, () => undefined)
    },
  }
  return { alive, replies, calls, network }
}

function setup(init: KademliaInit = {}) {
  const sim = new Simulator({ seed: 1 })
  const net = scripted(sim)
  const r = new SeededRandom(2)
  const self = contactFor(r.bytes(32))
  const kad = new Kademlia({
    self,
    clock: sim.clock,
    random: new SeededRandom(3),
    network: net.network,
    ...init,
  })
  const removed: string[] = []
  const added: string[] = []
  kad.on('contact:removed', (c) => removed.push(c.peerId))
  kad.on('contact:added', (c) => added.push(c.peerId))
  return { sim, net, r, self, kad, removed, added }
}

describe('Kademlia: eviction and replacement', () => {
  it('one timed-out request never evicts a live contact; its failure count resets when it answers', async () => {
    const { sim, net, r, self, kad, removed } = setup()
    const a = contactFor(keyWithCpl(self.key, 3, r))
    net.alive.add(a.peerId)
    kad.observe(a)
    kad.reportFailure(a)
    assert.equal(kad.table.get(a)!.failures, 1)
    await sim.run()
    assert.deepEqual(removed, [])
    assert.equal(kad.table.get(a)!.failures, 0)
    assert.equal(net.calls.filter((c) => c.kind === 'ping').length, 1)
  })

  it('a dead contact is evicted only after evictAfterFailures consecutive failures, then replaced from the cache', async () => {
    const { sim, net, r, self, kad, removed, added } = setup({ k: 4, evictAfterFailures: 4 })
    // k near contacts so the far bucket cannot split by the relaxation
    for (let i = 0; i < 4; i++) kad.observe(contactFor(keyWithCpl(self.key, 30 + i, r)))
    const far = Array.from({ length: 6 }, () => contactFor(keyWithCpl(self.key, 0, r)))
    for (const c of far) {
      net.alive.add(c.peerId)
      kad.observe(c)
    }
    const dead = far[1]!
    net.alive.delete(dead.peerId)
    kad.reportFailure(dead)
    await sim.run()
    assert.deepEqual(removed, [dead.peerId])
    // 1 request failure + 3 failed pings = 4 consecutive failures
    assert.equal(net.calls.filter((c) => c.kind === 'ping' && c.to === dead.peerId).length, 3)
    assert.equal(added.at(-1), far[5]!.peerId, 'the freshest replacement takes the slot')
    assert.ok(kad.table.get(far[5]!) !== undefined)
  })

  it('a newcomer to a full bucket questions a stale head and takes its place only if the head is dead', async () => {
    const { sim, net, r, self, kad, removed } = setup({ k: 2, staleContactMs: 1000 })
    for (let i = 0; i < 2; i++) kad.observe(contactFor(keyWithCpl(self.key, 30 + i, r)))
    const [h1, h2, n1, n2] = Array.from({ length: 4 }, () => contactFor(keyWithCpl(self.key, 0, r)))
    net.alive.add(h1!.peerId)
    net.alive.add(h2!.peerId)
    kad.observe(h1!)
    kad.observe(h2!)
    await sim.run({ until: 5000 })
    kad.observe(n1!) // head h1 is stale and alive: it stays, n1 waits in the cache
    await sim.run()
    assert.deepEqual(removed, [])
    assert.ok(kad.table.get(h1!))
    assert.equal(kad.table.get(n1!), undefined)
    await sim.run({ until: sim.now() + 5000 })
    net.alive.delete(h2!.peerId) // now h2 is the stale head, and dead
    kad.observe(n2!)
    await sim.run()
    assert.deepEqual(removed, [h2!.peerId])
    assert.ok(kad.table.get(n2!), 'freshest cached contact promoted')
  })

  it('onDead removes at once, onAlive refreshes and adds', async () => {
    const { r, self, kad, removed } = setup()
    const a = contactFor(keyWithCpl(self.key, 5, r))
    kad.onAlive(a)
    assert.equal(kad.size, 1)
    kad.table.get(a)!.failures = 2
    kad.onAlive(a.peerId)
    assert.equal(kad.table.get(a)!.failures, 0)
    kad.onDead(a.peerId)
    assert.equal(kad.size, 0)
    assert.deepEqual(removed, [a.peerId])
  })
})

describe('Kademlia: handlers and lookups', () => {
  it('handleFindNode adds the requester and answers with at most k closest, never the requester itself', () => {
    const { r, self, kad } = setup()
    const others = Array.from({ length: 60 }, () => contactFor(r.bytes(32)))
    for (const c of others) kad.observe(c)
    const asker = contactFor(keyWithCpl(self.key, 12, r))
    const target = keyWithCpl(asker.key, 40, r)
    const reply = kad.handleFindNode(asker, target)
    assert.ok(kad.table.get(asker))
    assert.equal(reply.length, 20)
    assert.ok(!reply.some((c) => c.peerId === asker.peerId))
    const sorted = [...reply].sort((a, b) => compareDistance(a.key, b.key, target))
    assert.deepEqual(reply, sorted)
    const size = kad.size
    kad.handlePing(contactFor(keyWithCpl(self.key, 13, r)))
    assert.equal(kad.size, size + 1)
  })

  it('a lookup truncates replies longer than k, skips timed-out contacts but keeps them in the table', async () => {
    const { sim, net, r, self, kad, removed } = setup({ evictAfterFailures: 10 })
    const target = r.bytes(32)
    const seeds = Array.from({ length: 5 }, () => contactFor(r.bytes(32)))
    for (const s of seeds) {
      kad.observe(s)
      net.alive.add(s.peerId)
    }
    const dead = seeds[0]!
    net.alive.delete(dead.peerId)
    // Every seed answers with 20 ordinary contacts followed by 80 contacts extremely close to target.
    const ordinary = Array.from({ length: 20 }, () => contactFor(r.bytes(32)))
    const tooClose = Array.from({ length: 80 }, () => contactFor(keyWithCpl(target, 100, r)))
    for (const c of ordinary) net.alive.add(c.peerId)
    for (const c of tooClose) net.alive.add(c.peerId)
    for (const s of seeds) net.replies.set(s.peerId, () => [...ordinary, ...tooClose])
    const res = await sim.settle(kad.lookup(target))
    assert.equal(res.completed, true)
    const names = new Set(res.closest.map((c) => c.peerId))
    for (const c of tooClose) assert.ok(!names.has(c.peerId), 'a contact past the k-th of a reply was used')
    assert.ok(!net.calls.some((c) => tooClose.some((t) => t.peerId === c.to)))
    assert.ok(!names.has(dead.peerId))
    assert.ok(kad.table.get(dead), 'one timeout does not remove it from the table')
    assert.deepEqual(removed, [])
    assert.equal(res.failures, 1)
    assert.equal(res.messages, net.calls.filter((c) => c.kind === 'find').length)
    // the paper's rule: every one of the k closest reported contacts has answered
    const truth = [self, ...seeds.slice(1), ...ordinary]
      .sort((a, b) => compareDistance(a.key, b.key, target))
      .slice(0, 20)
    assert.deepEqual(
      res.closest.map((c) => c.peerId),
      truth.map((c) => c.peerId),
    )
  })

  it('bounds the lookup queue (ROUTING_BUSY) and refreshes idle buckets on its timer', async () => {
    const { sim, net, r, kad } = setup({
      maxConcurrentLookups: 1,
      maxQueuedLookups: 2,
      refreshIntervalMs: 10_000,
      refreshCheckMs: 1000,
    })
    const a = contactFor(r.bytes(32))
    net.alive.add(a.peerId)
    kad.observe(a)
    const ps = [kad.lookup(r.bytes(32)), kad.lookup(r.bytes(32)), kad.lookup(r.bytes(32))]
    await assert.rejects(kad.lookup(r.bytes(32)), { code: 'ROUTING_BUSY' })
    await sim.settle(Promise.all(ps))
    const before = net.calls.length
    kad.start()
    await sim.run({ until: sim.now() + 9_500 })
    assert.equal(net.calls.length, before, 'nothing is idle yet')
    await sim.run({ until: sim.now() + 2_000 })
    assert.ok(net.calls.length > before, 'idle buckets were refreshed')
    kad.stop()
    await sim.run()
  })

  it('join() fails clearly when no bootstrap answers', async () => {
    const { sim, r, kad } = setup()
    await assert.rejects(sim.settle(kad.join([contactFor(r.bytes(32))])), { code: 'ROUTING_JOIN_FAILED' })
  })
})
