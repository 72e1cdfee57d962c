import assert from 'node:assert/strict'
import { lostFiles, misplaced, putFiles, waitDeclaredDead, waitHealed } from '../support/files.js'
import { useSwarm } from '../support/swarm.js'

describe('fault 1: kill -9 one of 6 daemons', function () {
  this.timeout(240_000)
  const ctx = useSwarm(6)

  it('200 files: under-replicated returns to 0 and every chunk is on its R closest live nodes within 60 s; 0 lost', async () => {
    const files = await putFiles(ctx.nodes[0]!, ctx.swarm.root, 200, {
      minBytes: 1,
      maxBytes: 300_000,
      parallel: 6,
    })
    await waitHealed(ctx.nodes, 30_000)
    const victim = ctx.nodes[3]!
    assert.ok((await victim.status()).chunks > 0)
    await victim.kill('SIGKILL')
    const live = ctx.nodes.filter((n) => n !== victim)
    const t0 = Date.now()
    // the death must be noticed first: until then the live members still count the victim
    const detectMs = await waitDeclaredDead(live, victim.peerId, 30_000)
    await waitHealed(live, 60_000)
    const secs = (Date.now() - t0) / 1000
    const bad = await misplaced(live[0]!, files, live)
    assert.deepEqual(bad, [], `misplaced blocks after ${secs}s`)
    assert.ok(secs <= 60, `healed in ${secs}s`)
    console.log(`      detected in ${detectMs / 1000}s, healed and placed in ${secs}s`)
    assert.deepEqual(await lostFiles(live[1]!, ctx.swarm.root, files), [])
  })
})
