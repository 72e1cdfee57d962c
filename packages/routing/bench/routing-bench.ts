/**
 * Routing benchmark: builds a swarm in the simulator by joins (each node bootstraps from one
 * random earlier node; no table is ever filled from global knowledge), then runs lookups from
 * random nodes to random keys and compares each result with the true k closest.
 *
 *   npm run --silent bench:routing -- --nodes 10000 --lookups 1000 --seed 1 --json
 *   npm run bench:routing                      # readable table for 1k and 10k nodes
 *
 * Definitions (issue 2): a contact from the local table has hop 0, one first returned by a hop-h
 * node has hop h+1, and a lookup's hops is the hop of the closest contact in its result. Messages
 * are all requests a lookup sent (timed-out ones included). Latency is simulated time from start
 * to termination. Success: it terminated (paper's rule) before its deadline with k live contacts.
 */
import { SimSwarm } from './sim-swarm.js'

interface Args {
  nodes: number[]
  lookups: number
  seed: number
  json: boolean
}

function parseArgs(argv: string[]): Args {
  const a: Args = { nodes: [1000, 10_000], lookups: 1000, seed: 1, json: false }
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]
    const next = (): number => {
      const n = Number(argv[++i])
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${v} needs a positive number`)
      return n
    }
    if (v === '--nodes') a.nodes = [next()]
    else if (v === '--lookups') a.lookups = next()
    else if (v === '--seed') a.seed = next()
    else if (v === '--json') a.json = true
    else throw new Error(`unknown argument ${v} (use --nodes N --lookups N --seed N --json)`)
  }
  return a
}

/** Nearest-rank percentile. */
function pct(values: number[], p: number): number {
  const s = [...values].sort((x, y) => x - y)
  return s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? 0
}

export interface BenchResult {
  nodes: number
  lookups: number
  exactClosestRate: number
  successRate: number
  medianHops: number
  p95Hops: number
  medianMessages: number
  p95Messages: number
  medianLatencyMs: number
  p95LatencyMs: number
  wallSeconds: number
  peakRssMiB: number
  seed: number
  buildSeconds: number
  cpuSeconds: number
  buildMessages: number
}

async function bench(nodes: number, lookups: number, seed: number): Promise<BenchResult> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const swarm = new SimSwarm({ seed })
  await swarm.build(nodes)
  const buildSeconds = (performance.now() - t0) / 1000
  const buildMessages = swarm.sim.stats.messages
  const outs = await swarm.lookups(lookups, { truth: false })
  const wallSeconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const k = swarm.kad(outs[0]!.origin).k
  // Checking against global knowledge is not part of the network's work: done after timing.
  for (const o of outs) o.truth = swarm.trueClosest(o.result.target, k)
  let exact = 0
  let ok = 0
  for (const o of outs) {
    const ids = o.result.closest.map((c) => c.peerId)
    if (ids.join() === o.truth.join()) exact++
    if (o.result.completed && ids.length === k && ids.every((id) => swarm.sim.isUp(id))) ok++
  }
  const hops = outs.map((o) => o.result.hops)
  const msgs = outs.map((o) => o.result.messages)
  const lat = outs.map((o) => o.result.durationMs)
  return {
    nodes,
    lookups: outs.length,
    exactClosestRate: exact / outs.length,
    successRate: ok / outs.length,
    medianHops: pct(hops, 0.5),
    p95Hops: pct(hops, 0.95),
    medianMessages: pct(msgs, 0.5),
    p95Messages: pct(msgs, 0.95),
    medianLatencyMs: Math.round(pct(lat, 0.5)),
    p95LatencyMs: Math.round(pct(lat, 0.95)),
    wallSeconds: Number(wallSeconds.toFixed(1)),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    seed,
    buildSeconds: Number(buildSeconds.toFixed(1)),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
    buildMessages,
  }
}

const args = parseArgs(process.argv.slice(2))
if (args.json) {
  console.log(JSON.stringify(await bench(args.nodes[0]!, args.lookups, args.seed)))
} else {
  const rows: BenchResult[] = []
  for (const n of args.nodes) {
    console.error(`building ${n} nodes by joins, then ${args.lookups} lookups (seed ${args.seed})...`)
    rows.push(await bench(n, args.lookups, args.seed))
  }
  const cols: [string, (r: BenchResult) => string][] = [
    ['nodes', (r) => String(r.nodes)],
    ['lookups', (r) => String(r.lookups)],
    ['exact', (r) => r.exactClosestRate.toFixed(4)],
    ['success', (r) => r.successRate.toFixed(4)],
    ['hops p50/p95', (r) => `${r.medianHops}/${r.p95Hops}`],
    ['msgs p50/p95', (r) => `${r.medianMessages}/${r.p95Messages}`],
    ['latency ms p50/p95', (r) => `${r.medianLatencyMs}/${r.p95LatencyMs}`],
    ['wall s', (r) => r.wallSeconds.toFixed(1)],
    ['cpu s', (r) => r.cpuSeconds.toFixed(1)],
    ['rss MiB', (r) => String(r.peakRssMiB)],
  ]
  const table = [cols.map((c) => c[0]), ...rows.map((r) => cols.map((c) => c[1](r)))]
  const widths = cols.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
  for (const row of table) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '))
}
