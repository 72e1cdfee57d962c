import assert from 'node:assert/strict'
import { lostFiles, putFiles, type Stat, waitHealed } from './support/files.js'
import { TestSwarm, waitFor } from './support/swarm.js'

describe('capacity-aware placement', function () {
  this.timeout(300_000)
  it('a full node is skipped for the next closest, keeps what it has, and load spreads', async () => {
    const swarm = await TestSwarm.create()
    try {
      const nodes = await swarm.start(4)
      const small = await swarm.add({ capacity: 3 * 1024 * 1024, bootstrap: [nodes[0]!.multiaddr] })
      await small.start()
      const all = [...nodes, small]
      await waitFor('all five see each other', async () =>
        (await Promise.all(all.map((d) => d.status()))).every((s) => s.peers >= 4),
      )
      const files = await putFiles(nodes[0]!, swarm.root, 12, {
        minBytes: 1_000_000,
        maxBytes: 2_000_000,
        wait: 'all',
      })
      const st = await small.status()
      assert.ok(st.bytes <= 3 * 1024 * 1024, `the small node holds ${st.bytes} bytes, over its quota`)
      // every chunk on 3 nodes once the small node's fullness has been gossiped (a copy made
      // while it still looked roomy is handed back and trimmed)
      await waitFor(
        'every chunk on exactly 3 nodes',
        async () => {
          for (const f of files) {
            const s = await nodes[1]!.api<Stat>(`/v1/stat/${f.cid}`)
            if (s.chunks.some((c) => c.holders.length !== 3)) return false
          }
          return true
        },
        150_000, // a new daemon also takes its share of the key-value ranges meanwhile
        1000,
      )
      await waitHealed(all, 60_000)
      const held = (await Promise.all(nodes.map((d) => d.status()))).map((s) => s.chunks)
      assert.ok(Math.min(...held) > 0, `every roomy node holds chunks: ${held}`)
      assert.deepEqual(await lostFiles(small, swarm.root, files), [])
    } finally {
      await swarm.destroy()
    }
  })
})
