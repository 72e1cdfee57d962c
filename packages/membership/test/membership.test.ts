import assert from 'node:assert/strict'
import { MAX_INFLIGHT_PING_REQS, type MemberId, type Membership, type MembershipEvent } from '../src/index.js'
import { LocalNet, metaFor } from './helpers/local-net.js'
import { ManualClock } from './helpers/manual-clock.js'

/** n started nodes n0..n{n-1}, all joined through n0, converged. */
async function cluster(
  n: number,
  seed = 1,
): Promise<{ clock: ManualClock; net: LocalNet; nodes: Membership[] }> {
  const clock = new ManualClock()
  const net = new LocalNet(clock, seed)
  const nodes = Array.from({ length: n }, (_, i) => net.add(`n${i}`))
  for (const m of nodes) m.start()
  for (const m of nodes.slice(1)) await m.join(['n0'])
  await clock.advance(3000)
  return { clock, net, nodes }
}

function stateOf(m: Membership, id: MemberId): string | undefined {
  return m.get(id)?.state
}

describe('Membership (unit, manual clock)', () => {
  it('join through one seed: every member learns every other and emits alive', async () => {
    const clock = new ManualClock()
    const net = new LocalNet(clock)
    const nodes = Array.from({ length: 5 }, (_, i) => net.add(`n${i}`))
    const seen: string[] = []
    nodes[4]!.onEvent((e) => seen.push(`${e.type}:${e.member.id}`))
    for (const m of nodes) m.start()
    for (const m of nodes.slice(1)) assert.ok((await m.join(['n0'])) >= 2)
    await clock.advance(2000)
    for (const m of nodes) assert.equal(m.liveCount, 5, `${m.id} sees ${m.liveCount}`)
    assert.deepEqual(seen.sort(), ['alive:n0', 'alive:n1', 'alive:n2', 'alive:n3'])
    assert.deepEqual(nodes[2]!.get('n3')!.meta, metaFor('n3'))
  })

  it('join fails with a typed error when no seed answers', async () => {
    const clock = new ManualClock()
    const net = new LocalNet(clock)
    const a = net.add('a')
    a.start()
    const outcome = a.join(['nobody']).then(
      () => undefined,
      (err: unknown) => err,
    )
    await clock.advance(10_000)
    assert.equal(((await outcome) as { code?: string })?.code, 'MEMBERSHIP_JOIN_FAILED')
  })

  it('a crashed member is suspected, then declared dead by everyone, within the LAN bound', async () => {
    const { clock, net, nodes } = await cluster(5)
    const events: MembershipEvent[] = []
    const deadAt = new Map<string, number>()
    const liveness: string[] = []
    nodes[1]!.onEvent((e) => events.push(e))
    nodes[2]!.bindLiveness({
      onAlive: (id) => liveness.push(`alive ${id}`),
      onDead: (id) => liveness.push(`dead ${id}`),
    })
    for (const m of nodes) m.onEvent((e) => e.type === 'dead' && deadAt.set(m.id, clock.now()))
    const crashAt = clock.now()
    net.down.add('n4')
    nodes[4]!.stop()
    await clock.advance(30_000)
    for (const m of nodes.slice(0, 4))
      assert.equal(stateOf(m, 'n4'), 'dead', `${m.id} thinks n4 is ${stateOf(m, 'n4')}`)
    assert.deepEqual(
      events.filter((e) => e.member.id === 'n4').map((e) => e.type),
      ['suspect', 'dead'],
    )
    assert.deepEqual(liveness, ['dead n4'])
    // min suspicion 4 s (n<10) after a 1 s probe round; allow confirmations to be partial.
    const worst = Math.max(...deadAt.values()) - crashAt
    assert.ok(worst <= 16_000, `slowest detection ${worst} ms`)
    for (const m of nodes.slice(0, 4)) assert.equal(m.liveCount, 4)
  })

  it('a suspected member refutes with a higher incarnation and stays alive everywhere', async () => {
    const { clock, nodes } = await cluster(4)
    const before = nodes[3]!.incarnation
    // n0 accuses n3 (as after a lost ping), and tells n1 about it.
    await nodes[1]!.handle('n0', {
      type: 'gossip',
      updates: [{ id: 'n3', state: 'suspect', incarnation: before, from: 'n0' }],
    })
    assert.equal(stateOf(nodes[1]!, 'n3'), 'suspect')
    const healthBefore = nodes[3]!.localHealth
    // The buddy system: n1's next message to n3 carries the suspicion, and n3 refutes at once.
    await nodes[3]!.handle('n1', {
      type: 'ping',
      target: 'n3',
      updates: [{ id: 'n3', state: 'suspect', incarnation: before, from: 'n0' }],
    })
    assert.equal(nodes[3]!.incarnation.counter, before.counter + 1)
    assert.equal(nodes[3]!.localHealth, healthBefore + 1, 'being accused raises local health')
    await clock.advance(3000)
    for (const m of nodes) assert.equal(stateOf(m, 'n3'), 'alive')
    await clock.advance(60_000)
    for (const m of nodes) assert.equal(m.liveCount, 4)
  })

  it('dead beats alive at the same incarnation; a higher incarnation or a new epoch revives', async () => {
    const { nodes } = await cluster(3)
    const a = nodes[0]!
    const inc = a.get('n2')!.incarnation
    const events: string[] = []
    a.onEvent((e) => events.push(`${e.type}:${e.member.id}`))
    a.stop()
    a.start() // keep the loops but make handle() usable; no clock advance happens here
    await a.handle('n1', {
      type: 'gossip',
      updates: [{ id: 'n2', state: 'dead', incarnation: inc, from: 'n1' }],
    })
    assert.equal(stateOf(a, 'n2'), 'dead')
    await a.handle('n1', {
      type: 'gossip',
      updates: [{ id: 'n2', state: 'alive', incarnation: inc, meta: metaFor('n2') }],
    })
    assert.equal(stateOf(a, 'n2'), 'dead', 'a stale alive must not resurrect')
    await a.handle('n1', {
      type: 'gossip',
      updates: [
        {
          id: 'n2',
          state: 'alive',
          incarnation: { epoch: inc.epoch + 1, counter: 0 },
          meta: metaFor('n2', 5),
        },
      ],
    })
    assert.equal(stateOf(a, 'n2'), 'alive')
    assert.equal(a.get('n2')!.meta.capacityFree, 5)
    await a.handle('n1', {
      type: 'gossip',
      updates: [{ id: 'n2', state: 'suspect', incarnation: inc, from: 'n1' }],
    })
    assert.equal(stateOf(a, 'n2'), 'alive', 'a suspicion of an older incarnation is ignored')
    assert.deepEqual(events, ['dead:n2', 'alive:n2'])
  })

  it('a restarted member with a higher epoch is accepted after it was declared dead', async () => {
    const { clock, net, nodes } = await cluster(4)
    net.down.add('n3')
    nodes[3]!.stop()
    await clock.advance(30_000)
    assert.equal(stateOf(nodes[0]!, 'n3'), 'dead')
    net.down.delete('n3')
    const reborn = net.add('n3', { epoch: 2 })
    reborn.start()
    await reborn.join(['n1'])
    await clock.advance(3000)
    for (const m of nodes.slice(0, 3)) {
      assert.equal(stateOf(m, 'n3'), 'alive')
      assert.equal(m.get('n3')!.incarnation.epoch, 2)
    }
    assert.equal(reborn.liveCount, 4)
  })

  it('a graceful leave is announced as left (not dead) and the member is no longer probed', async () => {
    const { clock, nodes } = await cluster(4)
    const types: string[] = []
    nodes[0]!.onEvent((e) => e.member.id === 'n2' && types.push(e.type))
    const leaving = nodes[2]!.leave()
    await clock.advance(3000)
    await leaving
    assert.equal(nodes[2]!.isRunning, false)
    for (const m of [nodes[0]!, nodes[1]!, nodes[3]!]) assert.equal(stateOf(m, 'n2'), 'left')
    await clock.advance(60_000)
    assert.deepEqual(types, ['left'])
    await assert.rejects(nodes[2]!.handle('n0', { type: 'ping', target: 'n2', updates: [] }), {
      code: 'MEMBERSHIP_STOPPED',
    })
  })

  it('a pause keeps the member suspect (never dead) for the time it announced; its restart clears it', async () => {
    const { clock, net, nodes } = await cluster(4)
    const types: string[] = []
    nodes[0]!.onEvent((e) => e.member.id === 'n3' && types.push(e.type))
    const pausing = nodes[3]!.pause(120_000)
    await clock.advance(3000)
    await pausing
    net.down.add('n3')
    assert.equal(nodes[3]!.isRunning, false)
    await clock.advance(100_000) // far past the usual bound (16 s, above)
    for (const m of nodes.slice(0, 3)) assert.equal(stateOf(m, 'n3'), 'suspect', `${m.id}`)
    net.down.delete('n3')
    const reborn = net.add('n3', { epoch: 2 })
    reborn.start()
    await reborn.join(['n1'])
    await clock.advance(3000)
    for (const m of nodes.slice(0, 3)) assert.equal(stateOf(m, 'n3'), 'alive', `${m.id}`)
    assert.deepEqual(types.slice(0, 3), ['updated', 'suspect', 'alive'])
    assert.ok(!types.includes('dead'), types.join())
  })

  it('a paused member that does not come back is declared dead once its announced absence is over', async () => {
    const { clock, net, nodes } = await cluster(4)
    const pausing = nodes[3]!.pause(30_000)
    await clock.advance(3000)
    await pausing
    net.down.add('n3')
    await clock.advance(25_000)
    assert.equal(stateOf(nodes[0]!, 'n3'), 'suspect')
    await clock.advance(20_000)
    for (const m of nodes.slice(0, 3)) assert.equal(stateOf(m, 'n3'), 'dead', `${m.id}`)
  })

  it('metadata changes reach everyone as updated events', async () => {
    const { clock, nodes } = await cluster(4)
    const updated: string[] = []
    for (const m of nodes) m.onEvent((e) => e.type === 'updated' && updated.push(`${m.id}:${e.member.id}`))
    nodes[1]!.setMeta(metaFor('n1', 42))
    await clock.advance(3000)
    assert.deepEqual(updated.sort(), ['n0:n1', 'n2:n1', 'n3:n1'])
    for (const m of nodes) assert.equal(m.get('n1')!.meta.capacityFree, 42)
    assert.throws(() => nodes[1]!.setMeta({ ...metaFor('n1'), version: 'x'.repeat(100) }), {
      code: 'MEMBERSHIP_INVALID_META',
    })
  })

  it('ping-req: the intermediary acks for a live target and nacks for a silent one', async () => {
    const { clock, net, nodes } = await cluster(4)
    const ok = await nodes[1]!.handle('n0', { type: 'ping-req', target: 'n2', timeoutMs: 400, updates: [] })
    assert.equal(ok.type, 'ack')
    net.down.add('n3')
    const pending = nodes[1]!.handle('n0', { type: 'ping-req', target: 'n3', timeoutMs: 400, updates: [] })
    await clock.advance(500)
    assert.equal((await pending).type, 'nack')
    const mis = await nodes[1]!.handle('n0', { type: 'ping', target: 'n9', updates: [] })
    assert.equal(mis.type, 'nack')
  })

  it('indirect probes with a fractional clock (as in the daemon): whole-ms timeouts, helpers nack, probers stay healthy', async () => {
    const { clock, net, nodes } = await cluster(5)
    // a direct ping's timeout fires 1.3 ms late, so what is left of the round is fractional
    net.timeoutLagMs = 1.3
    net.down.add('n4')
    await clock.advance(6000)
    for (const m of nodes.slice(0, 4)) {
      assert.equal(m.localHealth, 0, `${m.id}: local health ${m.localHealth}`)
      assert.notEqual(stateOf(m, 'n4'), 'alive', `${m.id} still sees n4 alive`)
    }
  })

  it('Lifeguard: a node cut off from everyone raises its local health and suspects more slowly', async () => {
    const { clock, net, nodes } = await cluster(5)
    // Only n4's traffic is lost, as if its own NIC or process were the problem.
    net.down.add('n4')
    await clock.advance(6000)
    assert.ok(nodes[4]!.localHealth >= 3, `local health ${nodes[4]!.localHealth}`)
    assert.ok(nodes[0]!.localHealth === 0)
    // Its healthy peers declared it dead, while its own suspicions (scaled) have not yet all fired.
    await clock.advance(20_000)
    assert.equal(stateOf(nodes[0]!, 'n4'), 'dead')
    const deadInN4 = nodes[4]!.members(['dead']).length
    assert.ok(deadInN4 < 4, `n4 declared ${deadInN4} healthy members dead`)
  })

  it('a member declared dead while frozen refutes when it comes back, and is alive again', async () => {
    const { clock, net, nodes } = await cluster(5)
    net.down.add('n2')
    await clock.advance(40_000)
    assert.equal(stateOf(nodes[0]!, 'n2'), 'dead')
    net.down.delete('n2')
    const aliveAgain: string[] = []
    for (const m of nodes)
      m.onEvent((e) => e.type === 'alive' && e.member.id === 'n2' && aliveAgain.push(m.id))
    await clock.advance(20_000)
    for (const m of nodes) assert.equal(stateOf(m, 'n2'), 'alive', `${m.id} sees n2 ${stateOf(m, 'n2')}`)
    assert.deepEqual(aliveAgain.sort(), ['n0', 'n1', 'n3', 'n4'])
    for (const m of nodes) assert.equal(m.liveCount, 5, `${m.id} sees ${m.liveCount}`)
  })
})

describe('Membership bounds and restarts of the loops', () => {
  it('keeps at most maxMembers members; invented ones beyond are ignored', async () => {
    const clock = new ManualClock()
    const net = new LocalNet(clock)
    const a = net.add('a', { maxMembers: 10 })
    a.start()
    const invented = Array.from({ length: 30 }, (_, i) => ({
      id: `fake${i}`,
      state: 'alive' as const,
      incarnation: { epoch: 1, counter: 0 },
      meta: metaFor(`fake${i}`),
    }))
    await a.handle('fake0', { type: 'sync', join: false, members: invented })
    assert.equal(a.members().length, 10)
  })

  it('answers nack at once beyond MAX_INFLIGHT_PING_REQS concurrent indirect probes', async () => {
    const { clock, net, nodes } = await cluster(4)
    net.down.add('n2')
    const held = Array.from({ length: MAX_INFLIGHT_PING_REQS }, () =>
      nodes[1]!.handle('n0', { type: 'ping-req', target: 'n2', timeoutMs: 10_000, updates: [] }),
    )
    const extra = await nodes[1]!.handle('n0', {
      type: 'ping-req',
      target: 'n3',
      timeoutMs: 10_000,
      updates: [],
    })
    assert.equal(extra.type, 'nack', 'refused without probing')
    await clock.advance(10_000)
    for (const r of await Promise.all(held)) assert.equal(r.type, 'nack')
    const after = await nodes[1]!.handle('n0', {
      type: 'ping-req',
      target: 'n3',
      timeoutMs: 1000,
      updates: [],
    })
    assert.equal(after.type, 'ack', 'capacity is released when the probes end')
  })

  it('a suspicion interrupted by stop() resumes after start() and still ends in dead', async () => {
    const { clock, net, nodes } = await cluster(4)
    net.down.add('n3')
    nodes[3]!.stop()
    await clock.advance(1500)
    const a = nodes[0]!
    await a.handle('n1', {
      type: 'gossip',
      updates: [{ id: 'n3', state: 'suspect', incarnation: a.get('n3')!.incarnation, from: 'n1' }],
    })
    assert.equal(stateOf(a, 'n3'), 'suspect')
    // Only a's own suspicion timer may decide now: nobody can tell it anything.
    net.down.add('n1')
    net.down.add('n2')
    a.stop()
    await clock.advance(60_000)
    assert.equal(stateOf(a, 'n3'), 'suspect', 'nothing happens while stopped')
    a.start()
    await clock.advance(30_000)
    assert.equal(stateOf(a, 'n3'), 'dead')
  })
})
