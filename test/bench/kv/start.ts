/**
 * Starts `n` daemons a few at a time: the first alone, the others bootstrapping from it, `batch`
 * at once. `TestSwarm.start` starts all but the first together, and on two busy cores 19 daemons
 * starting at once did not all answer /health within its 30 s; a few at a time, each starts
 * quickly and the whole start is no slower.
 */
import { type TestDaemon, type TestSwarm, waitFor } from '../../support/swarm.js'

export async function startInBatches(swarm: TestSwarm, n: number, batch = 4): Promise<TestDaemon[]> {
  const first = await swarm.add()
  await first.start()
  const all = [first]
  while (all.length < n) {
    const k = Math.min(batch, n - all.length)
    const next = await Promise.all(
      Array.from({ length: k }, () => swarm.add({ bootstrap: [first.multiaddr] })),
    )
    await Promise.all(next.map((d) => d.start()))
    all.push(...next)
  }
  await waitFor(
    'every daemon ready and knowing all others',
    async () => {
      const st = await Promise.all(all.map((d) => d.status()))
      return st.every((s) => s.ready && s.peers >= n - 1)
    },
    120_000,
    250,
  )
  return all
}
