import assert from 'node:assert/strict'
import { runHealSim } from './sim/heal-sim.js'

/** HEAL_SIM_SEEDS=1-5 (or "1,3") runs more seeds; the default `npm test` runs seed 1. */
function seeds(): number[] {
  const s = process.env.HEAL_SIM_SEEDS ?? '1'
  const m = /^(\d+)-(\d+)$/.exec(s)
  if (m) return Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => Number(m[1]) + i)
  return s.split(',').map(Number)
}

describe('healing under churn (fault test 9, simulated on ReplicaNode)', function () {
  this.timeout(300_000)
  for (const seed of seeds()) {
    it(`seed ${seed}: 1,000 nodes, 10,000 chunks, RF=3, 5%/10 min replaced for 2 h — 0 lost with healing`, async () => {
      const r = await runHealSim({ seed })
      console.log(`      ${JSON.stringify({ ...r, violations: r.violations.length })}`)
      assert.deepEqual(r.violations, [], `replay with HEAL_SIM_SEEDS=${seed}`)
      assert.ok(r.replaced >= 590, `replaced ${r.replaced}`)
      assert.equal(r.lostChunks, 0, `lost ${r.lostChunks} (replay with HEAL_SIM_SEEDS=${seed})`)
      assert.equal(r.underReplicated, 0, 'every chunk back on its R closest live nodes')
      assert.equal(r.surplusCopies, 0, 'stray copies trimmed')
      assert.equal(r.refusals, 0)
    })
  }

  it('control: the same churn with healing off loses chunks', async () => {
    const r = await runHealSim({ seed: seeds()[0]!, healing: false, settleMs: 0 })
    console.log(`      ${JSON.stringify({ ...r, violations: r.violations.length })}`)
    assert.ok(r.lostChunks > 100, `lost only ${r.lostChunks}`)
    assert.equal(r.healingMessages, 0)
  })
})

describe('the heal simulation replays and has teeth', function () {
  this.timeout(120_000)
  const small = { nodes: 200, chunks: 2000, durationMs: 20 * 60_000 }

  it('one seed run twice gives the same event trace', async () => {
    const a = await runHealSim({ seed: 5, ...small })
    const b = await runHealSim({ seed: 5, ...small })
    assert.equal(a.traceHash, b.traceHash)
    assert.notEqual(a.traceHash, (await runHealSim({ seed: 6, ...small })).traceHash)
  })

  it('a copy dropped when its replacement is sent, not confirmed, is caught (seed 3)', async () => {
    const r = await runHealSim({ seed: 3, ...small, mutant: 'drop-unconfirmed' })
    assert.ok(
      r.violations.some((v) => v.invariant === 'no copy dropped before its replacements are confirmed'),
      'the mutant went unnoticed',
    )
  })
})

describe('false deaths and the grace window (simulated on ReplicaNode)', function () {
  this.timeout(120_000)
  const base = {
    seed: 7,
    nodes: 200,
    chunks: 2000,
    durationMs: 20 * 60_000,
    churnPer10Min: 0,
    falseDeathsPer10Min: 0.1,
    falseDeathMs: 10_000,
    settleMs: 5 * 60_000,
  }

  it('members wrongly declared dead for 10 s cost no transfer with the 20 s grace window; without it, a storm', async () => {
    const withGrace = await runHealSim(base)
    const noGrace = await runHealSim({ ...base, graceMs: 0 })
    console.log(`      ${JSON.stringify({ ...withGrace, violations: withGrace.violations.length })}`)
    console.log(`      ${JSON.stringify({ ...noGrace, violations: noGrace.violations.length })}`)
    assert.deepEqual([...withGrace.violations, ...noGrace.violations], [])
    assert.ok(withGrace.falseDeaths >= 35, `false deaths ${withGrace.falseDeaths}`)
    assert.equal(withGrace.lostChunks + noGrace.lostChunks, 0)
    assert.equal(withGrace.underReplicated + noGrace.underReplicated, 0)
    assert.equal(
      withGrace.surplusCopies + noGrace.surplusCopies,
      0,
      'surplus copies trimmed after the return',
    )
    assert.ok(withGrace.chunkTransfers <= withGrace.falseDeaths, `transfers ${withGrace.chunkTransfers}`)
    assert.ok(
      noGrace.chunkTransfers > 10 * withGrace.falseDeaths,
      `transfers without grace ${noGrace.chunkTransfers}`,
    )
  })
})
