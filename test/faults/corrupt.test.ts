import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { open, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { lostFiles, putFiles, type Stat, waitHealed } from '../support/files.js'
import { type TestDaemon, useSwarm, waitFor } from '../support/swarm.js'

async function chunkFile(d: TestDaemon, cid: string): Promise<string | undefined> {
  const blocks = join(d.dataDir, 'chunks', 'blocks')
  for (const shard of await readdir(blocks)) {
    for (const f of await readdir(join(blocks, shard)))
      if (f === cid || f.startsWith(`${cid}.`)) return join(blocks, shard, f)
  }
  return undefined
}

describe('fault 6: flipped bytes in one replica on disk', function () {
  this.timeout(240_000)
  const ctx = useSwarm(6)

  it('reads never return bad bytes; the replica is repaired', async () => {
    const files = await putFiles(ctx.nodes[0]!, ctx.swarm.root, 10, {
      minBytes: 1_500_000,
      maxBytes: 3_000_000,
      wait: 'all',
    })
    await waitHealed(ctx.nodes, 30_000)
    // corrupt every replica one holder has of the first file's chunks
    const st = await ctx.nodes[0]!.api<Stat>(`/v1/stat/${files[0]!.cid}`)
    const victim = ctx.nodes.find((n) => n.peerId === st.chunks[0]!.holders[0])!
    const damaged: { cid: string; path: string; digest: string }[] = []
    for (const c of st.chunks) {
      if (!c.holders.includes(victim.peerId)) continue
      const path = (await chunkFile(victim, c.cid))!
      const good = await readFile(path)
      const fh = await open(path, 'r+')
      const b = Buffer.alloc(1)
      await fh.read(b, 0, 1, 100)
      b[0] = b[0]! ^ 0xff
      await fh.write(b, 0, 1, 100)
      await fh.close()
      damaged.push({ cid: c.cid, path, digest: createHash('sha256').update(good).digest('hex') })
    }
    assert.ok(damaged.length > 0)
    // reads through the damaged node itself (its local copy is tried first) and through others
    for (const via of [victim, ...ctx.nodes.filter((n) => n !== victim)]) {
      assert.deepEqual(await lostFiles(via, ctx.swarm.root, [files[0]!]), [], `bad bytes through ${via.name}`)
    }
    // the daemon's cache may still hold the good bytes: the scrub (hourly in the background;
    // here asked for through the API, as an operator would) reads past it, from disk
    const r = await fetch(`http://127.0.0.1:${victim.apiPort}/v1/scrub`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await victim.token()}` },
    })
    assert.equal(r.status, 200)
    // (the reads above may already have found and repaired some of them: the scrub finds the rest)
    // the damaged replicas come back good, on the same node
    await waitFor(
      'every damaged replica repaired in place',
      async () => {
        for (const d of damaged) {
          const p = await chunkFile(victim, d.cid)
          if (p === undefined) return false
          if (
            createHash('sha256')
              .update(await readFile(p))
              .digest('hex') !== d.digest
          )
            return false
        }
        return true
      },
      60_000,
      500,
    )
    assert.ok((await victim.api<{ quarantined: number }>('/v1/status')).quarantined >= damaged.length)
    assert.deepEqual(await lostFiles(ctx.nodes[5]!, ctx.swarm.root, files), [])
  })
})
