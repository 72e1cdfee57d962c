import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { lostFiles, misplaced, putFiles, waitHealed } from '../support/files.js'
import { useSwarm, waitFor } from '../support/swarm.js'

describe('fault 5: a daemon whose data is wiped', function () {
  this.timeout(300_000)
  const ctx = useSwarm(6)

  it('chunks dir wiped, same identity: anti-entropy restores its share', async () => {
    const files = await putFiles(ctx.nodes[0]!, ctx.swarm.root, 40, {
      minBytes: 1,
      maxBytes: 2_000_000,
      wait: 'all',
    })
    await waitHealed(ctx.nodes, 30_000)
    const v = ctx.nodes[2]!
    const share = (await v.status()).chunks
    assert.ok(share > 0)
    await v.kill('SIGKILL')
    await rm(join(v.dataDir, 'chunks'), { recursive: true, force: true })
    await v.start()
    assert.equal((await v.status()).chunks, 0)
    await waitFor('its share restored', async () => (await v.status()).chunks >= share, 120_000, 1000)
    await waitHealed(ctx.nodes, 30_000)
    assert.deepEqual(await misplaced(ctx.nodes[0]!, files, ctx.nodes), [])
    assert.deepEqual(await lostFiles(v, ctx.swarm.root, files), [])
  })

  it('whole data dir wiped (a new identity): the newcomer gets its share, the old identity is repaired around', async () => {
    const files = await putFiles(ctx.nodes[1]!, ctx.swarm.root, 20, {
      minBytes: 1,
      maxBytes: 2_000_000,
      wait: 'all',
    })
    await waitHealed(ctx.nodes, 30_000)
    const v = ctx.nodes[4]!
    const oldId = v.peerId
    await v.kill('SIGKILL')
    await rm(v.dataDir, { recursive: true, force: true })
    await v.start()
    assert.notEqual(v.peerId, oldId)
    await waitFor(
      'placement converged',
      async () => (await misplaced(ctx.nodes[0]!, files, ctx.nodes)).length === 0,
      150_000,
      2000,
    )
    await waitHealed(ctx.nodes, 30_000)
    assert.ok((await v.status()).chunks > 0)
    assert.deepEqual(await lostFiles(ctx.nodes[3]!, ctx.swarm.root, files), [])
  })
})
