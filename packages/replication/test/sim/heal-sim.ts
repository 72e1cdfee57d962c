/**
 * Healing under churn (fault test 9), on the production ReplicaNode (see replica-cluster.ts): a
 * swarm of simulated hosts holding chunks, some replaced (crashed, disk gone, a fresh host with a
 * new key joins) and some wrongly declared dead for a while. Replayable from its seed.
 */
import { SeededRandom } from '@swarmstore/core'
import { CHUNK, type Mutant, ReplicaCluster, type Violation } from './replica-cluster.js'

export interface HealSimOptions {
  seed: number
  nodes?: number
  chunks?: number
  replicas?: number
  /** Simulated duration of churn, ms. */
  durationMs?: number
  /** Fraction of nodes replaced per 10 simulated minutes. */
  churnPer10Min?: number
  healing?: boolean
  detectMs?: number
  joinMs?: number
  graceMs?: number
  repairMiBps?: number
  /** Quiet time after churn stops, to let repair converge before the final check. */
  settleMs?: number
  /**
   * False deaths: this fraction of nodes per 10 minutes is declared dead although it keeps running
   * with its disk, and is re-added `falseDeathMs` later. Default 0.
   */
  falseDeathsPer10Min?: number
  falseDeathMs?: number
  mutant?: Mutant
}

export interface HealSimResult {
  seed: number
  healing: boolean
  nodes: number
  chunks: number
  replaced: number
  /** Chunk copies that vanished with replaced nodes: the least repair must re-create. */
  copiesOnReplacedNodes: number
  falseDeaths: number
  lostChunks: number
  /** After settling: chunks whose R closest live nodes do not all hold them. */
  underReplicated: number
  /** After settling: copies held outside their chunk's R closest. */
  surplusCopies: number
  healingMessages: number
  healingBytes: number
  chunkTransfers: number
  drops: number
  refusals: number
  violations: Violation[]
  traceHash: string
  simulatedMs: number
  wallMs: number
}

export async function runHealSim(opts: HealSimOptions): Promise<HealSimResult> {
  const wallStart = performance.now() // io-edge: report only
  const nNodes = opts.nodes ?? 1000
  const nChunks = opts.chunks ?? 10_000
  const duration = opts.durationMs ?? 2 * 3600_000
  const churn = opts.churnPer10Min ?? 0.05
  const cluster = new ReplicaCluster({
    seed: opts.seed,
    replicas: opts.replicas ?? 3,
    healing: opts.healing ?? true,
    detectMs: opts.detectMs ?? 5_000,
    joinMs: opts.joinMs ?? 1_000,
    ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
    repairMiBps: opts.repairMiBps ?? 20,
    ...(opts.mutant !== undefined ? { mutant: opts.mutant } : {}),
  })
  const rnd = new SeededRandom(opts.seed ^ 0x5eed)
  for (let i = 0; i < nNodes; i++) cluster.addNode({ now: true })
  for (let i = 0; i < nChunks; i++) cluster.seedChunk(rnd.bytes(32))
  for (const r of cluster.live()) cluster.input(r, (now) => r.node.tick(now))

  let replaced = 0
  let copiesGone = 0
  const interval = 600_000 / (churn * nNodes)
  const churnTick = () => {
    if (cluster.now() > duration) return
    const ls = cluster.live()
    const victim = ls[rnd.int(ls.length)]!
    copiesGone += victim.disk.size
    cluster.crash(victim.contact.peerId, { wipe: true })
    replaced++
    cluster.addNode()
    cluster.sim.clock.setTimer(interval, churnTick)
  }
  if (churn > 0) cluster.sim.clock.setTimer(interval, churnTick)

  let falseDeaths = 0
  const falseRate = opts.falseDeathsPer10Min ?? 0
  const falseInterval = 600_000 / (falseRate * nNodes)
  const falseDeath = () => {
    if (cluster.now() > duration) return
    const ls = cluster.live().filter((x) => cluster.view.has(x.contact.peerId))
    const victim = ls[rnd.int(ls.length)]!
    falseDeaths++
    cluster.falseDeath(victim.contact.peerId, opts.falseDeathMs ?? 10_000)
    cluster.sim.clock.setTimer(falseInterval, falseDeath)
  }
  if (falseRate > 0) cluster.sim.clock.setTimer(falseInterval, falseDeath)
  await cluster.sim.run({ until: duration + (opts.settleMs ?? 10 * 60_000) })

  const traffic = cluster.sim.stats.byProtocol.get(CHUNK)
  return {
    seed: opts.seed,
    healing: cluster.healing,
    nodes: nNodes,
    chunks: nChunks,
    replaced,
    copiesOnReplacedNodes: copiesGone,
    falseDeaths,
    lostChunks: cluster.lost,
    ...cluster.placementReport(),
    healingMessages: traffic?.messages ?? 0,
    healingBytes: traffic?.bytes ?? 0,
    chunkTransfers: cluster.pushes,
    drops: cluster.drops,
    refusals: cluster.refusals,
    violations: cluster.violations,
    traceHash: cluster.traceHash(),
    simulatedMs: cluster.now(),
    wallMs: Math.round(performance.now() - wallStart), // io-edge: report only
  }
}
