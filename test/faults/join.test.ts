import assert from 'node:assert/strict'
import { cidKey, lostFiles, misplaced, putFiles, rClosest, type Stat, waitHealed } from '../support/files.js'
import { useSwarm, waitFor } from '../support/swarm.js'

interface RepairStatus {
  repair: { sent: number; bytes: number; dropped: number }
  bytes: number
}

describe('fault 4: add 3 daemons to a loaded swarm', function () {
  this.timeout(300_000)
  const ctx = useSwarm(6)

  it('chunks move to their new closest nodes, ≤ 1.5× the ideal bytes, no failed get, old copies gone', async () => {
    const files = await putFiles(ctx.nodes[0]!, ctx.swarm.root, 60, {
      minBytes: 1,
      maxBytes: 2_000_000,
      wait: 'all',
    })
    await waitHealed(ctx.nodes, 30_000)
    const sentBefore = (await Promise.all(ctx.nodes.map((n) => n.api<RepairStatus>('/v1/status')))).reduce(
      (s, x) => s + x.repair.bytes,
      0,
    )
    // a reader keeps getting files through node 1 during the whole move
    let reading = true
    let reads = 0
    const failed: string[] = []
    const reader = (async () => {
      while (reading) {
        const f = files[reads++ % files.length]!
        const lost = await lostFiles(ctx.nodes[0]!, ctx.swarm.root, [f], 1)
        failed.push(...lost)
      }
    })()

    const added = await Promise.all(
      [0, 1, 2].map(() => ctx.swarm.add({ bootstrap: [ctx.nodes[1]!.multiaddr] })),
    )
    await Promise.all(added.map((d) => d.start()))
    const all = [...ctx.nodes, ...added]
    const ids = all.map((d) => d.peerId)
    await waitFor(
      'every block on exactly its R closest of all 9',
      async () => (await misplaced(ctx.nodes[2]!, files, all)).length === 0,
      150_000,
      2000,
    )
    await waitHealed(all, 30_000)
    reading = false
    await reader
    assert.deepEqual(failed, [], `failed gets during the move (of ${reads})`)

    // ideal: the bytes whose placement now includes a newcomer, once each
    let ideal = 0
    for (const f of files) {
      const st = await ctx.nodes[0]!.api<Stat>(`/v1/stat/${f.cid}`)
      for (const c of st.chunks) {
        const want = rClosest(cidKey(c.cid), ids, 3)
        ideal += c.size * want.filter((id) => added.some((a) => a.peerId === id)).length
      }
    }
    const st = await Promise.all(all.map((n) => n.api<RepairStatus>('/v1/status')))
    const moved = st.reduce((s, x) => s + x.repair.bytes, 0) - sentBefore
    const dropped = st.reduce((s, x) => s + x.repair.dropped, 0)
    console.log(
      `      moved ${(moved / 1e6).toFixed(1)} MB for an ideal ${(ideal / 1e6).toFixed(1)} MB (${(moved / ideal).toFixed(2)}×); ${dropped} stray copies dropped; ${reads} gets during the move`,
    )
    assert.ok(moved <= 1.5 * ideal, `moved ${moved} > 1.5 × ideal ${ideal}`)
    assert.ok(dropped > 0, 'old copies were dropped after the handoff')
    assert.deepEqual(await lostFiles(added[0]!, ctx.swarm.root, files), [])
  })
})
