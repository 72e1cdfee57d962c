import { randomBytes } from 'node:crypto'
import { SystemRandom } from '@swarmstore/core'
import {
  type GroupConfig,
  type KvAnswer,
  type KvMessage,
  KvProposer,
  type KvReply,
  type KvRequest,
  type MoveOutcome,
  type MoverAction,
  type ProposerAction,
  RangeMover,
  type SweeperAction,
  type Target,
  TombstoneSweeper,
} from '@swarmstore/kv'
import type { AcceptorHost } from './acceptor-host.js'

/** How a message reaches a remote acceptor (the KV protocol's `acc` request). */
export type SendToAcceptor = (to: string, msg: KvMessage) => Promise<KvReply>

export interface KvEngineComponents {
  selfId: string
  acceptor: AcceptorHost
  sendRemote: SendToAcceptor
  /** a newer configuration heard of (a redirect or a finished move): for the ring map */
  learned: (range: number, config: GroupConfig) => void
}

/**
 * The proposer, the mover and the tombstone sweeper of this node, driven as their contracts say: their `send` actions go
 * to the acceptor here directly (no network for our own vote) or over the KV protocol, answers go
 * back in with the time, and one timer wakes them at the earliest `nextWakeAt`. Each instance has
 * an id unique to this process incarnation (peer id + random nonce), as ballots require.
 */
export class KvEngine {
  private readonly selfId: string
  private readonly acceptor: AcceptorHost
  private readonly sendRemote: SendToAcceptor
  private readonly learned: KvEngineComponents['learned']
  private readonly proposer: KvProposer
  private readonly mover: RangeMover
  private readonly sweeper = new TombstoneSweeper()
  private readonly ops = new Map<number, (a: KvAnswer) => void>()
  private readonly moves = new Map<number, (o: MoveOutcome) => void>()
  private nextOp = 1
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity
  private stopped = false

  constructor(components: KvEngineComponents) {
    this.selfId = components.selfId
    this.acceptor = components.acceptor
    this.sendRemote = components.sendRemote
    this.learned = components.learned
    const id = `${components.selfId}.${randomBytes(6).toString('hex')}`
    const random = new SystemRandom()
    this.proposer = new KvProposer({ id, random })
    this.mover = new RangeMover({ id, random })
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    const down: KvAnswer = { t: 'unavailable', reason: 'the daemon is stopping', acceptSent: true }
    for (const done of this.ops.values()) done(down)
    for (const done of this.moves.values()) done({ t: 'failed', reason: 'the daemon is stopping' })
    this.ops.clear()
    this.moves.clear()
  }

  propose(req: KvRequest, target: Target): Promise<KvAnswer> {
    if (this.stopped)
      return Promise.resolve({ t: 'unavailable', reason: 'the daemon is stopping', acceptSent: false })
    const op = this.nextOp++
    const answer = new Promise<KvAnswer>((resolve) => this.ops.set(op, resolve))
    this.proposer.submit(op, req, target, now())
    this.pump()
    return answer
  }

  /** Moves `range` out of `from` to `members`; undefined when a move of it is already under way. */
  move(range: number, from: GroupConfig, members: readonly string[]): Promise<MoveOutcome> | undefined {
    if (this.stopped || !this.mover.start(range, from, members, now())) return undefined
    const outcome = new Promise<MoveOutcome>((resolve) => this.moves.set(range, resolve))
    this.pump()
    return outcome
  }

  /**
   * Sweeps `range` for tombstones every member holds (sweeper.ts); false when a sweep of it is
   * under way. Settles it hands back run as full-round gets whose answers nobody awaits.
   */
  sweep(range: number, config: GroupConfig): boolean {
    if (this.stopped || !this.sweeper.sweep(range, config, now())) return false
    this.pump()
    return true
  }

  moving(range: number): boolean {
    return this.mover.moving(range)
  }

  get movesUnderWay(): number {
    return this.mover.active
  }

  /** A configuration learned elsewhere (gossip): requests on that range go there. */
  adopt(range: number, config: GroupConfig): void {
    this.proposer.setConfig(range, config, now())
    this.pump()
  }

  private pump(): void {
    if (this.stopped) return
    for (const a of this.proposer.takeActions()) this.executeProposer(a)
    for (const a of this.mover.takeActions()) this.executeMover(a)
    for (const a of this.sweeper.takeActions()) this.executeSweeper(a)
    this.schedule()
  }

  private executeProposer(a: ProposerAction): void {
    if (a.type === 'send') {
      this.deliver(a.to, a.msg, (reply) => this.proposer.replied(a.id, reply, now()))
    } else if (a.type === 'config') {
      this.learned(a.range, a.config)
    } else {
      const done = this.ops.get(a.op)
      this.ops.delete(a.op)
      done?.(a.answer)
    }
  }

  private executeMover(a: MoverAction): void {
    if (a.type === 'send') {
      this.deliver(a.to, a.msg, (reply) => this.mover.replied(a.id, reply, now()))
      return
    }
    if (a.outcome.t !== 'failed') this.learned(a.range, a.outcome.config)
    const done = this.moves.get(a.range)
    this.moves.delete(a.range)
    done?.(a.outcome)
  }

  private executeSweeper(a: SweeperAction): void {
    if (a.type === 'send') this.deliver(a.to, a.msg, (reply) => this.sweeper.replied(a.id, reply, now()))
    else if (a.type === 'settle') {
      const target = { range: a.range, config: a.config }
      this.proposer.submit(this.nextOp++, { t: 'get', key: a.key }, target, now(), { fullRound: true })
    }
  }

  private deliver(
    to: string,
    msg: KvMessage,
    back: (reply: KvReply | { t: 'failed'; reason: string }) => void,
  ): void {
    const reply = to === this.selfId ? this.acceptor.request(msg) : this.sendRemote(to, msg)
    reply.then(
      (r) => {
        back(r)
        this.pump()
      },
      (err: Error) => {
        back({ t: 'failed', reason: err.message })
        this.pump()
      },
    )
  }

  private schedule(): void {
    const p = this.proposer.nextWakeAt()
    const m = this.mover.nextWakeAt()
    const w = this.sweeper.nextWakeAt()
    const at = Math.min(p ?? Infinity, m ?? Infinity, w ?? Infinity)
    if (at === Infinity || at >= this.timerAt) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => this.wake(), Math.max(0, at - now()))
  }

  private wake(): void {
    this.timerAt = Infinity
    this.timer = undefined
    const t = now()
    this.proposer.tick(t)
    this.mover.tick(t)
    this.sweeper.tick(t)
    this.pump()
  }
}

/** The engine's clock: monotonic milliseconds (the state machines only compare and add). */
function now(): number {
  return performance.now() // io-edge
}
