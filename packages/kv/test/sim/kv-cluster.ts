/**
 * The production KvAcceptor, KvProposer and RangeMover on @swarmstore/sim: a pool of acceptor
 * hosts larger than a group, several ranges each held by a group under its own epoch-numbered
 * configuration, client hosts and mover hosts — each running the same classes the daemon will
 * run, through adapters that do here what the daemon's will do there: `send` actions become
 * requests on the simulated network, `persist` actions become writes on a simulated disk,
 * `nextWakeAt` becomes a timer on the host's own clock. The clients record every operation in the
 * checker's `KvOperation` format and the history is checked for linearizability at the end.
 * Nothing of the protocol is re-implemented here.
 *
 * The parts (one file each):
 * - acceptor-host.ts — a KvAcceptor behind the KV protocol, its disk (disk.ts: an append-only
 *   log; a crash mid-write leaves a random prefix of the batch: a torn group commit);
 * - client-host.ts — a KvProposer, one operation at a time, its own view of the configurations;
 * - mover-host.ts — a RangeMover, its own view, a failed move started again while still wanted;
 * - gossip.ts — configuration views, and gossip of what a host learned first-hand, reaching each
 *   peer after an independent delay (20 ms – 2 s) over the lossy, partitionable network;
 * - local-clock.ts — every host's clock off by up to ±2 s and running up to ±1 % fast or slow;
 * - chaos.ts — the faults and the move scenarios of a run, drawn from the seed;
 * - finisher.ts — a range left frozen (its mover died after the seal) is moved on by a node that
 *   holds it, as the design's "whoever finds a seal finishes the move";
 * - oracle.ts — the invariants checked as the run goes: one configuration per (range, epoch) and
 *   one transition chosen per epoch, answered ⇒ durable on a majority, never backwards;
 * - history.ts — the operations in the checker's format.
 *
 * Modelling choices (stated, not hidden):
 * - Network: one-way latency 1–10 ms per pair, jitter up to 3 ms (so messages reorder), one
 *   message in 200 stuck for 0.1–2 s more, a loss rate drawn per seed in [0, 5 %), request
 *   timeout 300 ms (answered to the caller as `failed`).
 * - Disk: a batch is durable 0.2–3 ms after the acceptor asks; only then are its replies sent.
 * - Ranges: 4 by default (range ids spread over the 4,096), keys mapped to them by a fixed table
 *   (key i → range i mod R; 1–3 keys per range, drawn per seed). Each range's genesis is epoch 1
 *   on a random group (3, or 5) of the pool's first group+1 hosts, or — one seed in three — on the
 *   first host alone, as the daemon's first node founds every range (the first moves grow it).
 *   The pool has 3–5 hosts more than a group.
 * - Acceptor, client and mover hosts are separate here; in the daemon every node is all three.
 *   Each client is sequential (one operation in flight), as a linearizability history requires.
 */
import { createHash } from 'node:crypto'
import { SeededRandom } from '@swarmstore/core'
import {
  checkLinearizability,
  type KvOperation,
  type LinearizabilityReport,
  mix32,
  pairUniform,
  Simulator,
} from '@swarmstore/sim'
import { type GroupConfig, majority, RANGE_COUNT } from '../../src/index.js'
import { AcceptorHost } from './acceptor-host.js'
import { Chaos, type ChaosCounts, shuffle } from './chaos.js'
import { ClientHost } from './client-host.js'
import { Finisher } from './finisher.js'
import { Gossip } from './gossip.js'
import { History } from './history.js'
import { LocalClock } from './local-clock.js'
import { type MoveCounts, MoverHost, type MoverMutant } from './mover-host.js'
import { KvOracle } from './oracle.js'

export { KV_PROTOCOL } from './acceptor-host.js'
export type { MoverMutant } from './mover-host.js'

/**
 * A message is stuck this often (in a queue, a retransmission, a paused process) and arrives this
 * much later than its link's latency: long after its request timed out, an old seal, commit,
 * install or accept still lands.
 */
const STUCK_RATE = 0.005
const STUCK_MS = { min: 100, max: 2_000 }

export interface KvSimOptions {
  seed: number
  /** members of each range's group (default 3) */
  acceptors?: number
  /** acceptor hosts in all (default: the group + 3–5, drawn per seed) */
  pool?: number
  /** ranges (default 4) */
  ranges?: number
  /** client hosts, each with its own proposer (default 5) */
  clients?: number
  /** sequential clients per client host, sharing its proposer (default: 1–3 per host, drawn) */
  sessions?: number
  /** mover hosts (default 3) */
  movers?: number
  /** keys (default: 1–3 per range, drawn per seed) */
  keys?: number
  /** operations over all clients (default 300) */
  ops?: number
  /** default: drawn per seed in [0, 0.05) */
  lossRate?: number
  /** crashes and partitions (default true) */
  faults?: boolean
  /** range moves (default true) */
  moves?: boolean
  /** the proposers' accept quorum: 1 builds the mutant the checker must catch */
  acceptQuorum?: number
  /** a broken mover the checks must catch (see mover-host.ts) */
  moverMutant?: MoverMutant
  /**
   * each range's first configuration: a whole group, or the daemon's genesis — the first node
   * alone, founding every range (grown to a group by the first moves). Default: founder on one
   * seed in three.
   */
  genesis?: 'group' | 'founder'
  /** a range left frozen is moved on by whoever holds it (finisher.ts; default true) */
  finisher?: boolean
  /**
   * clients sweep tombstones every 20–80 ms (default true): far more often than a daemon (10 s),
   * so that purges land among a key's writes and retries — which costs availability (a retry that
   * finds its key purged cannot tell whether it took effect, and answers unavailable)
   */
  sweeps?: boolean
}

export interface KvSimResult {
  seed: number
  history: KvOperation[]
  report: LinearizabilityReport
  /** invariant violations seen as the run went (see oracle.ts) */
  invariantViolations: string[]
  answered: number
  indeterminate: number
  failed: number
  /** transitions chosen (a majority of the old members accepted one), and those that changed a member */
  reconfigurations: number
  rangeMoves: number
  moves: MoveCounts
  /** moves the finisher started, out of a configuration an acceptor held frozen */
  finisherMoves: number
  /**
   * ranges whose newest configuration is installed at fewer than a majority of its members when
   * the run ends (unusable until someone finishes the move into it)
   */
  stalledRanges: number
  faults: ChaosCounts
  acceptorCrashes: number
  clientCrashes: number
  partitions: number
  /** proposer attempts that started over, and those that found their own earlier accept chosen */
  retries: number
  recovered: number
  /** tombstones the clients' sweeps purged (each counted once per sweep, for all members) */
  purged: number
  simMs: number
}

export class KvCluster {
  readonly sim: Simulator
  readonly history = new History()
  readonly oracle: KvOracle
  readonly keys: string[]
  readonly ranges: number[]
  private readonly acceptors = new Map<string, AcceptorHost>()
  private readonly clients = new Map<string, ClientHost>()
  private readonly movers = new Map<string, MoverHost>()
  private readonly chaos: Chaos
  private readonly finisher: Finisher
  private readonly rnd: SeededRandom
  private readonly opts: KvSimOptions

  constructor(opts: KvSimOptions) {
    this.opts = opts
    this.rnd = new SeededRandom(opts.seed ^ 0x6b76)
    const link = new SeededRandom(mix32(opts.seed ^ 0x51ac))
    this.sim = new Simulator({
      seed: opts.seed,
      latency: (from, to) => {
        const base = 1 + 9 * pairUniform(opts.seed, this.sim.node(from).index, this.sim.node(to).index)
        return link.next() < STUCK_RATE
          ? base + STUCK_MS.min + link.next() * (STUCK_MS.max - STUCK_MS.min)
          : base
      },
      jitterMs: 3,
      lossRate: opts.lossRate ?? this.rnd.next() * 0.05,
      defaultTimeoutMs: 300,
    })
    this.oracle = new KvOracle(() => this.sim.now())
    const n = opts.acceptors ?? 3
    const pool = opts.pool ?? n + 3 + this.rnd.int(3)
    const hosts = Array.from({ length: pool }, (_, i) => `a${i}`)
    const r = opts.ranges ?? 4
    this.ranges = Array.from({ length: r }, (_, i) => Math.floor(((i + 0.5) * RANGE_COUNT) / r))
    const k = opts.keys ?? r * (1 + this.rnd.int(3))
    this.keys = Array.from({ length: k }, (_, i) => (i === 1 ? 'ключ/1' : `key/${i}`))
    const rangeOfKey = new Map(this.keys.map((key, i) => [key, this.ranges[i % r]!]))
    const genesis = new Map<number, GroupConfig>()
    const founder = (opts.genesis ?? (this.rnd.int(3) === 0 ? 'founder' : 'group')) === 'founder'
    for (const range of this.ranges) {
      const members = founder ? [hosts[0]!] : shuffle(hosts.slice(0, n + 1), this.rnd).slice(0, n)
      genesis.set(range, { epoch: 1, members })
      this.oracle.genesis(range, genesis.get(range)!)
    }
    const gossip = new Gossip()
    for (const id of hosts) {
      const founds = new Map([...genesis].filter(([, c]) => c.members.includes(id)))
      const host = new AcceptorHost(id, this.sim, this.oracle, founds, this.rnd)
      this.acceptors.set(id, host)
      this.sim.addNode(id, (node) => host.boot(node))
    }
    const clients = opts.clients ?? 5
    const ops = opts.ops ?? 300
    const clientEnv = {
      sim: this.sim,
      oracle: this.oracle,
      gossip,
      history: this.history,
      keys: this.keys,
      rangeOf: (key: string) => rangeOfKey.get(key)!,
      genesis,
      acceptQuorum: opts.acceptQuorum,
      sweeps: opts.sweeps ?? true,
    }
    for (let i = 0; i < clients; i++) {
      const share = Math.floor(ops / clients) + (i < ops % clients ? 1 : 0)
      const drift = LocalClock.drawDrift(this.rnd)
      const c = new ClientHost(`c${i}`, share, clientEnv, drift, opts.sessions ?? 1 + this.rnd.int(3))
      this.clients.set(c.id, c)
      gossip.peers.push(c.id)
      this.sim.addNode(c.id, (node) => c.boot(node))
    }
    const moverEnv = { sim: this.sim, oracle: this.oracle, gossip, genesis, mutant: opts.moverMutant }
    for (let i = 0; i < (opts.movers ?? 3); i++) {
      const m = new MoverHost(`m${i}`, moverEnv, LocalClock.drawDrift(this.rnd))
      this.movers.set(m.id, m)
      gossip.peers.push(m.id)
      this.sim.addNode(m.id, (node) => m.boot(node))
    }
    const world = {
      sim: this.sim,
      random: this.rnd,
      oracle: this.oracle,
      ranges: this.ranges,
      group: n,
      acceptors: this.acceptors,
      clients: this.clients,
      movers: this.movers,
      finished: () => this.finished(),
    }
    this.chaos = new Chaos(world)
    this.finisher = new Finisher(world)
  }

  /** Runs until every client has done its share; then checks the history. */
  async run(): Promise<KvSimResult> {
    this.chaos.start({ faults: this.opts.faults ?? true, moves: this.opts.moves ?? true })
    if (this.opts.finisher ?? true) this.finisher.start()
    await this.sim.run({ stopWhen: () => this.finished(), maxEvents: 5_000_000 })
    const history = this.history.ops
    const moves: MoveCounts = { started: 0, moved: 0, superseded: 0, failed: 0 }
    for (const m of this.movers.values()) {
      for (const k of Object.keys(moves) as (keyof MoveCounts)[]) moves[k] += m.counts[k]
    }
    const proposers = [...this.clients.values()].flatMap((c) => c.proposers)
    const faults = this.chaos.counts
    return {
      seed: this.opts.seed,
      history,
      report: checkLinearizability(history),
      invariantViolations: this.oracle.violations,
      answered: history.length - this.history.count('indeterminate') - this.history.count('failed'),
      indeterminate: this.history.count('indeterminate'),
      failed: this.history.count('failed'),
      ...this.oracle.reconfigurations(),
      moves,
      finisherMoves: this.finisher.started,
      stalledRanges: this.ranges.filter((r) => this.stalled(r)).length,
      faults,
      acceptorCrashes: faults.acceptorCrashes,
      clientCrashes: faults.clientCrashes,
      partitions: faults.partitions,
      retries: proposers.reduce((n, p) => n + p.stats().retries, 0),
      recovered: proposers.reduce((n, p) => n + p.stats().recovered, 0),
      purged: [...this.clients.values()].reduce((n, c) => n + c.purged, 0),
      simMs: this.sim.now(),
    }
  }

  /** A hash of the history: one seed, one run. */
  historyHash(): string {
    const h = createHash('sha256')
    for (const o of this.history.ops) h.update(`${JSON.stringify(o)}\n`)
    return h.digest('hex')
  }

  /** Whether the newest configuration of `range` is installed at fewer than a majority of its members. */
  private stalled(range: number): boolean {
    const latest = this.oracle.latest(range)
    const holding = latest.members.filter(
      (m) => (this.acceptors.get(m)!.acceptor.configOf(range)?.epoch ?? 0) >= latest.epoch,
    )
    return holding.length < majority(latest.members.length)
  }

  private finished(): boolean {
    for (const c of this.clients.values()) if (!c.idle) return false
    return true
  }
}

export async function runKvSim(opts: KvSimOptions): Promise<KvSimResult> {
  return new KvCluster(opts).run()
}
