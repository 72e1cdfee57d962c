import { peerIdFromString } from '@libp2p/peer-id'
import { keyForPeer } from '@swarmstore/core'
import {
  type GroupConfig,
  type KvMessage,
  type KvReply,
  type MoveOutcome,
  RANGE_COUNT,
  type RangeCandidate,
  targetMembers,
} from '@swarmstore/kv'
import type { Membership } from '@swarmstore/membership'
import type { Logger } from 'pino'
import type { AcceptorHost } from './acceptor-host.js'
import type { KvEngine } from './engine.js'
import type { RingMap } from './ring.js'

/** How often the ranges this node coordinates are compared with their targets. */
const CHECK_INTERVAL_MS = 500
/** Moves under way at once from this node (each is a few round trips and fsyncs). */
const MAX_CONCURRENT_MOVES = 16
/** A member that came up is a target only after this long (a flapping node moves nothing). */
const SETTLE_MS = 2_000
/** After a move ends, the next check comes this soon (a check scores every range it serves). */
const RECHECK_MS = 100
/** A range sealed with no move under way is moved (finished) by its coordinator after this … */
const STUCK_COORDINATOR_MS = 1_000
/** … and by any other member after this. */
const STUCK_MEMBER_MS = 3_000
/** Ranges fetched from their members at once (a node that missed installs: restarted, frozen). */
const MAX_CONCURRENT_CATCH_UPS = 8
/** Ranges whose install this node missed are looked for this often. */
const CATCH_UP_EVERY_MS = 2_000
/** Sizes of the ranges served here go into the ring map this often (for `kv groups`). */
const SIZES_EVERY_MS = 5_000
/**
 * Ranges this node coordinates are swept for tombstones this often: one is purged on the second
 * sweep that finds it at every member, so 10–20 s after every member stored it.
 */
const SWEEP_EVERY_MS = 10_000
/** Sweeps started per round at most (each lists a range at every member). */
const MAX_SWEEPS = 256
/** A range whose move failed is tried again after this. */
const RETRY_AFTER_MS = 2_000

export interface RangeManagerComponents {
  acceptor: AcceptorHost
  engine: KvEngine
  ring: RingMap
  membership: Pick<Membership, 'members'>
  log: Logger
  /** a request to a remote acceptor */
  ask: (to: string, msg: KvMessage) => Promise<KvReply>
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
  private readonly catching = new Set<number>()
  /** the acceptor's and the ring's change counts at the last catch-up walk that started none */
  private caughtUpAt = ''
  /** targets by range, for the candidate set `targetsFor` */
  private readonly targets = new Map<number, string[]>()
  private targetsFor = ''
  /** when this node next reports the sizes of the ranges it serves to its ring map */
  private sizesAt = 0
  /** when this node next looks for ranges it missed an install of */
  private catchUpAt = 0
  /** when this node next sweeps the ranges it coordinates for tombstones */
  private sweepAt = 0
  /** the acceptor's and the ring's change counts at the last walk */
  private walked = ''
  /** ranges seen sealed here with no move of ours under way, since when */
  private readonly frozenSince = new Map<number, number>()
  private soon: NodeJS.Timeout | undefined

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
    const changed = this.useCandidates(candidates)
    const sizes = now >= this.sizesAt
    if (sizes) this.sizesAt = now + SIZES_EVERY_MS
    if (this.mayAct(changed, now) || sizes) this.scan(now, live, candidates, sizes)
    if (now >= this.catchUpAt) {
      this.catchUpAt = now + CATCH_UP_EVERY_MS
      this.catchUpAll()
    }
    if (now >= this.sweepAt) {
      this.sweepAt = now + SWEEP_EVERY_MS
      this.sweepAll(live)
    }
    for (const [range, u] of this.unfinished) {
      if (this.c.engine.movesUnderWay >= MAX_CONCURRENT_MOVES) break
      if ((this.retryAt.get(range) ?? 0) > now) continue
      this.unfinished.delete(range)
      this.move(range, u.from, u.members)
    }
  }

  /**
   * Whether walking the served ranges could start a move now: the candidates, a served range or the
   * ring changed since the last walk, or something waits on time (moves under way, a failed move's
   * retry, a range seen frozen). An idle node skips the walk (it was a sixth of an idle daemon's
   * CPU); the size report every 5 s walks anyway.
   */
  private mayAct(candidatesChanged: boolean, now: number): boolean {
    const seen = `${this.c.acceptor.kv.changes}/${this.c.ring.changes}`
    const changed = candidatesChanged || seen !== this.walked
    this.walked = seen
    let due = false
    for (const [range, at] of this.retryAt) {
      if (at > now) continue
      this.retryAt.delete(range) // due: this walk retries it
      due = true
    }
    return due || changed || this.c.engine.movesUnderWay > 0 || this.frozenSince.size > 0
  }

  /** Walks the ranges served here: reports sizes, and moves those off their targets or stuck. */
  private scan(now: number, live: Set<string>, candidates: RangeCandidate[], sizes: boolean): void {
    for (const s of this.c.acceptor.kv.served()) {
      if (sizes) this.c.ring.learn(s.range, s.config, s.keys, true)
      if (this.c.engine.movesUnderWay >= MAX_CONCURRENT_MOVES) continue
      if ((this.retryAt.get(s.range) ?? 0) > now) continue
      if ((this.c.ring.get(s.range)?.epoch ?? 0) > s.config.epoch) continue // behind: caught up first
      const coordinator = coordinatorOf(s.config, live) === this.selfId
      const target = this.targetOf(s.range, candidates)
      if (this.stuck(s.range, s.frozen, coordinator, now)) this.move(s.range, s.config, target)
      else if (coordinator && !sameMembers(target, s.config.members)) this.move(s.range, s.config, target)
    }
  }

  /**
   * A range sealed here with no move of it under way here for a while: its mover died or restarted
   * between seal and install (the target may well equal the members, so nothing else would move it).
   * Whoever finds a seal finishes it — a move out of the same configuration re-seals, adopts any
   * transition already accepted, and installs it. The coordinator waits 1 s, other members 3 s.
   */
  private stuck(range: number, frozen: boolean, coordinator: boolean, now: number): boolean {
    if (!frozen || this.c.engine.moving(range)) {
      this.frozenSince.delete(range)
      return false
    }
    const since = this.frozenSince.get(range) ?? now
    this.frozenSince.set(range, since)
    return now - since >= (coordinator ? STUCK_COORDINATOR_MS : STUCK_MEMBER_MS)
  }

  /** Sweeps the unfrozen ranges this node coordinates that hold tombstones here. */
  private sweepAll(live: Set<string>): void {
    const kv = this.c.acceptor.kv
    let started = 0
    for (const s of kv.served()) {
      if (started >= MAX_SWEEPS) break
      if (s.frozen || coordinatorOf(s.config, live) !== this.selfId) continue
      if (kv.tombstones(s.range) > 0 && this.c.engine.sweep(s.range, s.config)) started++
    }
  }

  /**
   * Ranges whose configuration in the ring is newer than what this node's acceptor holds, where
   * this node is (or thinks it is) a member: it missed an install (down or frozen meanwhile). Their
   * chosen transition is fetched from a member of the newer configuration and installed here — a
   * new member then serves from its snapshot, one that left stops answering for the range.
   */
  private catchUpAll(): void {
    const kv = this.c.acceptor.kv
    // nothing new since a walk that found nothing to fetch: nothing to find (a walk of 4,096 ranges)
    const seen = `${kv.changes}/${this.c.ring.changes}`
    if (seen === this.caughtUpAt) return
    for (let range = 0; range < RANGE_COUNT && this.catching.size < MAX_CONCURRENT_CATCH_UPS; range++) {
      const ring = this.c.ring.get(range)
      const mine = kv.configOf(range)
      if (ring === undefined || this.catching.has(range) || (mine?.epoch ?? 0) >= ring.epoch) continue
      if (!ring.members.includes(this.selfId) && !mine?.members.includes(this.selfId)) continue
      this.catching.add(range)
      this.catchUp(range, ring).finally(() => this.catching.delete(range))
    }
    // a catch-up under way may fail and leave its range behind: the next walk looks again
    this.caughtUpAt = this.catching.size === 0 ? seen : ''
  }

  private async catchUp(range: number, config: GroupConfig): Promise<void> {
    // a seal of the epoch before is answered `moved` (with the chosen transition) by a member that
    // arrived from it, changing nothing there
    const seal: KvMessage = {
      t: 'seal',
      range,
      epoch: config.epoch - 1,
      ballot: { counter: 0, proposer: this.selfId },
    }
    for (const to of config.members.filter((m) => m !== this.selfId)) {
      const reply = await this.c.ask(to, seal).catch(() => undefined)
      if (reply?.t !== 'moved') continue
      await this.c.acceptor.request({ t: 'install', range, epoch: config.epoch - 1, value: reply.value })
      this.c.log.info({ range, epoch: config.epoch }, 'kv: caught up with a range move missed')
      return
    }
  }

  /** Targets are computed again only when the candidates changed (then true). */
  private useCandidates(candidates: RangeCandidate[]): boolean {
    const signature = candidates
      .map((c) => c.peerId)
      .sort()
      .join(',')
    if (signature === this.targetsFor) return false
    this.targets.clear()
    this.targetsFor = signature
    return true
  }

  private targetOf(range: number, candidates: RangeCandidate[]): string[] {
    let t = this.targets.get(range)
    if (t === undefined) {
      t = targetMembers(range, candidates, this.replicas)
      this.targets.set(range, t)
    }
    return t
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
    outcome.then((o) => this.moved(range, from, members, o))
  }

  private moved(range: number, from: GroupConfig, members: readonly string[], o: MoveOutcome): void {
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

/** A range's coordinator: the first of its members that is live. */
function coordinatorOf(config: GroupConfig, live: Set<string>): string | undefined {
  return config.members.find((m) => live.has(m))
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
