import assert from 'node:assert/strict'
import { KvCluster, type KvSimResult, runKvSim } from './sim/kv-cluster.js'

/** The mutant (accept quorum of one) is caught on this seed; found by `bench:kv-sim`, pinned here. */
const MUTANT_SEED = 1
/**
 * The mover mutants are caught on these seeds: the one ignoring accepted transitions by the
 * invariants on 167 of seeds 1-200 and by the history checker on 7 (22 the first), the minority
 * one by both on each of seeds 1-12.
 */
const IGNORE_TRANSITION_SEED = 3
const MINORITY_SEED = 1

function assertLinearizable(r: KvSimResult): void {
  const why = r.report.violations[0]?.message ?? r.invariantViolations[0] ?? r.report.undecided[0]
  assert.ok(r.report.ok, `seed ${r.seed}: ${why} (replay: runKvSim({ seed: ${r.seed} }))`)
  assert.deepEqual(r.invariantViolations, [], `seed ${r.seed}`)
  assert.equal(r.report.undecided.length, 0)
}

describe('KV on the simulator: CASPaxos histories checked for linearizability, ranges moving', () => {
  it('groups of 3 in a pool of 6-8 under moves, loss, crashes that lose unsynced writes, partitions (seeds 1-8)', async () => {
    const total = { crashes: 0, partitions: 0, reconfigurations: 0, rangeMoves: 0, races: 0, moverCrashes: 0 }
    for (let seed = 1; seed <= 8; seed++) {
      const r = await runKvSim({ seed })
      assertLinearizable(r)
      assert.equal(r.history.length, 300)
      assert.ok(r.answered > 250, `seed ${seed}: only ${r.answered} of 300 answered`)
      total.crashes += r.acceptorCrashes
      total.partitions += r.partitions
      total.reconfigurations += r.reconfigurations
      total.rangeMoves += r.rangeMoves
      total.races += r.faults.racingMoves
      total.moverCrashes += r.faults.moverCrashMidMove
    }
    assert.ok(total.crashes > 20 && total.partitions > 20, `faults happened: ${JSON.stringify(total)}`)
    assert.ok(total.rangeMoves > 40 && total.races > 10 && total.moverCrashes > 10, JSON.stringify(total))
  })

  it('groups of 5 in a pool of 8-10 (seeds 101-104)', async () => {
    for (let seed = 101; seed <= 104; seed++) {
      const r = await runKvSim({ seed, acceptors: 5 })
      assertLinearizable(r)
      assert.ok(r.rangeMoves > 0, `seed ${seed}: no range moved`)
    }
  })

  it('the daemon’s genesis: one node founds every range alone, moves grow them to groups (seeds 31-33)', async () => {
    for (let seed = 31; seed <= 33; seed++) {
      const c = new KvCluster({ seed, genesis: 'founder' })
      const r = await c.run()
      assertLinearizable(r)
      assert.ok(r.rangeMoves >= c.ranges.length, `seed ${seed}: ${r.rangeMoves} moves`)
      for (const range of c.ranges) {
        assert.ok(c.oracle.latest(range).members.length >= 3, `seed ${seed}: range ${range} grew`)
      }
    }
  })

  it('without faults or moves nearly every operation is answered', async () => {
    // five proposers on a few hot keys keep a key saturated: the few left are requests that lost
    // every duel until their deadline (unavailable, still checked), not faults; no sweeps: the
    // simulator's sweeps purge far faster than a daemon's, among the retries (see `sweeps`)
    for (const seed of [7, 8]) {
      const r = await runKvSim({ seed, faults: false, moves: false, lossRate: 0, sweeps: false })
      assertLinearizable(r)
      assert.ok(r.answered >= 297, `seed ${seed}: ${r.answered} of 300 answered`)
      assert.equal(r.reconfigurations, 0)
    }
  })

  it('tombstones purged among the writes, faults and moves: histories stay linearizable', async () => {
    let purged = 0
    for (const seed of [1, 2, 3, 4]) {
      const r = await runKvSim({ seed })
      assertLinearizable(r)
      assert.deepEqual(r.invariantViolations, [])
      purged += r.purged
    }
    assert.ok(purged >= 20, `only ${purged} tombstones purged`)
  })

  it('seed 337: a peek answered at an epoch whose install was still being written (now held)', async () => {
    assertLinearizable(await runKvSim({ seed: 337, acceptors: 3, ops: 400 }))
  })

  it('moves without faults: every range keeps serving', async () => {
    for (const seed of [11, 12]) {
      const r = await runKvSim({ seed, faults: false, lossRate: 0 })
      assertLinearizable(r)
      assert.ok(r.rangeMoves > 5, `seed ${seed}: ${r.rangeMoves} moves`)
      assert.ok(r.answered >= 280, `seed ${seed}: ${r.answered} of 300 answered`)
    }
  })

  it('one seed, one run: the same history twice', async () => {
    const a = new KvCluster({ seed: 42 })
    const b = new KvCluster({ seed: 42 })
    await a.run()
    await b.run()
    assert.equal(a.historyHash(), b.historyHash())
    const c = new KvCluster({ seed: 43 })
    await c.run()
    assert.notEqual(a.historyHash(), c.historyHash())
  })

  it(`teeth: an accept quorum of one is caught by the checker (seed ${MUTANT_SEED})`, async () => {
    const r = await runKvSim({ seed: MUTANT_SEED, acceptQuorum: 1 })
    assert.ok(r.report.violations.length > 0, 'the mutant passed the linearizability checker')
    assert.ok(
      r.invariantViolations.some((v) => /disks/.test(v)),
      'and the majority-durable invariant',
    )
  })

  it(`teeth: a mover committing its own members over an accepted transition is caught (seed ${IGNORE_TRANSITION_SEED})`, async () => {
    const r = await runKvSim({ seed: IGNORE_TRANSITION_SEED, moverMutant: 'ignore-transition' })
    assert.ok(
      r.invariantViolations.some((v) => /two transitions chosen/.test(v)),
      `one successor per epoch: ${r.invariantViolations[0]}`,
    )
    assert.ok(r.report.violations.length > 0, 'and the history checker')
  })

  it(`teeth: a mover sealing and committing at one old member (a minority) is caught (seed ${MINORITY_SEED})`, async () => {
    const r = await runKvSim({ seed: MINORITY_SEED, moverMutant: 'minority' })
    assert.ok(r.report.violations.length > 0, 'the history checker')
    assert.ok(
      r.invariantViolations.some((v) => /not chosen/.test(v)),
      'and the installed-only-if-chosen invariant',
    )
  })
})
