import type { KvOperation, SimNode, Simulator } from '@swarmstore/sim'
import {
  type GroupConfig,
  type KvAnswer,
  KvProposer,
  type KvReply,
  type KvRequest,
  type ProposerAction,
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
}

/**
 * One client host: a KvProposer, one operation at a time (a linearizability history needs
 * sequential clients), its own view of every range's configuration. A request goes to the
 * configuration its view holds for the key's range; the view moves on when its proposer is told
 * `stale` (a `config` action, which it gossips on) or when gossip arrives (then `setConfig`).
 */
export class ClientHost {
  node!: SimNode
  proposer!: KvProposer
  /** every proposer this host booted (a restart makes a new one), for their counters */
  readonly proposers: KvProposer[] = []
  readonly view: ConfigView
  private clock!: LocalClock
  private readonly drift: number
  private wakeAt: number | undefined
  /** the operation in flight: its record, request, and the epoch of its latest accepts */
  private current: { op: KvOperation; req: KvRequest; acceptEpoch?: number } | undefined
  /** what this client last saw of each key: present, and at which version (for cas) */
  private readonly seen = new Map<string, { present: boolean; version: number }>()
  private nextOp = 1

  constructor(
    readonly id: string,
    /** operations still to issue */
    public left: number,
    private readonly env: ClientEnv,
    drift: number,
  ) {
    this.view = new ConfigView(env.genesis)
    this.drift = drift
  }

  get idle(): boolean {
    return this.left === 0 && this.current === undefined
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
    node.handle<{ range: number; config: GroupConfig }>(GOSSIP_PROTOCOL, (_from, m) => {
      if (this.view.learn(m.range, m.config))
        this.feed((now) => this.proposer.setConfig(m.range, m.config, now))
    })
    this.thinkThenIssue()
  }

  /** The process dies: its operation in flight stays open (it may take effect, or never). */
  crash(): void {
    if (this.current) this.current.op.returnAt = undefined
    this.current = undefined
    this.env.sim.crash(this.id)
  }

  private thinkThenIssue(): void {
    if (this.left === 0) return
    this.node.clock.setTimer(this.node.random.next() * 20, () => this.issue())
  }

  private issue(): void {
    this.left--
    const req = this.randomRequest()
    const op = this.env.history.begin(this.id, req, this.env.sim.now())
    this.current = { op, req }
    const range = this.env.rangeOf(req.key)
    this.feed((now) => this.proposer.submit(this.nextOp++, req, { range, config: this.view.get(range) }, now))
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
      // one operation in flight: its accepts (or a get's peeks) say which epoch's majority answers it
      if ((a.msg.t === 'accept' || a.msg.t === 'peek') && this.current) this.current.acceptEpoch = a.msg.epoch
      this.node.request<KvReply>(a.to, KV_PROTOCOL, a.msg).then(
        (reply) => this.feed((now) => this.proposer.replied(a.id, reply, now)),
        (err: Error) =>
          this.feed((now) => this.proposer.replied(a.id, { t: 'failed', reason: err.message }, now)),
      )
    } else if (a.type === 'config') {
      if (this.view.learn(a.range, a.config))
        this.env.gossip.spread(this.node, this.node.random, a.range, a.config)
    } else {
      this.answered(a.answer)
    }
  }

  private answered(answer: KvAnswer): void {
    const cur = this.current
    if (cur === undefined) return
    this.current = undefined
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
    this.thinkThenIssue()
  }
}
