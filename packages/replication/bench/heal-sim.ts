/**
 * npm run bench:heal-sim [-- --seeds 1-5 --nodes 1000 --chunks 10000 --hours 2 --control]
 * Prints one JSON object per run (healing on for each seed, plus the healing-off control for the first seed).
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
const results = []
for (const seed of seeds) {
  const r = await runHealSim({ seed, ...base })
  results.push(r)
  console.log(JSON.stringify(r))
}
if (!args.includes('--no-control'))
  console.log(JSON.stringify(await runHealSim({ seed: seeds[0]!, ...base, healing: false, settleMs: 0 })))
const lost = results.reduce((s, r) => s + r.lostChunks, 0)
console.log(JSON.stringify({ summary: true, seeds, lostWithHealing: lost }))
