/**
 * RangeMover: moves ranges between configurations — a dead member replaced, a range handed to a
 * newcomer — as a deterministic state machine (sans-I/O), the coordinator side of the acceptors'
 * seal / commit / install.
 *
 * ## Contract
 *
 * Input — each call passes the current time `now` (ms, any monotonic origin):
 * - `start(range, from, members, now)`: move `range` out of configuration `from` to `members`
 *   (false when a move of that range is already under way here).
 * - `replied(id, reply, now)`: the answer to `send` action `id` (`{t:'failed'}` when none will come).
 * - `tick(now)` whenever `nextWakeAt()` has come.
 *
 * Output — `takeActions()`: `send {id, to, msg}` and `done {range, outcome}` (one per start):
 * `moved {config, missing}` (the move out of `from` is chosen and installed at a majority of the
 * new members; `missing` are those not confirmed), `superseded {config}` (the range had already
 * moved past `from`), or `failed {reason}` (nothing known chosen; or chosen but installed at fewer
 * than a majority — a later move out of `from` finds it and finishes it).
 *
 * ## A move (one Paxos instance per epoch: its value is the transition)
 * 1. seal(b) to the members of `from`; each promises b, freezes the range's keys and answers with
 *    every key's accepted state (and any transition it accepted). A majority of seals means no
 *    key of `from` can be chosen any more, and every state chosen in it is among the answers.
 * 2. The value: the transition accepted under the highest ballot among the answers if any (Paxos:
 *    someone may have had it chosen), else a new one — the next epoch, `members`, and per key the
 *    state accepted under the highest ballot (the same rule a key's own round uses). commit(b,
 *    value) to the members of `from`; a majority accepting it makes it chosen: one successor per
 *    epoch, so a false death cannot produce two configurations.
 * 3. install(value) to the new members; once every one has it, to the members that leave (they
 *    answer `stale` from then on; not waited for — a leaver is often the dead member replaced). A new
 *    member serves the keys from the snapshot.
 * An answer `moved` (a member already installed the chosen transition) skips to step 3 with it.
 */
import type { Random } from '@swarmstore/core'
import { type Ballot, compareBallots } from './ballot.js'
import { checkConfig, type GroupConfig, majority } from './config.js'
import { KvConfigError } from './errors.js'
import {
  type Accepted,
  type KvMessage,
  type KvReply,
  laterAccepted,
  parseKvReply,
  type SnapshotEntry,
  type TransitionValue,
} from './messages.js'

export type MoveOutcome =
  | { readonly t: 'moved'; readonly config: GroupConfig; readonly missing: readonly string[] }
  | { readonly t: 'superseded'; readonly config: GroupConfig }
  | { readonly t: 'failed'; readonly reason: string }

export type MoverAction =
  | { readonly type: 'send'; readonly id: number; readonly to: string; readonly msg: KvMessage }
  | { readonly type: 'done'; readonly range: number; readonly outcome: MoveOutcome }

export interface RangeMoverInit {
  /** unique per process incarnation: move ballots carry it */
  id: string
  random: Random
  /** a phase waits this long for its majority before the move starts over (default 500 ms) */
  phaseTimeoutMs?: number
  /** a move gives up this long after it started (default 5 s) */
  deadlineMs?: number
}

type Phase = 'seal' | 'commit' | 'install' | 'wait'

interface Move {
  readonly range: number
  readonly from: GroupConfig
  readonly members: readonly string[]
  readonly deadline: number
  phase: Phase
  ballot: Ballot
  wakeAt: number
  attempts: number
  ids: number[]
  /** members whose answer in this phase counts (sealed, committed, installed) */
  ok: Set<string>
  refusals: number
  entries: Map<string, Accepted>
  /** the highest floor of purged tombstones' versions the sealed members reported */
  floor: number
  transition: { ballot: Ballot; value: TransitionValue } | undefined
  value: TransitionValue | undefined
}

const DEFAULT_PHASE_TIMEOUT_MS = 500
const DEFAULT_MOVE_DEADLINE_MS = 5_000
const MAX_MOVE_ATTEMPTS = 16
/** A failed attempt waits up to this long (uniformly random) before it starts over. */
const MOVE_BACKOFF_MS = 100

export class RangeMover {
  readonly id: string
  private readonly random: Random
  private readonly phaseTimeoutMs: number
  private readonly deadlineMs: number
  private readonly moves = new Map<number, Move>()
  private readonly inFlight = new Map<number, { move: Move; phase: Phase; to: string }>()
  private queue: MoverAction[] = []
  private maxCounter = 0
  private nextId = 1

  constructor(init: RangeMoverInit) {
    if (init.id.length === 0) throw new KvConfigError('a mover needs an id')
    this.id = init.id
    this.random = init.random
    this.phaseTimeoutMs = init.phaseTimeoutMs ?? DEFAULT_PHASE_TIMEOUT_MS
    this.deadlineMs = init.deadlineMs ?? DEFAULT_MOVE_DEADLINE_MS
  }

  start(range: number, from: GroupConfig, members: readonly string[], now: number): boolean {
    if (this.moves.has(range)) return false
    checkConfig(from)
    checkConfig({ epoch: from.epoch + 1, members })
    const move: Move = {
      range,
      from,
      members: [...members],
      deadline: now + this.deadlineMs,
      phase: 'wait',
      ballot: { counter: 0, proposer: this.id },
      wakeAt: now,
      attempts: 0,
      ids: [],
      ok: new Set(),
      refusals: 0,
      entries: new Map(),
      floor: 0,
      transition: undefined,
      value: undefined,
    }
    this.moves.set(range, move)
    this.seal(move, now)
    return true
  }

  moving(range: number): boolean {
    return this.moves.has(range)
  }

  get active(): number {
    return this.moves.size
  }

  replied(id: number, raw: unknown, now: number): boolean {
    const sent = this.inFlight.get(id)
    if (sent === undefined) return false
    this.inFlight.delete(id)
    const { move, phase, to } = sent
    const reply = parseKvReply(raw)
    if (reply?.t === 'reject') this.maxCounter = Math.max(this.maxCounter, reply.promised.counter)
    if (reply?.t === 'moved' && reply.value.next.epoch === move.from.epoch + 1) {
      if (phase === 'seal' || phase === 'commit') this.install(move, reply.value, now)
      return true
    }
    if (reply?.t === 'stale' && reply.config.epoch > move.from.epoch && phase !== 'install') {
      this.finish(move, { t: 'superseded', config: reply.config })
      return true
    }
    if (reply !== undefined && this.counts(move, phase, reply)) this.answered(move, to, now)
    else this.refused(move, phase, now)
    return true
  }

  tick(now: number): void {
    for (const move of [...this.moves.values()]) {
      if (move.wakeAt > now) continue
      if (move.phase === 'install') this.resend(move, now)
      else if (now >= move.deadline)
        this.finish(move, { t: 'failed', reason: 'no majority before the deadline' })
      else if (move.phase === 'wait') this.seal(move, now)
      else this.retry(move, now)
    }
  }

  nextWakeAt(): number | undefined {
    let t: number | undefined
    for (const m of this.moves.values()) if (t === undefined || m.wakeAt < t) t = m.wakeAt
    return t
  }

  takeActions(): MoverAction[] {
    const out = this.queue
    this.queue = []
    return out
  }

  /** Whether `reply` is the answer this phase waits for (and takes in what it carries). */
  private counts(move: Move, phase: Phase, reply: KvReply): boolean {
    if (phase === 'seal' && reply.t === 'sealed' && compareBallots(reply.ballot, move.ballot) === 0) {
      for (const e of reply.entries) {
        const cur = move.entries.get(e.key)
        if (cur === undefined || laterAccepted(e.accepted, cur)) move.entries.set(e.key, e.accepted)
      }
      move.floor = Math.max(move.floor, reply.floor ?? 0)
      const t = reply.transition
      if (t && (move.transition === undefined || compareBallots(t.ballot, move.transition.ballot) > 0))
        move.transition = t
      return true
    }
    if (phase === 'commit') return reply.t === 'committed' && compareBallots(reply.ballot, move.ballot) === 0
    if (phase === 'install') return reply.t === 'installed'
    return false
  }

  private answered(move: Move, to: string, now: number): void {
    move.ok.add(to)
    const n = move.ok.size
    if (move.phase === 'seal' && n >= majority(move.from.members.length)) this.commit(move, now)
    else if (move.phase === 'commit' && n >= majority(move.from.members.length))
      this.install(move, move.value!, now)
    else if (move.phase === 'install' && n === move.value!.next.members.length) this.leave(move)
  }

  private refused(move: Move, phase: Phase, now: number): void {
    if (phase === 'install') return // resent on the next tick
    move.refusals++
    if (move.refusals > move.from.members.length - majority(move.from.members.length)) this.retry(move, now)
  }

  private seal(move: Move, now: number): void {
    move.attempts++
    move.ballot = { counter: ++this.maxCounter, proposer: this.id }
    move.entries = new Map()
    move.floor = 0
    move.transition = undefined
    const { range, from, ballot } = move
    this.broadcast(move, 'seal', from.members, { t: 'seal', range, epoch: from.epoch, ballot }, now)
  }

  private commit(move: Move, now: number): void {
    move.value = move.transition?.value ?? {
      next: { epoch: move.from.epoch + 1, members: move.members },
      snapshot: snapshotOf(move.entries),
      ...(move.floor > 0 ? { floor: move.floor } : {}),
    }
    const { range, from, ballot, value } = move
    this.broadcast(
      move,
      'commit',
      from.members,
      { t: 'commit', range, epoch: from.epoch, ballot, value },
      now,
    )
  }

  private install(move: Move, value: TransitionValue, now: number): void {
    move.value = value
    const msg: KvMessage = { t: 'install', range: move.range, epoch: move.from.epoch, value }
    this.broadcast(move, 'install', value.next.members, msg, now)
  }

  /**
   * Tells the members that leave (they answer `stale` with the new configuration from then on),
   * without waiting: a leaver is often the dead member being replaced, and the move is complete.
   */
  private leave(move: Move, missing: string[] = []): void {
    const msg: KvMessage = { t: 'install', range: move.range, epoch: move.from.epoch, value: move.value! }
    for (const to of this.leavers(move)) this.queue.push({ type: 'send', id: this.nextId++, to, msg })
    this.moved(move, missing)
  }

  /** Install resends to the new members that have not answered, until the deadline. */
  private resend(move: Move, now: number): void {
    const next = move.value!.next
    if (now >= move.deadline) {
      const missing = next.members.filter((m) => !move.ok.has(m))
      // installed at a majority: the new group serves, so the leavers may stop (else they stay sealed)
      if (next.members.length - missing.length >= majority(next.members.length)) this.leave(move, missing)
      else this.finish(move, { t: 'failed', reason: 'chosen, but installed at fewer than a majority' })
      return
    }
    const msg: KvMessage = { t: 'install', range: move.range, epoch: move.from.epoch, value: move.value! }
    this.send(
      move,
      'install',
      next.members.filter((m) => !move.ok.has(m)),
      msg,
    )
    move.wakeAt = Math.min(move.deadline, now + this.phaseTimeoutMs)
  }

  private leavers(move: Move): string[] {
    const next = move.value!.next.members
    return move.from.members.filter((m) => !next.includes(m))
  }

  private retry(move: Move, now: number): void {
    this.forget(move)
    if (now >= move.deadline || move.attempts >= MAX_MOVE_ATTEMPTS) {
      this.finish(move, {
        t: 'failed',
        reason: `no majority of the old members in ${move.attempts} attempts`,
      })
      return
    }
    move.phase = 'wait'
    move.wakeAt = Math.min(move.deadline, now + this.random.next() * MOVE_BACKOFF_MS)
  }

  private moved(move: Move, missing: string[] = []): void {
    this.finish(move, { t: 'moved', config: move.value!.next, missing })
  }

  private broadcast(move: Move, phase: Phase, to: readonly string[], msg: KvMessage, now: number): void {
    this.forget(move)
    move.phase = phase
    move.ok = new Set()
    move.refusals = 0
    this.send(move, phase, to, msg)
    move.wakeAt = Math.min(move.deadline, now + this.phaseTimeoutMs)
  }

  private send(move: Move, phase: Phase, to: readonly string[], msg: KvMessage): void {
    for (const member of to) {
      const id = this.nextId++
      move.ids.push(id)
      this.inFlight.set(id, { move, phase, to: member })
      this.queue.push({ type: 'send', id, to: member, msg })
    }
  }

  private finish(move: Move, outcome: MoveOutcome): void {
    this.forget(move)
    this.moves.delete(move.range)
    this.queue.push({ type: 'done', range: move.range, outcome })
  }

  private forget(move: Move): void {
    for (const id of move.ids) this.inFlight.delete(id)
    move.ids = []
  }
}

/** Every key's state accepted under the highest ballot (keys never written carry nothing to move). */
function snapshotOf(entries: Map<string, Accepted>): SnapshotEntry[] {
  const out: SnapshotEntry[] = []
  for (const [key, a] of entries) if (a.state.version > 0) out.push({ key, state: a.state })
  return out
}
