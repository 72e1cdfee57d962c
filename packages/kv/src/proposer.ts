/**
 * KvProposer: the proposer side of CASPaxos (Rystsov 2018) — a leaderless Paxos register per key —
 * for the requests of one node, as a deterministic state machine (sans-I/O). Any node may propose
 * for any key; there is no leader to elect or lose.
 *
 * ## Contract
 *
 * Input — each call passes the current time `now` (ms, any monotonic origin):
 * - `submit(op, request, now)`: a client request (`put`, `get`, `delete`, `cas`); `op` names it
 *   and must be unique among requests in flight.
 * - `replied(id, reply, now)`: the answer to `send` action `id` — at most once per id. A request
 *   that failed outright may be answered `{t:'failed'}` (faster than waiting); one that is never
 *   answered is covered by the attempt timeout. Replies to an attempt already over are ignored
 *   (false is returned).
 * - `tick(now)` whenever `nextWakeAt()` has come.
 * - `setConfig(config, now)`: the group changed (a `stale` reply with a newer epoch does it too).
 *
 * Output — `takeActions()` after any input: `send {id, to, msg}` (a prepare or accept for one
 * acceptor) and `done {op, answer}` (exactly one per submitted op). `nextWakeAt()` is when to call
 * `tick` next (undefined: nothing waits). Nothing here reads a clock, sets a timer, awaits I/O or
 * draws a random number of its own (randomness for backoff is the injected `Random`).
 *
 * ## A round (one attempt)
 * 1. prepare(b) to every member, b a fresh ballot above every counter seen;
 * 2. on promises from `prepareQuorum` members: take the state accepted under the highest ballot
 *    among them (absent at version 0 if none), apply the request's change function to it
 *    (register.ts; a get is the identity) and send accept(b, new state) to every member;
 * 3. on `accepted` from `acceptQuorum` members: answer. A read is a full round too, so it is
 *    linearizable: it makes what it returns chosen before it returns it.
 * An attempt that cannot reach its quorum (refusals from more than n − q members, or no quorum
 * within `attemptTimeoutMs`) starts over with a higher ballot after a random backoff, up to
 * `maxAttempts`, until `deadlineMs` after submit; then the answer is `unavailable`, with
 * `acceptSent` saying whether the request may still take effect (indeterminate) or surely not.
 *
 * ## Retrying without taking effect twice
 * Once an accept has left, its state may become part of the key's history even though the attempt
 * failed: a later round of anybody may pick it up. Re-applying the change on retry would then make
 * one put two effects. So every effect is tagged with its operation (`${id}#${op}`) in the state's
 * effect log (register.ts), and a retry first looks there for the versions its own accepts would
 * have made: found — the request already took effect at that version, and the retry only makes the
 * state it read chosen before answering ok at that version; not made by it — it applies the change
 * anew; scrolled out of the log — the outcome is unknown and the answer is `unavailable`
 * (acceptSent). Paxos makes a key's history a single chain, so at most one of a request's
 * accepts ever joins it.
 *
 * ## Invariants
 * - Ballots this proposer makes strictly increase and are unique to it (its id breaks ties; the id
 *   must be unique per process incarnation).
 * - An answer other than `unavailable`/`invalid` is given only after `acceptQuorum` members made
 *   its state durable; with quorums that intersect (prepareQuorum + acceptQuorum > members, the
 *   default majorities) every later round reads that state or one made from it.
 */
import type { Random } from '@swarmstore/core'
import { type Ballot, ballotToString, compareBallots, nextBallot } from './ballot.js'
import { checkConfig, type GroupConfig, majority } from './config.js'
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_ATTEMPTS,
  MAX_PROPOSER_ID_BYTES,
} from './constants.js'
import { KvConfigError, type KvInputError, type KvInputErrorCode } from './errors.js'
import { checkExpect, checkKey, checkValue, utf8Length } from './limits.js'
import { type Accepted, type KvMessage, type KvReply, laterAccepted, parseKvReply } from './messages.js'
import {
  ABSENT,
  applyRequest,
  type Change,
  effectAt,
  type KvRequest,
  type KvState,
  oldestLogged,
  type RegisterAnswer,
} from './register.js'

export type KvAnswer =
  | RegisterAnswer
  /** No quorum in time. `acceptSent`: the request may still take effect (else it surely did not). */
  | { readonly t: 'unavailable'; readonly reason: string; readonly acceptSent: boolean }
  /** Refused before anything was sent. */
  | { readonly t: 'invalid'; readonly code: KvInputErrorCode; readonly message: string }

/** What `replied` takes: an acceptor's reply, or the adapter's word that none will come. */
export type ProposerReply = KvReply | { readonly t: 'failed'; readonly reason: string }

export type ProposerAction =
  /** `op`: the request this message serves (for tracing; replies are matched by `id`) */
  | {
      readonly type: 'send'
      readonly id: number
      readonly to: string
      readonly msg: KvMessage
      readonly op: number
    }
  | { readonly type: 'done'; readonly op: number; readonly answer: KvAnswer }
  /** An acceptor said the range moved on: its newer configuration (for the node's ring map). */
  | { readonly type: 'config'; readonly range: number; readonly config: GroupConfig }

/** Where a request goes: the key's range and the configuration the caller knows for it. */
export interface Target {
  readonly range: number
  readonly config: GroupConfig
}

export interface KvProposerInit {
  /** Unique per process incarnation (e.g. peer id + a boot nonce); ballots and effect tags carry it. */
  id: string
  /** Draws the backoff delays. */
  random: Random
  /** default DEFAULT_DEADLINE_MS (2 s) */
  deadlineMs?: number
  /** default DEFAULT_ATTEMPT_TIMEOUT_MS */
  attemptTimeoutMs?: number
  /** default DEFAULT_BACKOFF_BASE_MS */
  backoffBaseMs?: number
  /** default DEFAULT_BACKOFF_MAX_MS */
  backoffMaxMs?: number
  /** default DEFAULT_MAX_ATTEMPTS */
  maxAttempts?: number
  /** Promises needed; default a majority of the members. */
  prepareQuorum?: number
  /**
   * Acceptances needed; default a majority. Safe only when prepareQuorum + acceptQuorum exceeds
   * the member count: the knob exists so a test can build the broken variant and see it caught.
   */
  acceptQuorum?: number
}

export interface KvProposerStats {
  inFlight: number
  attempts: number
  retries: number
  /** retries that found their own earlier accept in the key's history */
  recovered: number
  unavailable: number
}

type Phase = 'peek' | 'prepare' | 'accept' | 'wait'

interface Fast {
  readonly ballot: Ballot
  readonly state: KvState
}

/** Keys remembered for one-round-trip changes (the oldest forgotten first). */
const MAX_FAST_KEYS = 10_000

function fastKey(round: { range: number; config: GroupConfig; req: KvRequest }): string {
  return `${round.range}:${round.config.epoch}:${round.req.key}`
}

interface Round {
  readonly op: number
  readonly req: KvRequest
  readonly tag: string
  readonly deadline: number
  readonly range: number
  config: GroupConfig
  attempts: number
  phase: Phase
  /** attempt timeout (prepare/accept) or end of backoff (wait) */
  wakeAt: number
  /** when the current phase's messages left */
  phaseAt: number
  ballot: Ballot
  ids: number[]
  promises: number
  highest: Accepted | undefined
  acks: number
  refusals: number
  /** some acceptor had promised a higher ballot (contention, not unreachability) */
  beaten: boolean
  change: Change | undefined
  /** the versions this request's effecting accepts would have made */
  tried: number[]
  acceptSent: boolean
  /** a get's quorum read: acceptors that answered, by the accepted ballot they showed */
  peeks: Map<string, { count: number; accepted: Accepted | undefined }>
}

export class KvProposer {
  readonly id: string
  private readonly random: Random
  private readonly deadlineMs: number
  private readonly attemptTimeoutMs: number
  private readonly backoffBaseMs: number
  private readonly backoffMaxMs: number
  private readonly maxAttempts: number
  private readonly quorums: { prepare?: number; accept?: number }
  private readonly rounds = new Map<number, Round>()
  /** keys this proposer changed last, with the ballot promised to it next and the state chosen */
  private readonly fast = new Map<string, Fast>()
  private readonly inFlight = new Map<number, { round: Round; phase: Phase }>()
  private queue: ProposerAction[] = []
  private maxCounter = 0
  private nextId = 1
  /** average time from a phase's messages leaving to its quorum (EWMA), the backoff unit's base */
  private phaseMs: number | undefined
  private readonly counts = { attempts: 0, retries: 0, recovered: 0, unavailable: 0 }

  constructor(init: KvProposerInit) {
    const idBytes = utf8Length(init.id)
    if (idBytes === undefined || idBytes === 0 || idBytes > MAX_PROPOSER_ID_BYTES) {
      throw new KvConfigError(`a proposer id is 1 to ${MAX_PROPOSER_ID_BYTES} bytes of UTF-8`)
    }
    this.id = init.id
    this.random = init.random
    this.deadlineMs = init.deadlineMs ?? DEFAULT_DEADLINE_MS
    this.attemptTimeoutMs = init.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS
    this.backoffBaseMs = init.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS
    this.backoffMaxMs = init.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS
    this.maxAttempts = init.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    this.quorums = {
      ...(init.prepareQuorum !== undefined ? { prepare: init.prepareQuorum } : {}),
      ...(init.acceptQuorum !== undefined ? { accept: init.acceptQuorum } : {}),
    }
  }

  /**
   * `fullRound`: a get that skips the peek and accepts what it reads at every member that answers
   * (a sweep's settle: members that disagree on a key come to hold one state under one ballot).
   */
  submit(op: number, req: KvRequest, target: Target, now: number, opts: { fullRound?: boolean } = {}): void {
    if (this.rounds.has(op)) throw new KvConfigError(`operation ${op} is already in flight`)
    this.checkGroup(target.config)
    const error = checkRequest(req)
    if (error) {
      this.queue.push({
        type: 'done',
        op,
        answer: { t: 'invalid', code: error.code, message: error.message },
      })
      return
    }
    const round: Round = {
      op,
      req,
      tag: `${this.id}#${op}`,
      deadline: now + this.deadlineMs,
      range: target.range,
      config: target.config,
      attempts: 0,
      phase: 'wait',
      wakeAt: now,
      phaseAt: now,
      ballot: { counter: 0, proposer: this.id },
      ids: [],
      promises: 0,
      highest: undefined,
      acks: 0,
      refusals: 0,
      beaten: false,
      change: undefined,
      tried: [],
      acceptSent: false,
      peeks: new Map(),
    }
    this.rounds.set(op, round)
    const fast = req.t === 'get' ? undefined : this.takeFast(round)
    if (req.t === 'get' && opts.fullRound === true) this.prepare(round, now)
    else if (req.t === 'get') this.peek(round, now)
    else if (fast) this.acceptAt(round, fast, now)
    else this.prepare(round, now)
  }

  replied(id: number, raw: ProposerReply, now: number): boolean {
    const sent = this.inFlight.get(id)
    if (sent === undefined) return false
    this.inFlight.delete(id)
    const { round, phase } = sent
    const reply: ProposerReply =
      raw.t === 'failed' ? raw : (parseKvReply(raw) ?? { t: 'failed', reason: 'malformed' })
    this.observe(reply)
    if (reply.t === 'stale' && reply.config.epoch > round.config.epoch) {
      this.moved(round, reply.config, now)
      return true
    }
    if (phase === 'peek') {
      this.peeked(round, reply, now)
      return true
    }
    if (phase === 'prepare' && reply.t === 'promise' && compareBallots(reply.ballot, round.ballot) === 0) {
      round.promises++
      const a = reply.accepted
      if (a && (round.highest === undefined || laterAccepted(a, round.highest))) round.highest = a
      if (round.promises >= this.prepareQuorum(round)) {
        this.timePhase(round, now)
        this.accept(round, now)
      }
      return true
    }
    if (phase === 'accept' && reply.t === 'accepted' && compareBallots(reply.ballot, round.ballot) === 0) {
      round.acks++
      if (round.acks >= this.acceptQuorum(round)) {
        this.timePhase(round, now)
        this.keepFast(round)
        this.finish(round, round.change!.answer)
      }
      return true
    }
    round.refusals++
    if (reply.t === 'reject') round.beaten = true
    const quorum = phase === 'prepare' ? this.prepareQuorum(round) : this.acceptQuorum(round)
    if (round.refusals > round.config.members.length - quorum) this.retry(round, now)
    return true
  }

  tick(now: number): void {
    for (const round of [...this.rounds.values()]) {
      if (round.wakeAt > now) continue
      if (now >= round.deadline) this.giveUp(round, 'no quorum before the deadline')
      else if (round.phase === 'wait' || round.phase === 'peek') this.prepare(round, now)
      else this.retry(round, now)
    }
  }

  /**
   * The range moved to `config` (a newer epoch): every request on it adopts it, and those under way
   * start over there at once (the move ended their attempt: no backoff needed).
   */
  setConfig(range: number, config: GroupConfig, now: number): void {
    for (const round of [...this.rounds.values()]) {
      if (round.range !== range || config.epoch <= round.config.epoch) continue
      if (!this.adopt(round, config)) continue
      if (round.phase !== 'wait') this.prepare(round, now)
    }
  }

  takeActions(): ProposerAction[] {
    const out = this.queue
    this.queue = []
    return out
  }

  nextWakeAt(): number | undefined {
    let t: number | undefined
    for (const r of this.rounds.values()) if (t === undefined || r.wakeAt < t) t = r.wakeAt
    return t
  }

  stats(): KvProposerStats {
    return { inFlight: this.rounds.size, ...this.counts }
  }

  private prepareQuorum(round: Round): number {
    return Math.min(this.quorums.prepare ?? Infinity, majority(round.config.members.length))
  }

  private acceptQuorum(round: Round): number {
    return Math.min(this.quorums.accept ?? Infinity, majority(round.config.members.length))
  }

  /** One redirect: the round adopts the newer configuration and the node's map hears of it. */
  private moved(round: Round, config: GroupConfig, now: number): void {
    this.queue.push({ type: 'config', range: round.range, config })
    if (this.adopt(round, config)) this.prepare(round, now)
  }

  private adopt(round: Round, config: GroupConfig): boolean {
    try {
      checkConfig(config)
    } catch {
      return false
    }
    this.forget(round)
    round.config = config
    return true
  }

  private checkGroup(config: GroupConfig): void {
    checkConfig(config)
    for (const q of [this.quorums.prepare, this.quorums.accept]) {
      if (q !== undefined && !(Number.isInteger(q) && q >= 1)) {
        throw new KvConfigError(`a quorum must be an integer ≥ 1, got ${q}`)
      }
    }
  }

  /** Counters seen in replies: the next ballot goes above all of them. */
  private observe(reply: ProposerReply): void {
    const b =
      reply.t === 'reject' ? reply.promised : reply.t === 'promise' ? reply.accepted?.ballot : undefined
    if (b !== undefined && b.counter > this.maxCounter) this.maxCounter = b.counter
  }

  /**
   * A get first reads without writing: `peek` to every member. If a majority shows the same
   * accepted ballot (not the zero ballot of a snapshot, whose states may differ), that state is
   * chosen, and no later one was chosen before the get began (its majority would overlap ours and
   * show it), so the get answers from it: one round trip, no fsync. Otherwise a full round.
   */
  private peek(round: Round, now: number): void {
    round.peeks = new Map()
    round.refusals = 0
    const { range, config } = round
    this.broadcast(round, 'peek', { t: 'peek', range, epoch: config.epoch, key: round.req.key }, now)
    round.wakeAt = Math.min(round.deadline, now + this.attemptTimeoutMs)
  }

  private peeked(round: Round, reply: ProposerReply, now: number): void {
    const q = majority(round.config.members.length)
    if (reply.t !== 'peeked' || (reply.accepted !== undefined && reply.accepted.ballot.counter === 0)) {
      round.refusals++
    } else {
      const id = reply.accepted === undefined ? '' : ballotToString(reply.accepted.ballot)
      const seen = round.peeks.get(id) ?? { count: 0, accepted: reply.accepted }
      seen.count++
      round.peeks.set(id, seen)
      if (seen.count >= q) {
        this.finish(round, applyRequest(seen.accepted?.state ?? ABSENT, round.req, round.tag).answer)
        return
      }
    }
    let answered = round.refusals
    let best = 0
    for (const p of round.peeks.values()) {
      answered += p.count
      best = Math.max(best, p.count)
    }
    // no ballot can reach a majority any more: read with a full round instead
    if (best + (round.config.members.length - answered) < q) this.prepare(round, now)
  }

  private prepare(round: Round, now: number): void {
    this.counts.attempts++
    round.attempts++
    round.ballot = { counter: ++this.maxCounter, proposer: this.id }
    round.promises = 0
    round.highest = undefined
    round.refusals = 0
    round.beaten = false
    const { key } = round.req
    const { range, config } = round
    this.broadcast(
      round,
      'prepare',
      { t: 'prepare', range, epoch: config.epoch, key, ballot: round.ballot },
      now,
    )
    round.wakeAt = Math.min(round.deadline, now + this.attemptTimeoutMs)
  }

  private accept(round: Round, now: number): void {
    const base = round.highest?.state ?? ABSENT
    const change = this.changeFor(round, base)
    if (change === undefined) {
      this.giveUp(round, 'outcome unknown: its earlier accept scrolled out of the effect log')
      return
    }
    round.change = change
    round.acks = 0
    round.refusals = 0
    round.acceptSent = true
    const msg = {
      t: 'accept',
      range: round.range,
      epoch: round.config.epoch,
      key: round.req.key,
      ballot: round.ballot,
      state: change.state,
      next: true,
    }
    this.broadcast(round, 'accept', msg as KvMessage, now)
    round.wakeAt = Math.min(round.deadline, now + this.attemptTimeoutMs)
  }

  /**
   * One round trip for the next change of a key this proposer just changed: the majority that
   * accepted its last state under b also promised b+1 to it (`next`), so no other state can have
   * been chosen since, unless a higher ballot came — which then refuses this accept, and the
   * request falls back to a full round. The entry is taken: one request at a time uses it.
   */
  private takeFast(round: Round): Fast | undefined {
    const k = fastKey(round)
    const f = this.fast.get(k)
    this.fast.delete(k)
    return f
  }

  private acceptAt(round: Round, fast: Fast, now: number): void {
    this.counts.attempts++
    round.attempts++
    round.ballot = fast.ballot
    round.highest = { ballot: fast.ballot, state: fast.state }
    this.accept(round, now)
  }

  /**
   * A majority accepted under round.ballot and promised the next one: remember it for this key —
   * unless this proposer already made (or saw) a counter that high: another request, maybe on this
   * very key, may be using that ballot, and two states under one ballot would break Paxos.
   */
  private keepFast(round: Round): void {
    const ballot = nextBallot(round.ballot)
    if (this.maxCounter >= ballot.counter) return
    // fresh ballots of this proposer go above the one kept, so it is never made twice
    this.maxCounter = ballot.counter
    this.fast.set(fastKey(round), { ballot, state: round.change!.state })
    if (this.fast.size > MAX_FAST_KEYS) this.fast.delete(this.fast.keys().next().value!)
  }

  /**
   * The change this attempt proposes on `base`: the request applied anew, or — when one of its own
   * earlier accepts is in base's history — base unchanged with that effect's answer; undefined when
   * the log no longer tells.
   */
  private changeFor(round: Round, base: KvState): Change | undefined {
    const seen = round.tried.filter((v) => v <= base.version)
    const mine = seen.find((v) => effectAt(base, v)?.by === round.tag)
    if (mine !== undefined) {
      this.counts.recovered++
      return { state: base, answer: { t: 'ok', version: mine }, effect: false }
    }
    if (seen.some((v) => v < oldestLogged(base))) return undefined
    const change = applyRequest(base, round.req, round.tag)
    if (change.effect) round.tried.push(change.state.version)
    return change
  }

  private broadcast(round: Round, phase: Phase, msg: KvMessage, now: number): void {
    this.forget(round)
    round.phase = phase
    round.phaseAt = now
    for (const to of round.config.members) {
      const id = this.nextId++
      round.ids.push(id)
      this.inFlight.set(id, { round, phase })
      this.queue.push({ type: 'send', id, to, msg, op: round.op })
    }
  }

  /** This attempt failed: back off and start over, or give up at the deadline or attempt bound. */
  private retry(round: Round, now: number): void {
    this.forget(round)
    const why = round.beaten ? 'contention: higher ballots kept winning' : 'no quorum of the group answered'
    if (now >= round.deadline || round.attempts >= this.maxAttempts) {
      const when = now >= round.deadline ? 'before the deadline' : `in ${round.attempts} attempts`
      this.giveUp(round, `${why} ${when}`)
      return
    }
    this.counts.retries++
    // an attempt that has lost more often waits less: the oldest request wins the next duel
    const unit = Math.max(this.backoffBaseMs, 2 * (this.phaseMs ?? 0))
    const cap = Math.min(this.backoffMaxMs, unit * Math.max(1, 4 / round.attempts))
    round.phase = 'wait'
    round.wakeAt = Math.min(round.deadline, now + this.random.next() * cap)
  }

  private timePhase(round: Round, now: number): void {
    const ms = now - round.phaseAt
    this.phaseMs = this.phaseMs === undefined ? ms : this.phaseMs + 0.2 * (ms - this.phaseMs)
  }

  private giveUp(round: Round, reason: string): void {
    this.counts.unavailable++
    this.finish(round, { t: 'unavailable', reason, acceptSent: round.acceptSent })
  }

  private finish(round: Round, answer: KvAnswer): void {
    this.forget(round)
    this.rounds.delete(round.op)
    this.queue.push({ type: 'done', op: round.op, answer })
  }

  /** Replies to the attempt's messages are no longer wanted. */
  private forget(round: Round): void {
    for (const id of round.ids) this.inFlight.delete(id)
    round.ids = []
  }
}

function checkRequest(req: KvRequest): KvInputError | undefined {
  const keyError = checkKey(req.key)
  if (keyError) return keyError
  if (req.t === 'put' || req.t === 'cas') {
    const valueError = checkValue(req.value)
    if (valueError) return valueError
  }
  return req.t === 'cas' ? checkExpect(req.expect) : undefined
}
