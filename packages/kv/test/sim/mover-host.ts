import type { SimNode, Simulator } from '@swarmstore/sim'
import {
  type GroupConfig,
  type KvReply,
  type MoveOutcome,
  type MoverAction,
  RangeMover,
} from '../../src/index.js'
import { KV_PROTOCOL } from './acceptor-host.js'
import { ConfigView, GOSSIP_PROTOCOL, type Gossip } from './gossip.js'
import { LocalClock } from './local-clock.js'
import type { KvOracle } from './oracle.js'

/**
 * Broken movers, built in the adapter (src/ is unchanged), that the simulator must catch:
 * - `ignore-transition`: commits its own members even when a sealed answer carried an accepted
 *   transition (the sealed answers reach it without their `transition`);
 * - `minority`: seals and commits at one old member only (it is started with `from` cut down to
 *   its first member) and installs on that.
 */
export type MoverMutant = 'ignore-transition' | 'minority'

export interface MoverEnv {
  readonly sim: Simulator
  readonly oracle: KvOracle
  readonly gossip: Gossip
  readonly genesis: ReadonlyMap<number, GroupConfig>
  readonly mutant?: MoverMutant | undefined
}

/** A failed move is started again this long after (uniform, ms), at most MAX_RETRIES times. */
const RETRY_MS = { min: 200, max: 800 }
const MAX_RETRIES = 2

export interface MoveCounts {
  started: number
  moved: number
  superseded: number
  failed: number
}

/**
 * One mover host: the production RangeMover, its own view of the ranges' configurations (moves
 * start from it: a stale view gets `superseded`), and a daemon-like policy: a move that failed is
 * started again a little later while the view still holds the configuration it left from. Every
 * outcome that teaches it a configuration is gossiped.
 */
export class MoverHost {
  node!: SimNode
  mover!: RangeMover
  readonly view: ConfigView
  readonly counts: MoveCounts = { started: 0, moved: 0, superseded: 0, failed: 0 }
  private clock!: LocalClock
  private wakeAt: number | undefined
  /** range → the members its current move goes to, and how often it was retried */
  private readonly targets = new Map<number, { from: GroupConfig; members: string[]; retries: number }>()

  constructor(
    readonly id: string,
    private readonly env: MoverEnv,
    private readonly drift: number,
  ) {
    this.view = new ConfigView(env.genesis)
  }

  boot(node: SimNode): void {
    this.node = node
    this.clock = new LocalClock(node, this.drift, node.random)
    this.wakeAt = undefined
    this.targets.clear()
    this.mover = new RangeMover({ id: `${this.id}.${node.incarnation}`, random: node.random })
    node.handle<{ range: number; config: GroupConfig }>(GOSSIP_PROTOCOL, (_from, m) => {
      this.view.learn(m.range, m.config)
    })
  }

  get up(): boolean {
    return this.env.sim.isUp(this.id)
  }

  /** Moves `range` out of `from` (its view's configuration unless given) to `members`. */
  start(range: number, members: readonly string[], from = this.view.get(range), retries = 0): boolean {
    if (!this.up || this.mover.moving(range)) return false
    const leaving = this.env.mutant === 'minority' ? { ...from, members: from.members.slice(0, 1) } : from
    let started = false
    this.feed((now) => {
      started = this.mover.start(range, leaving, members, now)
    })
    if (started) {
      this.counts.started++
      this.targets.set(range, { from, members: [...members], retries })
    }
    return started
  }

  private feed(input: (now: number) => void): void {
    if (!this.up) return
    input(this.clock.now())
    for (const a of this.mover.takeActions()) this.execute(a)
    const at = this.mover.nextWakeAt()
    if (at === undefined || (this.wakeAt !== undefined && this.wakeAt <= at)) return
    this.wakeAt = at
    this.clock.at(at, () => {
      if (this.wakeAt === at) this.wakeAt = undefined
      this.feed((now) => this.mover.tick(Math.max(now, at)))
    })
  }

  private execute(a: MoverAction): void {
    if (a.type === 'done') {
      this.done(a.range, a.outcome)
      return
    }
    this.node.request<KvReply>(a.to, KV_PROTOCOL, a.msg).then(
      (reply) => this.feed((now) => this.mover.replied(a.id, this.mutate(reply), now)),
      (err: Error) => this.feed((now) => this.mover.replied(a.id, { t: 'failed', reason: err.message }, now)),
    )
  }

  private mutate(reply: KvReply): KvReply {
    if (this.env.mutant !== 'ignore-transition' || reply.t !== 'sealed') return reply
    return { t: 'sealed', ballot: reply.ballot, entries: reply.entries }
  }

  private done(range: number, outcome: MoveOutcome): void {
    const target = this.targets.get(range)
    this.targets.delete(range)
    this.counts[outcome.t === 'moved' ? 'moved' : outcome.t === 'superseded' ? 'superseded' : 'failed']++
    if (outcome.t === 'moved') this.env.oracle.moved(range, outcome.config, this.id)
    if (outcome.t !== 'failed') {
      if (this.view.learn(range, outcome.config)) {
        this.env.gossip.spread(this.node, this.node.random, range, outcome.config)
      }
      return
    }
    if (target === undefined || target.retries >= MAX_RETRIES) return
    const ms = RETRY_MS.min + this.node.random.next() * (RETRY_MS.max - RETRY_MS.min)
    this.node.clock.setTimer(ms, () => {
      if (this.view.get(range).epoch === target.from.epoch) {
        this.start(range, target.members, target.from, target.retries + 1)
      }
    })
  }
}
