import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { lostFiles, type PutFile, waitHealed } from '../support/files.js'
import { sha256, useSwarm } from '../support/swarm.js'

describe('fault 3: a writer puts continuously while a random daemon is killed every 20 s', function () {
  this.timeout(420_000)
  const ctx = useSwarm(6)

  it('for 2 minutes (restarting each after 5 s): 0 acknowledged writes lost', async () => {
    const acked: PutFile[] = []
    let failed = 0
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const bytes = randomBytes(1 + Math.floor(Math.random() * 1_500_000))
        const f = join(ctx.swarm.root, `w${i}.bin`)
        await writeFile(f, bytes)
        const r = await ctx.nodes[0]!.cli(['put', f, '--json'])
        if (r.code === 0)
          acked.push({ cid: JSON.parse(r.stdout).cid, digest: sha256(bytes), size: bytes.byteLength })
        else failed++
      }
    })()
    const end = Date.now() + 120_000
    let kills = 0
    while (Date.now() < end) {
      // one kill every ~20 s: 15 s up, the kill, 5 s down, the restart
      await new Promise((r) => setTimeout(r, 15_000))
      const v = ctx.nodes[1 + Math.floor(Math.random() * (ctx.nodes.length - 1))]! // the writer's daemon stays up
      await v.kill('SIGKILL')
      kills++
      await new Promise((r) => setTimeout(r, 5_000))
      await v.start()
    }
    writing = false
    await writer
    await waitHealed(ctx.nodes, 90_000)
    const lost = await lostFiles(ctx.nodes[3]!, ctx.swarm.root, acked)
    console.log(
      `      ${acked.length} puts acknowledged, ${failed} refused, ${kills} kills, ${lost.length} lost`,
    )
    assert.ok(acked.length > 20)
    assert.deepEqual(lost, [])
  })
})
