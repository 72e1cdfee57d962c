/**
 * npm run bench:heal-sim [-- --seeds 1-5 --nodes 1000 --chunks 10000 --hours 2 --no-control --json]
 * Healing under churn on the production ReplicaNode (test/sim/heal-sim.ts). Prints one JSON object
 * per run (healing on for each seed, then the healing-off control for the first seed), and last one
 * summary line.
 */
import { runHealSim } from '../test/sim/heal-sim.js'

const args = process.argv.slice(2)
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt
}
const [a, b] = arg('seeds', '1-5').split('-').map(Number)
const seeds = Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i)
const base = {
  nodes: Number(arg('nodes', '1000')),
  chunks: Number(arg('chunks', '10000')),
  durationMs: Number(arg('hours', '2')) * 3600_000,
}
let lostWithHealing = 0
let violations = 0
for (const seed of seeds) {
  const r = await runHealSim({ seed, ...base })
  lostWithHealing += r.lostChunks
  violations += r.violations.length
  console.log(JSON.stringify({ ...r, violations: r.violations.slice(0, 10) }))
}
let lostWithoutHealing: number | undefined
if (!args.includes('--no-control')) {
  const c = await runHealSim({ seed: seeds[0]!, ...base, healing: false, settleMs: 0 })
  lostWithoutHealing = c.lostChunks
  console.log(JSON.stringify(c))
}
console.log(
  JSON.stringify({
    summary: true,
    seeds,
    nodes: base.nodes,
    chunks: base.chunks,
    lostWithHealing,
    lostWithoutHealing,
    violations,
  }),
)
