import assert from 'node:assert/strict'
import { runFrozenReadSim, runPutLossSim, runWipeSim } from './sim/scenarios.js'

describe('ReplicaNode in the simulator: puts, reads, a wiped host', function () {
  this.timeout(120_000)

  it('puts under 1% message loss with a holder crashing mid-put: acknowledged ⇒ ≥ W durable, all end on their R closest', async () => {
    const r = await runPutLossSim({ seed: 1 })
    console.log(`      ${JSON.stringify({ ...r, violations: r.violations.length })}`)
    assert.deepEqual(r.violations, [])
    assert.ok(r.acknowledged >= r.puts - 3, `acknowledged ${r.acknowledged}/${r.puts}`)
    assert.equal(r.lostChunks, 0)
    assert.equal(r.underReplicated, 0)
    assert.equal(r.surplusCopies, 0)
  })

  it('a put acknowledged at W − 1 is caught (seed 1)', async () => {
    const r = await runPutLossSim({ seed: 1, mutant: 'ack-below-w', puts: 60 })
    assert.ok(r.violations.some((v) => v.invariant === 'acknowledged ⇒ ≥ W durable copies'))
  })

  it('reads with a frozen holder: every chunk found, hedged past it', async () => {
    const r = await runFrozenReadSim({ seed: 1 })
    console.log(`      ${JSON.stringify({ ...r, violations: r.violations.length })}`)
    assert.equal(r.found, r.reads)
    assert.ok(r.maxMs < 1_000, `slowest read ${r.maxMs} ms`)
  })

  it('a host back with a wiped disk under its own identity gets its share again, and hardly more', async () => {
    const r = await runWipeSim({ seed: 1 })
    console.log(`      ${JSON.stringify({ ...r, violations: r.violations.length })}`)
    assert.deepEqual(r.violations, [])
    assert.ok(r.copiesWiped > 0)
    // two holders may ask within the same moment and both send (ask-before-send narrows it, cannot close it)
    assert.ok(r.pushes >= r.copiesWiped && r.pushes <= Math.ceil(r.copiesWiped * 1.05), `${r.pushes} pushes`)
    assert.equal(r.lostChunks + r.underReplicated + r.surplusCopies, 0)
  })
})
