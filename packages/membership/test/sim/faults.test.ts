import assert from 'node:assert/strict'
import { seedFromEnv, withSeed } from '@swarmstore/sim'
import { convergedSwarm } from './swarm.js'

function report(line: string): void {
  console.log(`      [measured] ${line}`)
}

describe('sim: faults (LAN profile)', function () {
  this.timeout(180_000)

  for (const [loss, jitter] of [
    [0.01, 20],
    [0.05, 50],
  ] as const) {
    it(`${loss * 100}% message loss and ${jitter} ms jitter for 120 s: no false deaths`, async () => {
      const seed = seedFromEnv(11)
      await withSeed(seed, async () => {
        const swarm = await convergedSwarm({ seed, n: 150 })
        swarm.sim.lossRate = loss
        swarm.sim.jitterMs = jitter
        let suspicions = 0
        for (const id of swarm.ids) swarm.member(id).onEvent((e) => e.type === 'suspect' && suspicions++)
        await swarm.runFor(120_000)
        report(
          `150 nodes, ${loss * 100}% loss, ${jitter} ms jitter, 120 s: ${suspicions} suspicions (all refuted), ${swarm.deaths.length} deaths`,
        )
        assert.deepEqual(swarm.deaths, [], 'a live member was declared dead')
        assert.ok(swarm.converged(), 'every member still sees all 150')
      })
    })
  }

  it('a member frozen for 2 s is not declared dead; frozen for 60 s it is, and on resume it refutes', async () => {
    const seed = seedFromEnv(12)
    await withSeed(seed, async () => {
      const swarm = await convergedSwarm({ seed, n: 100 })
      swarm.freeze('n5')
      await swarm.runFor(2000)
      swarm.resume('n5')
      await swarm.runFor(30_000)
      assert.deepEqual(swarm.deaths, [], 'a 2 s freeze must not be a death')
      assert.ok(swarm.converged())

      const frozenAt = swarm.sim.now()
      swarm.freeze('n7')
      const detect = await swarm.runUntil(
        () => swarm.countSeeing('n7', 'dead') === 99,
        60_000,
        'all see the frozen n7 dead',
      )
      await swarm.runFor(60_000 - (swarm.sim.now() - frozenAt))
      const inc = swarm.member('n7').incarnation
      swarm.resume('n7')
      const back = await swarm.runUntil(
        () => swarm.countSeeing('n7', 'alive') === 99 && swarm.member('n7').liveCount === 100,
        30_000,
        'n7 alive again everywhere after resume',
      )
      assert.ok(swarm.member('n7').incarnation.counter > inc.counter, 'n7 refuted with a higher incarnation')
      assert.deepEqual(
        swarm.deaths.filter((d) => d.target !== 'n7'),
        [],
        'the resumed n7 declared no one dead',
      )
      report(
        `100 nodes: 60 s freeze declared dead by all after ${detect} ms; after resume alive everywhere in ${back} ms`,
      )
      assert.ok(back <= 10_000, `rejoin took ${back} ms`)
    })
  })

  it('a crashed member restarted with a higher epoch is accepted (after and before it was declared dead)', async () => {
    const seed = seedFromEnv(13)
    await withSeed(seed, async () => {
      const swarm = await convergedSwarm({ seed, n: 100 })
      const oldEpoch = swarm.member('n9').incarnation.epoch
      swarm.crash('n9')
      await swarm.runUntil(() => swarm.countSeeing('n9', 'dead') === 99, 30_000, 'n9 dead everywhere')
      swarm.restart('n9', 'n0')
      const back = await swarm.runUntil(
        () => swarm.countSeeing('n9', 'alive') === 99,
        10_000,
        'restarted n9 accepted',
      )
      assert.ok(swarm.member('n9').incarnation.epoch > oldEpoch)
      assert.equal(
        swarm.member('n9').incarnation.counter,
        0,
        'accepted on its epoch alone, no refutation needed',
      )

      // A quick restart (before anyone noticed) replaces the old incarnation as an update.
      let updates = 0
      for (const id of swarm.ids)
        swarm.member(id).onEvent((e) => e.type === 'updated' && e.member.id === 'n4' && updates++)
      swarm.crash('n4')
      await swarm.runFor(300)
      swarm.restart('n4', 'n1')
      await swarm.runUntil(() => updates === 99, 10_000, 'quick restart of n4 known everywhere')
      await swarm.runFor(30_000)
      assert.deepEqual(
        swarm.deaths.filter((d) => d.target !== 'n9'),
        [],
      )
      assert.ok(swarm.converged())
      report(`100 nodes: restarted member (new epoch) accepted by all in ${back} ms`)
    })
  })

  it('a partition heals through full-state sync: both halves see everyone alive again', async () => {
    const seed = seedFromEnv(14)
    await withSeed(seed, async () => {
      const swarm = await convergedSwarm({ seed, n: 100 })
      const left = swarm.ids.slice(0, 50)
      const right = swarm.ids.slice(50)
      swarm.sim.partition([left, right])
      const split = await swarm.runUntil(
        () => swarm.ids.every((id) => swarm.member(id).liveCount === 50),
        90_000,
        'each half declares the other dead',
        250,
      )
      report(`100 nodes split 50/50: each half sees only itself after ${split} ms`)
      swarm.sim.heal()
      const healed = await swarm.runUntil(
        () => swarm.converged(),
        90_000,
        'all 100 alive everywhere after heal',
        250,
      )
      report(`100 nodes split 50/50: healed (all see all 100 alive) ${healed} ms after the partition ended`)
      assert.ok(healed <= 45_000, `heal took ${healed} ms`)
    })
  })

  it('a graceful leave is known to all as left within 3 s, and nobody declares a death (all traffic validated)', async () => {
    const seed = seedFromEnv(15)
    await withSeed(seed, async () => {
      // validate: every request and reply goes through validateMessage, as on the daemon's wire
      const swarm = await convergedSwarm({ seed, n: 100, validate: true })
      const done = swarm.member('n3').leave()
      const t = await swarm.runUntil(() => swarm.countSeeing('n3', 'left') === 99, 3000, 'all see n3 left')
      await swarm.sim.settle(done)
      await swarm.runFor(30_000)
      assert.deepEqual(swarm.deaths, [])
      assert.equal(swarm.invalid, 0, 'every message the protocol produced passes strict validation')
      report(`100 nodes: graceful leave known to all in ${t} ms`)
    })
  })

  it('Lifeguard: a slow member (450 ms each way) does not get healthy members declared dead', async () => {
    const seed = seedFromEnv(16)
    const latency = (a: string, b: string) => (a === 'n0' || b === 'n0' ? 450 : 5)
    const accusations = async (awarenessMaxMultiplier: number) => {
      const swarm = await convergedSwarm({ seed, n: 50, latency, timings: { awarenessMaxMultiplier } })
      let fromSlow = 0
      swarm.member('n0').onEvent((e) => e.type === 'suspect' && fromSlow++)
      await swarm.runFor(120_000)
      return { fromSlow, deaths: swarm.deaths.length, health: swarm.member('n0').localHealth }
    }
    await withSeed(seed, async () => {
      const on = await accusations(8)
      const off = await accusations(1)
      report(
        `50 nodes, one with 900 ms RTT, 120 s: it raised ${on.fromSlow} suspicions with Lifeguard ` +
          `(local health ${on.health}), ${off.fromSlow} without; deaths ${on.deaths} vs ${off.deaths}`,
      )
      assert.equal(on.deaths, 0, 'no one declared dead with Lifeguard')
      assert.ok(on.health >= 1, 'the slow member knows it is slow')
      assert.ok(on.fromSlow * 2 < off.fromSlow, 'Lifeguard at least halves its false accusations')
    })
  })

  it('the same seed replays the same run', async () => {
    const run = async () => {
      const swarm = await convergedSwarm({ seed: 21, n: 40, lossRate: 0.02, jitterMs: 10 })
      swarm.crash('n3')
      await swarm.runFor(20_000)
      return { stats: { ...swarm.sim.stats, byProtocol: undefined }, deaths: swarm.deaths }
    }
    const a = await run()
    const b = await run()
    assert.deepEqual(a, b)
    assert.ok(a.deaths.length >= 39)
  })
})
