import type { KvOperation, SimNode, Simulator } from '@swarmstore/sim'
import {
  type GroupConfig,
  type KvAnswer,
  KvProposer,
  type KvReply,
  type KvRequest,
  type ProposerAction,
  type SweeperAction,
  TombstoneSweeper,
} from '../../src/index.js'
import { KV_PROTOCOL } from './acceptor-host.js'
import { ConfigView, GOSSIP_PROTOCOL, type Gossip } from './gossip.js'
import type { History } from './history.js'
import { LocalClock } from './local-clock.js'
import type { KvOracle } from './oracle.js'

/** What client hosts share: the world they run in and the keys they work on. */
export interface ClientEnv {
  readonly sim: Simulator
  readonly oracle: KvOracle
  readonly gossip: Gossip
  readonly history: History
  readonly keys: readonly string[]
  readonly rangeOf: (key: string) => number
  readonly genesis: ReadonlyMap<number, GroupConfig>
  /** the proposers' accept quorum: 1 builds the mutant the checker must catch */
  readonly acceptQuorum?: number | undefined
  /** whether clients sweep tombstones (see KvSimOptions.sweeps) */
  readonly sweeps: boolean
}

interface InFlight {
  readonly op: KvOperation
  readonly req: KvRequest
  readonly session: number
  acceptEpoch?: number
}

interface Machine<A = unknown> {
  takeActions(): A[]
  nextWakeAt(): number | undefined
  tick(now: number): void
}

/** A client host sweeps one range of its view for tombstones this often (uniform, ms). */
const SWEEP_MS = { min: 20, max: 80 }

/**
 * One client host: a KvProposer shared by 1–3 sessions, each a sequential client of its own in the
 * history (a linearizability history needs sequential clients) — as a daemon's one proposer serves
 * every request sent to it at once, same key included — and its own view of every range's
 * configuration. A request goes to the configuration its view holds for the key's range; the view
 * moves on when its proposer is told `stale` (a `config` action, which it gossips on) or when
 * gossip arrives (then `setConfig`). It also sweeps tombstones as a daemon's range coordinator does
 * (a TombstoneSweeper on a random range of its view every 20–80 ms, often enough that tombstones
 * get purged between a key's writes), its settles running as full-round gets on a proposer of
 * their own (not recorded: they are not a client's).
 */
export class ClientHost {
  node!: SimNode
  proposer!: KvProposer
  sweeper!: TombstoneSweeper
  /** tombstones purged by this host's sweeps */
  purged = 0
  /** runs the sweeper's settle reads (its own proposer: their answers are not the client's) */
  private settler!: KvProposer
  /** when each machine's next tick is set for */
  private readonly wakes = new Map<Machine, number>()
  /** every proposer this host booted (a restart makes a new one), for their counters */
  readonly proposers: KvProposer[] = []
  readonly view: ConfigView
  private clock!: LocalClock
  private readonly drift: number
  private wakeAt: number | undefined
  /** operations in flight, by proposer op number: record, request, session, epoch of latest accepts */
  private readonly inFlight = new Map<number, InFlight>()
  /** what this client last saw of each key: present, and at which version (for cas) */
  private readonly seen = new Map<string, { present: boolean; version: number }>()
  private nextOp = 1

  constructor(
    readonly id: string,
    /** operations still to issue */
    public left: number,
    private readonly env: ClientEnv,
    drift: number,
    /** sequential clients sharing this host's proposer (each its own client in the history) */
    private readonly sessions = 1,
  ) {
    this.view = new ConfigView(env.genesis)
    this.drift = drift
  }

  get idle(): boolean {
    return this.left === 0 && this.inFlight.size === 0
  }

  boot(node: SimNode): void {
    this.node = node
    this.clock = new LocalClock(node, this.drift, node.random)
    this.wakeAt = undefined
    this.proposer = new KvProposer({
      id: `${this.id}.${node.incarnation}`,
      random: node.random,
      deadlineMs: 2_000,
      attemptTimeoutMs: 250,
      ...(this.env.acceptQuorum !== undefined ? { acceptQuorum: this.env.acceptQuorum } : {}),
    })
    this.proposers.push(this.proposer)
    this.sweeper = new TombstoneSweeper({ timeoutMs: 1_000 })
    this.settler = new KvProposer({ id: `${this.id}.${node.incarnation}.settle`, random: node.random })
    this.wakes.clear()
    node.handle<{ range: number; config: GroupConfig }>(GOSSIP_PROTOCOL, (_from, m) => {
      if (this.view.learn(m.range, m.config))
        this.feed((now) => this.proposer.setConfig(m.range, m.config, now))
    })
    for (let s = 0; s < this.sessions; s++) this.thinkThenIssue(s)
    if (this.env.sweeps) this.scheduleSweep()
  }

  private scheduleSweep(): void {
    const incarnation = this.node.incarnation
    const ms = SWEEP_MS.min + this.node.random.next() * (SWEEP_MS.max - SWEEP_MS.min)
    this.node.clock.setTimer(ms, () => {
      if (this.idle || !this.env.sim.isUp(this.id) || this.node.incarnation !== incarnation) return
      const ranges = [...new Set(this.env.keys.map(this.env.rangeOf))]
      const range = ranges[this.node.random.int(ranges.length)]!
      this.feedSweeper((now) => this.sweeper.sweep(range, this.view.get(range), now))
      this.scheduleSweep()
    })
  }

  private feedSweeper(input: (now: number) => void): void {
    this.pump(this.sweeper, input, (a) => this.executeSweep(a))
  }

  private feedSettler(input: (now: number) => void): void {
    this.pump(this.settler, input, (a) => {
      if (a.type === 'send') {
        this.node.request<KvReply>(a.to, KV_PROTOCOL, a.msg).then(
          (reply) => this.feedSettler((now) => this.settler.replied(a.id, reply, now)),
          (err: Error) =>
            this.feedSettler((now) => this.settler.replied(a.id, { t: 'failed', reason: err.message }, now)),
        )
      }
    })
  }

  /** Feeds `m` one input, runs its actions, and sets its next tick on this host's clock. */
  private pump<A>(m: Machine<A>, input: (now: number) => void, run: (a: A) => void): void {
    if (!this.env.sim.isUp(this.id)) return
    input(this.clock.now())
    for (const a of m.takeActions()) run(a)
    const at = m.nextWakeAt()
    const set = this.wakes.get(m as Machine)
    if (at === undefined || (set !== undefined && set <= at)) return
    this.wakes.set(m as Machine, at)
    this.clock.at(at, () => {
      if (this.wakes.get(m as Machine) === at) this.wakes.delete(m as Machine)
      this.pump(m, (now) => m.tick(Math.max(now, at)), run)
    })
  }

  private executeSweep(a: SweeperAction): void {
    if (a.type === 'done') this.purged += a.purged
    else if (a.type === 'settle') {
      const target = { range: a.range, config: a.config }
      const get = { t: 'get' as const, key: a.key }
      this.feedSettler((now) => this.settler.submit(this.nextOp++, get, target, now, { fullRound: true }))
    } else {
      this.node.request<KvReply>(a.to, KV_PROTOCOL, a.msg).then(
        (reply) => this.feedSweeper((now) => this.sweeper.replied(a.id, reply, now)),
        (err: Error) =>
          this.feedSweeper((now) => this.sweeper.replied(a.id, { t: 'failed', reason: err.message }, now)),
      )
    }
  }

  /** The process dies: its operations in flight stay open (they may take effect, or never). */
  crash(): void {
    for (const f of this.inFlight.values()) f.op.returnAt = undefined
    this.inFlight.clear()
    this.env.sim.crash(this.id)
  }

  private thinkThenIssue(session: number): void {
    if (this.left === 0) return
    const incarnation = this.node.incarnation
    this.node.clock.setTimer(this.node.random.next() * 20, () => {
      if (this.node.incarnation === incarnation && this.env.sim.isUp(this.id)) this.issue(session)
    })
  }

  private issue(session: number): void {
    if (this.left === 0) return
    this.left--
    const req = this.randomRequest()
    const client = this.sessions === 1 ? this.id : `${this.id}/${session}`
    const op = this.env.history.begin(client, req, this.env.sim.now())
    const opNo = this.nextOp++
    this.inFlight.set(opNo, { op, req, session })
    const range = this.env.rangeOf(req.key)
    this.feed((now) => this.proposer.submit(opNo, req, { range, config: this.view.get(range) }, now))
  }

  private randomRequest(): KvRequest {
    const r = this.node.random
    const keys = this.env.keys
    const key = keys[r.int(keys.length)]!
    const value = new TextEncoder().encode(`${this.id}.${this.node.incarnation}:${this.nextOp}`)
    const x = r.next()
    if (x < 0.3) return { t: 'put', key, value }
    if (x < 0.6) return { t: 'get', key }
    if (x < 0.75) return { t: 'delete', key }
    const { present, version } = this.seen.get(key) ?? { present: false, version: 0 }
    // mostly the version last seen (or 0 when absent), sometimes a guess
    const expect = r.next() < 0.1 ? r.int(version + 2) : present ? version : 0
    return { t: 'cas', key, expect, value }
  }

  private feed(input: (now: number) => void): void {
    if (!this.env.sim.isUp(this.id)) return
    input(this.clock.now())
    for (const a of this.proposer.takeActions()) this.execute(a)
    const at = this.proposer.nextWakeAt()
    if (at === undefined || (this.wakeAt !== undefined && this.wakeAt <= at)) return
    this.wakeAt = at
    this.clock.at(at, () => {
      if (this.wakeAt === at) this.wakeAt = undefined
      this.feed((now) => this.proposer.tick(Math.max(now, at)))
    })
  }

  private execute(a: ProposerAction): void {
    if (a.type === 'send') {
      // an operation's accepts (or a get's peeks) say which epoch's majority answers it
      const f = this.inFlight.get(a.op)
      if ((a.msg.t === 'accept' || a.msg.t === 'peek') && f) f.acceptEpoch = a.msg.epoch
      this.node.request<KvReply>(a.to, KV_PROTOCOL, a.msg).then(
        (reply) => this.feed((now) => this.proposer.replied(a.id, reply, now)),
        (err: Error) =>
          this.feed((now) => this.proposer.replied(a.id, { t: 'failed', reason: err.message }, now)),
      )
    } else if (a.type === 'config') {
      if (this.view.learn(a.range, a.config))
        this.env.gossip.spread(this.node, this.node.random, a.range, a.config)
    } else {
      this.answered(a.op, a.answer)
    }
  }

  private answered(opNo: number, answer: KvAnswer): void {
    const cur = this.inFlight.get(opNo)
    if (cur === undefined) return
    this.inFlight.delete(opNo)
    this.env.history.end(cur.op, answer, this.env.sim.now())
    if (answer.t !== 'unavailable' && answer.t !== 'invalid') {
      const { req } = cur
      const present =
        answer.t === 'found' ||
        (answer.t === 'ok' && req.t !== 'delete') ||
        (answer.t === 'conflict' && req.t === 'cas')
      this.seen.set(req.key, { present, version: answer.version })
      this.env.oracle.answered(
        this.env.rangeOf(req.key),
        cur.acceptEpoch ?? -1,
        req.key,
        answer.version,
        `${answer.t} (${this.id})`,
      )
    }
    this.thinkThenIssue(cur.session)
  }
}
