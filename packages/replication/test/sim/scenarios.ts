/**
 * Scenarios on the production ReplicaNode (replica-cluster.ts), each replayable from its seed:
 * puts under message loss with a holder crashing mid-put, reads with a frozen holder, and a
 * host that comes back with a wiped disk under the same identity.
 */
import { type Key, keyToHex, SeededRandom } from '@swarmstore/core'
import { type Mutant, ReplicaCluster, type Violation } from './replica-cluster.js'

export interface ScenarioResult {
  seed: number
  violations: Violation[]
  lostChunks: number
  underReplicated: number
  surplusCopies: number
  traceHash: string
}

function report(seed: number, c: ReplicaCluster, keys?: readonly Key[]): ScenarioResult {
  let placement = c.placementReport()
  if (keys !== undefined) {
    // only the chunks this scenario acknowledged count for placement
    const acked = new Set(keys.map(keyToHex))
    let under = 0
    for (const h of acked) {
      const set = c.holders.get(h) ?? new Set()
      const p = c.view.closest(Uint8Array.from(Buffer.from(h, 'hex')), c.R)
      if (!p.every((m) => set.has(m.peerId))) under++
    }
    placement = { underReplicated: under, surplusCopies: placement.surplusCopies }
  }
  return { seed, violations: c.violations, lostChunks: c.lost, ...placement, traceHash: c.traceHash() }
}

export interface PutSimResult extends ScenarioResult {
  puts: number
  acknowledged: number
  failed: number
}

/**
 * 40 hosts, 1% of messages lost; one host puts 300 chunks, 8 at a time, with W copies from the
 * uploader (the daemon's default fanout); a third of the way in, a host holding some of them
 * crashes for good. Every acknowledged chunk must end on its R closest live members.
 */
export async function runPutLossSim(opts: {
  seed: number
  mutant?: Mutant
  puts?: number
}): Promise<PutSimResult> {
  const c = new ReplicaCluster({
    seed: opts.seed,
    lossRate: 0.01,
    fsyncMs: 5,
    ...(opts.mutant !== undefined ? { mutant: opts.mutant } : {}),
  })
  const rnd = new SeededRandom(opts.seed ^ 0x9e7)
  for (let i = 0; i < 40; i++) c.addNode({ now: true })
  const client = c.live()[0]!
  const n = opts.puts ?? 300
  const keys = Array.from({ length: n }, () => rnd.bytes(32))
  const acked: Key[] = []
  let failed = 0
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < n) {
      const key = keys[next++]!
      if (next === Math.floor(n / 3)) {
        const holder = c.view.closest(key, 3).find((m) => m.peerId !== client.contact.peerId)!
        c.crash(holder.peerId, { wipe: true })
      }
      const a = await c.put(client, key)
      if (a.type === 'put-acknowledged') acked.push(key)
      else failed++
    }
  }
  const done = Promise.all(Array.from({ length: 8 }, worker))
  await c.sim.run({ stopWhen: () => next >= n && c.sim.pendingEvents === 0, until: 3600_000 })
  await done
  return { ...report(opts.seed, c, acked), puts: n, acknowledged: acked.length, failed }
}

export interface ReadSimResult extends ScenarioResult {
  reads: number
  found: number
  p50Ms: number
  maxMs: number
}

/**
 * 30 hosts, 200 chunks; one holder freezes (every message to it is dropped; membership does not
 * notice within the test). Every chunk is read once from a host that holds none of them: each must
 * be found, the ones whose nearest holder is frozen after a hedge.
 */
export async function runFrozenReadSim(opts: { seed: number }): Promise<ReadSimResult> {
  const c = new ReplicaCluster({ seed: opts.seed })
  const rnd = new SeededRandom(opts.seed ^ 0xf0)
  for (let i = 0; i < 30; i++) c.addNode({ now: true })
  const keys = Array.from({ length: 200 }, () => rnd.bytes(32))
  for (const k of keys) c.seedChunk(k)
  const frozen = c.view.closest(keys[0]!, 1)[0]!.peerId
  const reader = c.live().find((r) => r.contact.peerId !== frozen)!
  c.sim.partition([[frozen]])
  const latencies: number[] = []
  let found = 0
  for (const k of keys) {
    const t0 = c.now()
    const p = c.read(reader, k)
    const a = await c.sim.settle(p)
    latencies.push(c.now() - t0)
    if (a.type === 'read-found') found++
  }
  latencies.sort((a, b) => a - b)
  return {
    ...report(opts.seed, c),
    reads: keys.length,
    found,
    p50Ms: latencies[Math.floor(latencies.length / 2)]!,
    maxMs: latencies.at(-1)!,
  }
}

export interface WipeSimResult extends ScenarioResult {
  copiesWiped: number
  pushes: number
}

/**
 * 30 hosts, 600 chunks; one host loses its disk and restarts under the same identity before
 * membership declares it dead (a restart it announces, as the daemon's new epoch does). Its
 * co-holders must send it its share again, and nothing else.
 */
export async function runWipeSim(opts: { seed: number }): Promise<WipeSimResult> {
  const c = new ReplicaCluster({ seed: opts.seed, detectMs: 10_000 })
  const rnd = new SeededRandom(opts.seed ^ 0x3e)
  for (let i = 0; i < 30; i++) c.addNode({ now: true })
  for (let i = 0; i < 600; i++) c.seedChunk(rnd.bytes(32))
  for (const r of c.live()) c.input(r, (now) => r.node.tick(now))
  const victim = c.live()[rnd.int(30)]!
  const copiesWiped = victim.disk.size
  c.sim.clock.setTimer(60_000, () => {
    c.crash(victim.contact.peerId, { wipe: true })
    c.sim.clock.setTimer(2_000, () => c.restart(victim.contact.peerId))
  })
  await c.sim.run({ until: 10 * 60_000 })
  return { ...report(opts.seed, c), copiesWiped, pushes: c.pushes }
}
