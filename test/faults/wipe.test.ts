import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { lostFiles, misplaced, putFiles, waitHealed } from '../support/files.js'
import { type TestDaemon, TestSwarm, waitFor } from '../support/swarm.js'

describe('fault 5: a daemon whose data is wiped', function () {
  this.timeout(300_000)
  let swarm: TestSwarm
  let nodes: TestDaemon[]
  before(async () => {
    swarm = await TestSwarm.create()
    nodes = await swarm.start(6)
  })
  after(async () => swarm.destroy())

  it('chunks dir wiped, same identity: anti-entropy restores its share', async () => {
    const files = await putFiles(nodes[0]!, swarm.root, 40, { minBytes: 1, maxBytes: 2_000_000, wait: 'all' })
    await waitHealed(nodes, 30_000)
    const v = nodes[2]!
    const share = (await v.status()).chunks
    assert.ok(share > 0)
    await v.kill('SIGKILL')
    await rm(join(v.dataDir, 'chunks'), { recursive: true, force: true })
    await v.start()
    assert.equal((await v.status()).chunks, 0)
    await waitFor('its share restored', async () => (await v.status()).chunks >= share, 120_000, 1000)
    await waitHealed(nodes, 30_000)
    assert.deepEqual(await misplaced(nodes[0]!, files, nodes), [])
    assert.deepEqual(await lostFiles(v, swarm.root, files), [])
  })

  it('whole data dir wiped (a new identity): the newcomer gets its share, the old identity is repaired around', async () => {
    const files = await putFiles(nodes[1]!, swarm.root, 20, { minBytes: 1, maxBytes: 2_000_000, wait: 'all' })
    await waitHealed(nodes, 30_000)
    const v = nodes[4]!
    const oldId = v.peerId
    await v.kill('SIGKILL')
    await rm(v.dataDir, { recursive: true, force: true })
    await v.start()
    assert.notEqual(v.peerId, oldId)
    await waitFor(
      'placement converged',
      async () => (await misplaced(nodes[0]!, files, nodes)).length === 0,
      150_000,
      2000,
    )
    await waitHealed(nodes, 30_000)
    assert.ok((await v.status()).chunks > 0)
    assert.deepEqual(await lostFiles(nodes[3]!, swarm.root, files), [])
  })
})
