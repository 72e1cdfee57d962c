import assert from 'node:assert/strict'
import { runPutSim } from './sim/put-sim.js'

describe('chained puts in the simulator (1% loss, crashed and full nodes)', function () {
  this.timeout(60_000)

  it('every put settles; acknowledged ⇒ ≥ W live holders; full nodes store nothing; uploader sends ≈ 1×', async () => {
    const r = await runPutSim({ seed: 11 })
    console.log(`      ${JSON.stringify(r)}`)
    assert.equal(r.ackedButUnderW, 0)
    assert.equal(r.refusedRefusals, 0)
    assert.ok(r.acknowledged >= r.puts - 3, `acknowledged ${r.acknowledged}/${r.puts}`)
    assert.ok(r.complete >= r.puts * 0.9, `complete ${r.complete}/${r.puts}`)
    // Chained: the uploader's uplink carries ~1 copy per put (plus restarts after failures), not R = 3.
    assert.ok(r.delegations > 0)
    assert.ok(r.uploaderBytesPerPut < 1.5, `uploader sent ${r.uploaderBytesPerPut} chunks per put`)
    assert.ok(r.relayBytesPerPut > 1.5, `relays carried ${r.relayBytesPerPut} chunks per put`)
  })
})
