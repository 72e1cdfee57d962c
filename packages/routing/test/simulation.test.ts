import assert from 'node:assert/strict'
import { InvariantChecker, seedFromEnv, withSeed } from '@swarmstore/sim'
import { type LookupOutcome, SimSwarm } from '../bench/sim-swarm.js'

const K = 20

function exact(o: LookupOutcome): boolean {
  return o.result.closest.map((c) => c.peerId).join() === o.truth.join()
}

function success(o: LookupOutcome, swarm: SimSwarm): boolean {
  return (
    o.result.completed &&
    o.result.closest.length === K &&
    o.result.closest.every((c) => swarm.sim.isUp(c.peerId))
  )
}

describe('Kademlia in the simulator (1,000 nodes)', function () {
  this.timeout(180_000)

  it('the same seed builds the same network (determinism, 150 nodes)', async () => {
    const digest = async (): Promise<string> => {
      const s = new SimSwarm({ seed: seedFromEnv(5) })
      await s.build(150)
      const outs = await s.lookups(20)
      return JSON.stringify([
        s.sim.stats.messages,
        s.sim.stats.bytes,
        s.sim.now(),
        outs.map((o) => [o.result.hops, o.result.messages]),
      ])
    }
    assert.equal(await digest(), await digest())
  })

  it('healthy: ≥200 lookups all return exactly the true 20 closest; then 20% crash mid-run; then one refresh round', async () => {
    const seed = seedFromEnv(1)
    await withSeed(seed, async () => {
      const swarm = new SimSwarm({ seed })
      await swarm.build(1000)
      const healthy = await swarm.lookups(200)
      const inv = new InvariantChecker(seed).add('healthy lookups return the true k closest', () => {
        const bad = healthy.filter((o) => !exact(o))
        return bad.length === 0 || `${bad.length}/200 lookups inexact`
      })
      inv.checkAll()

      // 20% of the nodes crash, then 200 lookups (from survivors) run; no refresh yet. (A node that
      // answers a running lookup and crashes before it ends cannot be told apart by anyone, so
      // the crash comes between lookups.)
      const all = swarm.liveIds()
      const victims = new Set<string>()
      while (victims.size < all.length / 5) victims.add(all[swarm.sim.random.int(all.length)]!)
      const survivors = all.filter((id) => !victims.has(id))
      for (const v of victims) swarm.sim.crash(v)
      const crashed = await swarm.lookups(200, { origins: survivors })
      const ok = crashed.filter((o) => success(o, swarm)).length
      assert.ok(ok >= 198, `only ${ok}/200 lookups succeeded with 20% crashed`)

      // One refresh round: every survivor refreshes all its buckets; failures lead to evictions.
      await swarm.refreshRound()
      assert.ok(swarm.deadEvictions > 0)
      const after = await swarm.lookups(200)
      const deadInResults = after.flatMap((o) => o.result.closest).filter((c) => !swarm.sim.isUp(c.peerId))
      assert.deepEqual(deadInResults, [])
      const exactAfter = after.filter(exact).length
      assert.ok(exactAfter >= 198, `${exactAfter}/200 exact after the refresh round`)
      assert.ok(after.every((o) => success(o, swarm)))
    })
  })

  it('1% message loss: no live contact is ever evicted, lookups still succeed', async () => {
    const seed = seedFromEnv(2)
    await withSeed(seed, async () => {
      const swarm = new SimSwarm({ seed, sim: { lossRate: 0.01 } })
      await swarm.build(1000)
      const outs = await swarm.lookups(200)
      assert.ok(swarm.sim.stats.lost > 1000, 'loss actually happened')
      assert.equal(swarm.liveEvictions, 0)
      const ok = outs.filter((o) => success(o, swarm)).length
      assert.ok(ok >= 198, `${ok}/200 lookups succeeded under 1% loss`)
    })
  })
})
