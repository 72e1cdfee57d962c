import { peerIdFromString } from '@libp2p/peer-id'
import { keyForPeer } from '@swarmstore/core'
import { type GroupConfig, type MoveOutcome, type RangeCandidate, targetMembers } from '@swarmstore/kv'
import type { Membership } from '@swarmstore/membership'
import type { Logger } from 'pino'
import type { AcceptorHost } from './acceptor-host.js'
import type { KvEngine } from './engine.js'
import type { RingMap } from './ring.js'

/** How often the ranges this node coordinates are compared with their targets. */
const CHECK_INTERVAL_MS = 500
/** Moves under way at once from this node (each is a few round trips and fsyncs). */
const MAX_CONCURRENT_MOVES = 32
/** A member that came up is a target only after this long (a flapping node moves nothing). */
const SETTLE_MS = 2_000
/** After a move ends, the next check comes this soon (a check scores every range it serves). */
const RECHECK_MS = 100
/** A range whose move failed is tried again after this. */
const RETRY_AFTER_MS = 2_000

export interface RangeManagerComponents {
  acceptor: AcceptorHost
  engine: KvEngine
  ring: RingMap
  membership: Pick<Membership, 'members'>
  log: Logger
}

export interface RangeManagerInit {
  selfId: string
  replicas: number
}

/**
 * Keeps the ranges this node coordinates on their target members: every half second, for each
 * range it serves where it is the first live member of the configuration, it compares the
 * members with the target (rendezvous hashing over the live members, `targetMembers`) and starts
 * a move when they differ — a dead member replaced, a range handed to a newcomer. Members are
 * dropped only once SWIM declares them dead (a suspect still counts), and join the targets once up
 * for SETTLE_MS. Nodes with different views may both start a move of one range: the moves' own
 * consensus lets one transition per epoch be chosen; the other ends superseded.
 */
export class RangeManager {
  private readonly c: RangeManagerComponents
  private readonly selfId: string
  private readonly replicas: number
  private readonly keys = new Map<string, RangeCandidate>()
  private readonly retryAt = new Map<number, number>()
  /** moves chosen but not confirmed installed at every new member: finished later */
  private readonly unfinished = new Map<number, { from: GroupConfig; members: readonly string[] }>()
  private timer: NodeJS.Timeout | undefined
  private soon: NodeJS.Timeout | undefined
  moves = 0
  readonly outcomes = { moved: 0, failed: 0, superseded: 0 }

  constructor(components: RangeManagerComponents, init: RangeManagerInit) {
    this.c = components
    this.selfId = init.selfId
    this.replicas = init.replicas
  }

  start(): void {
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    clearTimeout(this.soon)
  }

  private check(): void {
    const now = Date.now() // io-edge
    const { live, candidates } = this.view(now)
    for (const s of this.c.acceptor.kv.served()) {
      this.c.ring.learn(s.range, s.config, s.keys, true)
      if (this.c.engine.movesUnderWay >= MAX_CONCURRENT_MOVES) continue
      if ((this.retryAt.get(s.range) ?? 0) > now) continue
      const coordinator = s.config.members.find((m) => live.has(m))
      if (coordinator !== this.selfId) continue
      const target = targetMembers(s.range, candidates, this.replicas)
      if (!sameMembers(target, s.config.members)) this.move(s.range, s.config, target)
    }
    for (const [range, u] of this.unfinished) {
      if (this.c.engine.movesUnderWay >= MAX_CONCURRENT_MOVES) break
      if ((this.retryAt.get(range) ?? 0) > now) continue
      this.unfinished.delete(range)
      this.move(range, u.from, u.members)
    }
  }

  /** Live members (alive, or suspect but not yet dead) and the settled ones that may be targets. */
  private view(now: number): { live: Set<string>; candidates: RangeCandidate[] } {
    const live = new Set<string>([this.selfId])
    const candidates: RangeCandidate[] = [this.candidate(this.selfId)]
    for (const m of this.c.membership.members(['alive', 'suspect'])) {
      if (m.id === this.selfId) continue
      live.add(m.id)
      if (m.state === 'suspect' || now - m.since >= SETTLE_MS) candidates.push(this.candidate(m.id))
    }
    return { live, candidates }
  }

  private candidate(id: string): RangeCandidate {
    let c = this.keys.get(id)
    if (c === undefined) {
      c = { peerId: id, key: keyForPeer(peerIdFromString(id)) }
      this.keys.set(id, c)
    }
    return c
  }

  private move(range: number, from: GroupConfig, members: readonly string[]): void {
    const outcome = this.c.engine.move(range, from, members)
    if (outcome === undefined) return
    this.moves++
    outcome.then((o) => this.moved(range, from, members, o))
  }

  private moved(range: number, from: GroupConfig, members: readonly string[], o: MoveOutcome): void {
    this.outcomes[o.t]++
    if ((this.outcomes.moved + this.outcomes.failed + this.outcomes.superseded) % 200 === 0)
      this.c.log.info(
        { ...this.outcomes, reason: o.t === 'failed' ? o.reason : undefined, at: Date.now() },
        'kv moves',
      )
    // a finished move frees a slot: the next range need not wait for the next check
    this.soon ??= setTimeout(() => {
      this.soon = undefined
      this.check()
    }, RECHECK_MS)
    if (o.t === 'moved' && o.missing.length === 0) return
    this.retryAt.set(range, Date.now() + RETRY_AFTER_MS) // io-edge
    if (o.t === 'moved') this.unfinished.set(range, { from, members })
    else if (o.t === 'failed')
      this.c.log.debug({ range, reason: o.reason }, 'kv: range move failed; retrying')
  }
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
