import assert from 'node:assert/strict'
import { lostFiles, misplaced, putFiles, waitDeclaredDead, waitHealed } from '../support/files.js'
import { type TestDaemon, useSwarm, waitFor } from '../support/swarm.js'

async function deathsOf(observers: TestDaemon[], peerId: string): Promise<number> {
  const views = await Promise.all(
    observers.map((d) => d.api<{ peerId: string; state: string }[]>('/v1/peers')),
  )
  return views.filter((v) => v.find((p) => p.peerId === peerId)?.state === 'dead').length
}

describe('fault 7: freeze a daemon (SIGSTOP)', function () {
  this.timeout(300_000)
  const ctx = useSwarm(6)

  it('frozen 2 s: no one declares it dead', async () => {
    const v = ctx.nodes[1]!
    const others = ctx.nodes.filter((n) => n !== v)
    v.proc!.kill('SIGSTOP')
    let worst = 0
    const until = Date.now() + 2000
    while (Date.now() < until) {
      worst = Math.max(worst, await deathsOf(others, v.peerId))
      await new Promise((r) => setTimeout(r, 200))
    }
    v.proc!.kill('SIGCONT')
    // and for a while after: a suspicion raised during the freeze must be refuted, not confirmed
    const after = Date.now() + 8000
    while (Date.now() < after) {
      worst = Math.max(worst, await deathsOf(others, v.peerId))
      await new Promise((r) => setTimeout(r, 250))
    }
    assert.equal(worst, 0, 'false deaths')
  })

  it('frozen 60 s: declared dead and repaired around; on SIGCONT it rejoins and surplus copies are trimmed', async () => {
    const files = await putFiles(ctx.nodes[0]!, ctx.swarm.root, 40, {
      minBytes: 1,
      maxBytes: 2_000_000,
      wait: 'all',
    })
    await waitHealed(ctx.nodes, 30_000)
    const v = ctx.nodes[3]!
    const others = ctx.nodes.filter((n) => n !== v)
    const held = (await v.status()).chunks
    assert.ok(held > 0)
    v.proc!.kill('SIGSTOP')
    const t0 = Date.now()
    const detectMs = await waitDeclaredDead(others, v.peerId, 30_000)
    await waitHealed(others, 50_000)
    assert.deepEqual(await misplaced(others[0]!, files, others), [], 'placed on the R closest live nodes')
    assert.deepEqual(await lostFiles(others[1]!, ctx.swarm.root, files), [])
    const left = 60_000 - (Date.now() - t0)
    if (left > 0) await new Promise((r) => setTimeout(r, left))
    v.proc!.kill('SIGCONT')
    await waitFor(
      'the frozen node alive again in every view',
      async () => {
        const views = await Promise.all(
          others.map((d) => d.api<{ peerId: string; state: string }[]>('/v1/peers')),
        )
        return views.every((vw) => vw.find((p) => p.peerId === v.peerId)?.state === 'alive')
      },
      30_000,
      250,
    )
    // back in the placement: every block again on exactly its R closest of all six, surplus dropped
    await waitFor(
      'placement converged on all six',
      async () => (await misplaced(ctx.nodes[0]!, files, ctx.nodes)).length === 0,
      90_000,
      2000,
    )
    assert.deepEqual(await lostFiles(ctx.nodes[5]!, ctx.swarm.root, files), [])
    console.log(`      detected in ${detectMs / 1000}s; ${held} chunks on the frozen node`)
  })
})
