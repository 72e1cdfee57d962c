import assert from 'node:assert/strict'
import { lostFiles, misplaced, putFiles, waitDeclaredDead, waitHealed } from '../support/files.js'
import { useSwarm } from '../support/swarm.js'

describe('fault 2: kill 2 of 6 at the same moment', function () {
  this.timeout(240_000)
  const ctx = useSwarm(6)

  it('after all puts reached R: everything still readable, then fully re-replicated', async () => {
    const files = await putFiles(ctx.nodes[0]!, ctx.swarm.root, 60, {
      minBytes: 1,
      maxBytes: 2_500_000,
      wait: 'all',
      parallel: 4,
    })
    await waitHealed(ctx.nodes, 30_000)
    const victims = [ctx.nodes[2]!, ctx.nodes[4]!]
    await Promise.all(victims.map((v) => v.kill('SIGKILL')))
    const live = ctx.nodes.filter((n) => !victims.includes(n))
    // R = 3: two losses leave at least one copy of everything
    assert.deepEqual(
      await lostFiles(live[0]!, ctx.swarm.root, files),
      [],
      'readable right after the double kill',
    )
    for (const v of victims) await waitDeclaredDead(live, v.peerId, 30_000)
    const t0 = Date.now()
    await waitHealed(live, 90_000)
    const secs = (Date.now() - t0) / 1000
    assert.deepEqual(await misplaced(live[1]!, files, live), [])
    assert.deepEqual(await lostFiles(live[2]!, ctx.swarm.root, files), [])
    console.log(`      re-replicated ${secs}s after both deaths were declared`)
  })
})
