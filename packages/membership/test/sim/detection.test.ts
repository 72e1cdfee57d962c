import assert from 'node:assert/strict'
import { seedFromEnv, withSeed } from '@swarmstore/sim'
import { convergedSwarm, type MembershipSwarm } from './swarm.js'

/** Printed figures end up in README.md ("Measured"). */
function report(line: string): void {
  console.log(`      [measured] ${line}`)
}

async function joinAndCrash(
  swarm: MembershipSwarm,
  n: number,
  label: string,
): Promise<{ join: number; crash: number }> {
  const seed = `n${swarm.sim.random.int(n)}`
  const newcomer = `x${n}`
  swarm.add(newcomer, seed)
  const join = await swarm.runUntil(
    () => swarm.countSeeing(newcomer, 'alive') === n,
    10_000,
    `${label}: all ${n} learn of the join`,
    20,
  )
  const victim = `n${1 + swarm.sim.random.int(n - 1)}`
  swarm.crash(victim)
  const crash = await swarm.runUntil(
    () => swarm.countSeeing(victim, 'dead') === n,
    40_000,
    `${label}: all ${n} learn of the crash`,
    50,
  )
  report(`${label}: join known to all in ${join} ms; crash known to all as dead in ${crash} ms`)
  assert.deepEqual(
    swarm.deaths.filter((d) => d.target !== victim),
    [],
    'no member other than the crashed one was declared dead',
  )
  return { join, crash }
}

describe('sim: join and crash dissemination (LAN profile)', function () {
  this.timeout(180_000)

  it('500 nodes: every member learns of a join within 5 s and of a crash within 25 s', async () => {
    const seed = seedFromEnv(1)
    await withSeed(seed, async () => {
      const swarm = await convergedSwarm({ seed, n: 500 })
      const before = swarm.sim.stats.messages
      const t0 = swarm.sim.now()
      const { join, crash } = await joinAndCrash(swarm, 500, `500 nodes seed ${seed}`)
      const secs = (swarm.sim.now() - t0) / 1000
      report(
        `500 nodes: ${((swarm.sim.stats.messages - before) / secs / 501).toFixed(1)} messages/s per member`,
      )
      assert.ok(join <= 5000, `join took ${join} ms`)
      // min suspicion = 4 × log10(500) × 1 s ≈ 10.8 s, after first detection and confirmations
      assert.ok(crash <= 25_000, `crash took ${crash} ms`)
    })
  })

  for (const seed of [1, 2]) {
    it(`200 nodes, seed ${seed}: join within 4 s, crash within 20 s`, async () => {
      const s = seedFromEnv(seed)
      await withSeed(s, async () => {
        const swarm = await convergedSwarm({ seed: s, n: 200 })
        const { join, crash } = await joinAndCrash(swarm, 200, `200 nodes seed ${s}`)
        assert.ok(join <= 4000, `join took ${join} ms`)
        assert.ok(crash <= 20_000, `crash took ${crash} ms`)
      })
    })
  }

  it('6 nodes (the bench:heal swarm), 10 seeds: crash known to all in a median ≤ 7 s, worst ≤ 12 s', async () => {
    const times: number[] = []
    for (let seed = 1; seed <= 10; seed++) {
      await withSeed(seed, async () => {
        const swarm = await convergedSwarm({ seed, n: 6, latency: { minMs: 0.2, maxMs: 1 } })
        times.push((await joinAndCrash(swarm, 6, `6 nodes seed ${seed}`)).crash)
      })
    }
    times.sort((a, b) => a - b)
    const median = (times[4]! + times[5]!) / 2
    report(`6 nodes: crash known to all, sorted over seeds 1–10: ${times.join(', ')} ms (median ${median})`)
    assert.ok(median <= 7000, `median ${median} ms`)
    assert.ok(times[9]! <= 12_000, `worst ${times[9]} ms`)
  })

  it('6 nodes, 300 seeds, crash at a random phase of the probe round: ≥ 98% known to all within 8 s, worst ≤ 10 s', async () => {
    // bench:heal's target is detection within 8 s; this is the protocol's own share of misses.
    const times: number[] = []
    for (let seed = 1; seed <= 300; seed++) {
      await withSeed(seed, async () => {
        const swarm = await convergedSwarm({ seed, n: 6, latency: { minMs: 0.2, maxMs: 1 } })
        const victim = `n${1 + swarm.sim.random.int(5)}`
        await swarm.runFor(1 + swarm.sim.random.int(1000))
        swarm.crash(victim)
        times.push(await swarm.runUntil(() => swarm.countSeeing(victim, 'dead') === 5, 40_000, 'crash', 50))
      })
    }
    times.sort((a, b) => a - b)
    const over8 = times.filter((t) => t > 8000).length
    report(
      `6 nodes, 300 seeds: crash known to all in median ${times[150]} ms, p99 ${times[297]} ms, worst ${times[299]} ms; ${over8} over 8 s`,
    )
    assert.ok(over8 <= 6, `${over8} of 300 over 8 s`)
    assert.ok(times[299]! <= 10_000, `worst ${times[299]} ms`)
  })
})
