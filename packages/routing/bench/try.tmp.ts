import { SimSwarm } from './sim-swarm.js'

const n = Number(process.argv[2] ?? 1000)
const c0 = process.cpuUsage()
const t0 = performance.now()
const sw = new SimSwarm({ seed: 1 })
await sw.build(n)
const t1 = performance.now()
console.log(
  'built',
  n,
  ((t1 - t0) / 1000).toFixed(1),
  's',
  'msgs',
  sw.sim.stats.messages,
  'events',
  sw.sim.stats.events,
)
const res = await sw.lookups(500)
let exact = 0
const hops: number[] = []
const msgs: number[] = []
const lat: number[] = []
for (const { result } of res) {
  const truth = sw.trueClosest(result.target, 20)
  if (truth.join() === result.closest.map((c) => c.peerId).join()) exact++
  hops.push(result.hops)
  msgs.push(result.messages)
  lat.push(result.durationMs)
}
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]
const p95 = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length * 0.95)]
console.log(
  'exact',
  exact / res.length,
  'hops',
  med(hops),
  p95(hops),
  'msgs',
  med(msgs),
  p95(msgs),
  'lat',
  med(lat),
  p95(lat),
  ((performance.now() - t1) / 1000).toFixed(1),
  's',
)
const sizes = [...sw.kads.values()].map((k) => k.size)
console.log(
  'cpu s',
  (process.cpuUsage(c0).user / 1e6).toFixed(1),
  'table sizes med',
  med(sizes),
  'min',
  Math.min(...sizes),
)
