/**
 * KvAcceptor: the acceptor side of CASPaxos (Rystsov 2018) for every key of one group on one node,
 * as a deterministic state machine (sans-I/O). The daemon runs it behind its KV protocol handler and
 * its write-ahead file; the simulator runs the same class over simulated links and disks.
 *
 * ## Contract
 *
 * Input — each call passes the current time `now` (ms, any monotonic origin):
 * - `receive(id, msg, now)`: a request from a proposer, as decoded from the wire (`unknown`: it is
 *   parsed and bounded here). `id` names the request; its reply comes out as a `reply` action.
 * - `persisted(batch, now)`: the `persist` action `batch` is durable (written and fsynced).
 *
 * Output — `takeActions()` after any input:
 * - `persist {batch, records}`: write these records (each the whole latest state of one key: epoch,
 *   key, promise, accepted ballot and state) durably, then call `persisted(batch)`. At most one
 *   batch is being written at a time; changes arriving meanwhile form the next (group commit).
 * - `reply {id, reply}`: the answer to request `id` — exactly one per request, and never before
 *   the state it shows is durable.
 *
 * `nextWakeAt()` is always undefined: an acceptor only reacts. Nothing here reads a clock, sets a
 * timer, draws a random number or awaits I/O.
 *
 * Restart: build a new KvAcceptor with `restore` = every record that reached the disk, in write
 * order (later records of a key win). Records whose batch was never reported durable may be on
 * disk or not; either is safe, as no reply depended on them. A write that fails must be treated
 * as a crash: drop this acceptor and restore a new one from the disk.
 *
 * ## Rules (per key, per epoch)
 * - prepare(b): if b > promised, promise b (durably) and answer with the accepted ballot and state;
 *   otherwise reject with the promise.
 * - accept(b, state): if b ≥ promised, promise b and accept (b, state) durably; otherwise reject.
 * - a request naming another epoch than this acceptor's gets `stale {config}`; bad input gets
 *   `invalid {code, message}`. Neither changes anything.
 *
 * ## Invariants
 * - `promised` never decreases and `accepted.ballot ≤ promised`; both survive a crash once answered.
 * - A reply never shows state that is not durable (so a crash can only lose what nobody was told).
 */
import { type Ballot, compareBallots, nextBallot, ZERO_BALLOT } from './ballot.js'
import { checkConfig, type GroupConfig } from './config.js'
import { EFFECT_LOG_LENGTH, MAX_TOMBSTONES_LISTED } from './constants.js'
import { KvConfigError, KvInputError } from './errors.js'
import { GroupCommit } from './group-commit.js'
import {
  type Accepted,
  type KvMessage,
  type KvReply,
  parseKvMessage,
  type SealedEntry,
  type TombstoneEntry,
  type TransitionValue,
} from './messages.js'
import type { KvState } from './register.js'

/** The durable state of one key of a range under one epoch. */
export interface KeyRecord {
  readonly t: 'key'
  readonly range: number
  readonly epoch: number
  readonly key: string
  readonly promised: Ballot
  readonly accepted?: Accepted
}

/**
 * What purged tombstones leave behind in a range: a key with no record reads as absent at `version`
 * (accepted under the zero ballot) and refuses ballots up to `ballot` — at least the promise and the
 * version of every tombstone purged there under this epoch (versions carried over from earlier ones).
 */
export interface Floor {
  readonly ballot: Ballot
  readonly version: number
}

/** A tombstone forgotten: the key has no record from here on, and the range's floor is `floor`. */
export interface PurgedRecord {
  readonly t: 'purged'
  readonly range: number
  readonly epoch: number
  readonly key: string
  readonly floor: Floor
}

/** The durable state of one range at this acceptor: its configuration and any move out of it. */
export interface RangeRecord {
  readonly t: 'range'
  readonly range: number
  /** the epoch this acceptor serves (or, when it is not among the members, where the range went) */
  readonly config: GroupConfig
  /** the move ballot promised for leaving config.epoch: the range's keys are frozen */
  readonly sealed?: Ballot
  /** a transition out of config.epoch accepted under `ballot` (maybe not chosen) */
  readonly transition?: { readonly ballot: Ballot; readonly value: TransitionValue }
  /** the chosen transition that brought the range to config.epoch (its keys start from its snapshot) */
  readonly arrival?: { readonly from: number; readonly value: TransitionValue }
  /** what the tombstones purged from the range left (see Floor) */
  readonly floor?: Floor
}

/** What `persist` writes and `restore` reads. */
export type AcceptorRecord = KeyRecord | RangeRecord | PurgedRecord

export type AcceptorAction =
  | { readonly type: 'persist'; readonly batch: number; readonly records: readonly AcceptorRecord[] }
  | { readonly type: 'reply'; readonly id: number; readonly reply: KvReply }

export interface KvAcceptorInit {
  /** this acceptor's member id (its peer id): whether it is among a configuration's members */
  id: string
  /** Every record found on disk, in write order. */
  restore?: Iterable<AcceptorRecord>
}

export interface KvAcceptorStats {
  /** ranges this acceptor serves (it is among the members of their configuration) */
  ranges: number
  keys: number
  promises: number
  accepts: number
  rejects: number
  seals: number
  installs: number
  /** tombstones forgotten by purges */
  purged: number
  batches: number
  records: number
  /** replies waiting for a write */
  waiting: number
}

/** A range as this acceptor serves it: its record and its keys' records at record.config.epoch. */
export interface ServedRange {
  readonly range: number
  readonly config: GroupConfig
  readonly keys: number
  /** sealed for a move: its keys are refused until the move is installed */
  readonly frozen: boolean
}

type Reply = { id: number; reply: KvReply }

interface RangeState {
  record: RangeRecord
  keys: Map<string, KeyRecord>
}

export class KvAcceptor {
  readonly id: string
  private readonly ranges = new Map<number, RangeState>()
  /** the ranges whose current configuration lists this acceptor (what `served` walks) */
  private readonly mine = new Set<number>()
  private readonly commit: GroupCommit<AcceptorRecord, Reply>
  private queue: AcceptorAction[] = []
  private rangeChanges = 0
  private readonly counts = {
    promises: 0,
    accepts: 0,
    rejects: 0,
    seals: 0,
    installs: 0,
    purged: 0,
    batches: 0,
    records: 0,
  }

  constructor(init: KvAcceptorInit) {
    if (init.id.length === 0) throw new KvConfigError('an acceptor needs an id')
    this.id = init.id
    this.restore(init.restore ?? [])
    this.commit = new GroupCommit(
      (batch, records) => {
        this.counts.batches++
        this.counts.records += records.length
        this.queue.push({ type: 'persist', batch, records })
      },
      (r) => this.queue.push({ type: 'reply', id: r.id, reply: r.reply }),
    )
  }

  /**
   * Genesis: this acceptor founds `range` under `config` (the swarm's first node founds every
   * range with itself as the only member). Ignored (false) when the range is already known here.
   */
  found(range: number, config: GroupConfig): boolean {
    checkConfig(config)
    if (this.ranges.has(range)) return false
    const record: RangeRecord = { t: 'range', range, config }
    this.ranges.set(range, { record, keys: new Map() })
    this.noteMembership(range, config)
    this.commit.change(rangeSlot(range), record)
    this.commit.flush()
    return true
  }

  receive(id: number, msg: unknown, _now: number): void {
    const m = parseKvMessage(msg)
    if (m instanceof KvInputError) {
      this.reply(id, { t: 'invalid', code: m.code, message: m.message })
      return
    }
    if (m.t === 'install') this.install(id, m)
    else {
      const rs = this.ranges.get(m.range)
      const refusal = refusalFor(rs, m, this.id)
      // a refusal shows the range's state (its epoch): it too waits until that state is durable
      if (refusal) this.commit.after(rangeSlot(m.range), { id, reply: refusal })
      else if (m.t === 'peek') this.peek(id, rs!, m)
      else if (m.t === 'prepare' || m.t === 'accept') this.decide(id, rs!, m)
      else if (m.t === 'seal') this.seal(id, rs!, m)
      else if (m.t === 'tombstones') this.listTombstones(id, rs!)
      else if (m.t === 'purge') this.purge(id, rs!, m)
      else this.accept(id, rs!, m)
    }
    this.commit.flush()
  }

  persisted(batch: number, _now: number): boolean {
    return this.commit.persisted(batch)
  }

  takeActions(): AcceptorAction[] {
    const out = this.queue
    this.queue = []
    return out
  }

  nextWakeAt(): number | undefined {
    return undefined
  }

  /** Counts every change of a range's configuration or seal here: what `served` shows changed. */
  get changes(): number {
    return this.rangeChanges
  }

  /** The configuration this acceptor holds for `range` (served, or where it went), if any. */
  configOf(range: number): GroupConfig | undefined {
    return this.ranges.get(range)?.record.config
  }

  /** The ranges this acceptor serves (it is a member of their current configuration). */
  *served(): IterableIterator<ServedRange> {
    for (const range of this.mine) {
      const rs = this.ranges.get(range)!
      const { config, sealed } = rs.record
      yield { range, config, keys: rs.keys.size, frozen: sealed !== undefined }
    }
  }

  /**
   * Every record a restart needs (for rewriting the write-ahead file): each range's record, and
   * the key records that changed since the range's arrival (the others come from its snapshot).
   */
  *records(): IterableIterator<AcceptorRecord> {
    for (const rs of this.ranges.values()) {
      yield rs.record
      for (const k of rs.keys.values())
        if (k.promised !== ZERO_BALLOT || k.accepted?.ballot !== ZERO_BALLOT) yield k
      yield* purgedFromSnapshot(rs)
    }
  }

  /**
   * About how many bytes `range`'s snapshot takes when it moves (what `entryBytes` counts for each
   * key held here), for keeping a range within one message.
   */
  rangeBytes(range: number): number {
    let n = 0
    for (const k of this.ranges.get(range)?.keys.values() ?? []) n += entryBytes(k.key, k.accepted?.state)
    return n
  }

  /** How many tombstones (absent keys with a record) `range` holds here: what a sweep could purge. */
  tombstones(range: number): number {
    let n = 0
    for (const k of this.ranges.get(range)?.keys.values() ?? [])
      if (k.accepted !== undefined && k.accepted.state.value === undefined) n++
    return n
  }

  /** The durable-or-pending record of a key (tests and diagnostics). */
  record(range: number, key: string): KeyRecord | undefined {
    return this.ranges.get(range)?.keys.get(key)
  }

  /** The durable-or-pending record of a range (tests and diagnostics). */
  rangeRecord(range: number): RangeRecord | undefined {
    return this.ranges.get(range)?.record
  }

  stats(): KvAcceptorStats {
    let keys = 0
    let ranges = 0
    for (const s of this.served()) {
      ranges++
      keys += s.keys
    }
    return { ranges, keys, ...this.counts, waiting: this.commit.waiting }
  }

  private reply(id: number, reply: KvReply): void {
    this.queue.push({ type: 'reply', id, reply })
  }

  private decide(id: number, rs: RangeState, m: KvMessage & { t: 'prepare' | 'accept' }): void {
    const cur: KeyRecord = rs.keys.get(m.key) ?? unrecorded(rs.record, m.key)
    const slot = keySlot(m.range, m.key)
    const order = compareBallots(m.ballot, cur.promised)
    if (m.t === 'prepare' ? order <= 0 : order < 0) {
      this.counts.rejects++
      // even a refusal waits: it shows the promise, and the range at this epoch (seed 337)
      this.commit.after([slot, rangeSlot(m.range)], { id, reply: { t: 'reject', promised: cur.promised } })
      return
    }
    let next: KeyRecord
    let reply: KvReply
    if (m.t === 'prepare') {
      this.counts.promises++
      next = { ...cur, promised: m.ballot }
      reply = cur.accepted
        ? { t: 'promise', ballot: m.ballot, accepted: cur.accepted }
        : { t: 'promise', ballot: m.ballot }
    } else {
      this.counts.accepts++
      // with `next`, the promise moves on to the proposer's next ballot in the same write
      const promised = m.next ? nextBallot(m.ballot) : m.ballot
      next = { ...cur, promised, accepted: { ballot: m.ballot, state: m.state } }
      reply = { t: 'accepted', ballot: m.ballot }
    }
    rs.keys.set(m.key, next)
    this.commit.change(slot, next, { id, reply })
  }

  /** A get's quorum read: the accepted state, once durable; nothing changes. */
  private peek(id: number, rs: RangeState, m: KvMessage & { t: 'peek' }): void {
    const accepted = (rs.keys.get(m.key) ?? unrecorded(rs.record, m.key)).accepted
    const reply: KvReply = accepted ? { t: 'peeked', accepted } : { t: 'peeked' }
    // it shows the key's state and the range at this epoch (an install may still be on its way to
    // disk: the simulator's seed 337 caught a peek answered at an epoch a crash then took back)
    this.commit.after([keySlot(m.range, m.key), rangeSlot(m.range)], { id, reply })
  }

  /** A move's phase 1: promise the ballot, freeze the keys, answer with what was accepted. */
  private seal(id: number, rs: RangeState, m: KvMessage & { t: 'seal' }): void {
    const r = rs.record
    if (r.sealed !== undefined && compareBallots(m.ballot, r.sealed) <= 0) {
      this.commit.after(rangeSlot(m.range), { id, reply: { t: 'reject', promised: r.sealed } })
      return
    }
    this.counts.seals++
    const entries: SealedEntry[] = []
    for (const k of rs.keys.values()) if (k.accepted) entries.push({ key: k.key, accepted: k.accepted })
    const sealed = { t: 'sealed' as const, ballot: m.ballot, entries }
    const floored = r.floor && r.floor.version > 0 ? { ...sealed, floor: r.floor.version } : sealed
    const reply: KvReply = r.transition ? { ...floored, transition: r.transition } : floored
    this.setRange(rs, { ...r, sealed: m.ballot }, { id, reply })
  }

  /** A move's phase 2: accept the transition unless a higher move ballot was promised. */
  private accept(id: number, rs: RangeState, m: KvMessage & { t: 'commit' }): void {
    const r = rs.record
    if (r.sealed !== undefined && compareBallots(m.ballot, r.sealed) < 0) {
      this.commit.after(rangeSlot(m.range), { id, reply: { t: 'reject', promised: r.sealed } })
      return
    }
    const transition = { ballot: m.ballot, value: m.value }
    this.setRange(
      rs,
      { ...r, sealed: m.ballot, transition },
      { id, reply: { t: 'committed', ballot: m.ballot } },
    )
  }

  /**
   * A chosen transition: serve its next configuration from its snapshot (a new member, or one that
   * stays), or remember where the range went (a member that leaves). Already there or past: says so.
   */
  private install(id: number, m: KvMessage & { t: 'install' }): void {
    const next = m.value.next
    const rs = this.ranges.get(m.range)
    if (rs !== undefined && rs.record.config.epoch >= next.epoch) {
      this.commit.after(rangeSlot(m.range), { id, reply: { t: 'installed', epoch: rs.record.config.epoch } })
      return
    }
    this.counts.installs++
    const member = next.members.includes(this.id)
    const floor = m.value.floor ? { floor: { ballot: ZERO_BALLOT, version: m.value.floor } } : {}
    const record: RangeRecord = member
      ? { t: 'range', range: m.range, config: next, arrival: { from: m.epoch, value: m.value }, ...floor }
      : { t: 'range', range: m.range, config: next }
    const state: RangeState = { record, keys: member ? keysFrom(record) : new Map() }
    this.ranges.set(m.range, state)
    this.noteMembership(m.range, next)
    this.commit.change(rangeSlot(m.range), record, { id, reply: { t: 'installed', epoch: next.epoch } })
  }

  /** A sweep's question: the range's tombstones that are durable here (a bounded list). */
  private listTombstones(id: number, rs: RangeState): void {
    const entries: TombstoneEntry[] = []
    for (const k of rs.keys.values()) {
      if (entries.length === MAX_TOMBSTONES_LISTED) break
      const a = k.accepted
      if (a === undefined || a.state.value !== undefined) continue
      if (this.commit.pending(keySlot(k.range, k.key))) continue
      entries.push({ key: k.key, ballot: a.ballot, version: a.state.version })
    }
    // the listing shows the range at this epoch: it too waits until that is durable (seed 337)
    this.commit.after(rangeSlot(rs.record.range), { id, reply: { t: 'listed', entries } })
  }

  /**
   * Forgets each listed tombstone still accepted here under exactly its ballot. What it knew goes
   * into the range's floor: its promise (no ballot it refused is accepted after) and its version
   * (the key's next life starts above it). Each purged record carries the floor it leaves, so a
   * torn write can never keep the forgetting without the floor.
   */
  private purge(id: number, rs: RangeState, m: KvMessage & { t: 'purge' }): void {
    let floor = rs.record.floor ?? { ballot: ZERO_BALLOT, version: 0 }
    const purged: PurgedRecord[] = []
    for (const e of m.entries) {
      const k = rs.keys.get(e.key)
      const a = k?.accepted
      if (a === undefined || a.state.value !== undefined || compareBallots(a.ballot, e.ballot) !== 0) continue
      floor = raiseFloor(floor, k!)
      rs.keys.delete(e.key)
      purged.push({ t: 'purged', range: m.range, epoch: m.epoch, key: e.key, floor })
    }
    if (purged.length === 0) {
      this.commit.after(rangeSlot(m.range), { id, reply: { t: 'purged', count: 0 } })
      return
    }
    this.counts.purged += purged.length
    rs.record = { ...rs.record, floor }
    // all go into the open batch; the reply rides on the last one, durable with the rest
    const done = { id, reply: { t: 'purged', count: purged.length } as KvReply }
    for (const [i, p] of purged.entries()) {
      this.commit.change(keySlot(p.range, p.key), p, i === purged.length - 1 ? done : undefined)
    }
  }

  /** Keeps `mine` (the ranges whose configuration lists this acceptor) up to date. */
  private noteMembership(range: number, config: GroupConfig): void {
    this.rangeChanges++
    if (config.members.includes(this.id)) this.mine.add(range)
    else this.mine.delete(range)
  }

  private setRange(rs: RangeState, record: RangeRecord, out: Reply): void {
    this.rangeChanges++
    rs.record = record
    this.commit.change(rangeSlot(record.range), record, out)
  }

  private restore(records: Iterable<AcceptorRecord>): void {
    const keyRecords: (KeyRecord | PurgedRecord)[] = []
    for (const r of records) {
      if (r.t === 'range') this.ranges.set(r.range, { record: r, keys: new Map() })
      else keyRecords.push(r)
    }
    for (const [range, rs] of this.ranges) {
      rs.keys = keysFrom(rs.record)
      this.noteMembership(range, rs.record.config)
    }
    for (const k of keyRecords) {
      const rs = this.ranges.get(k.range)
      if (rs === undefined || rs.record.config.epoch !== k.epoch) continue
      if (k.t === 'key') rs.keys.set(k.key, k)
      else {
        rs.keys.delete(k.key)
        rs.record = { ...rs.record, floor: higherFloor(rs.record.floor, k.floor) }
      }
    }
  }
}

/**
 * Why `m` cannot be handled at this range now, if it cannot: the range is unknown here or held at
 * an older epoch (`behind`), it moved past the request's epoch (`stale`, or for a move the chosen
 * transition itself: `moved`), or — for a key — it is being moved (`frozen`).
 */
function refusalFor(rs: RangeState | undefined, m: KvMessage, self: string): KvReply | undefined {
  if (rs === undefined) return { t: 'behind', epoch: 0 }
  const { config, arrival, sealed } = rs.record
  if (m.epoch > config.epoch || !config.members.includes(self)) {
    return m.epoch > config.epoch ? { t: 'behind', epoch: config.epoch } : { t: 'stale', config }
  }
  if (m.epoch < config.epoch) {
    if (m.t === 'seal' && arrival?.from === m.epoch) return { t: 'moved', value: arrival.value }
    return { t: 'stale', config }
  }
  // a sealed range's keys are refused, reads too: the next epoch may be taking writes already
  if (m.t !== 'seal' && m.t !== 'commit' && sealed !== undefined) return { t: 'frozen' }
  return undefined
}

/**
 * A key with no record here: never written under this epoch, or purged. Past purges make it absent
 * at the floor's version (under the zero ballot, below every real one, so any state a round
 * accepted elsewhere wins) and refuse the ballots the purged promises refused.
 */
function unrecorded(record: RangeRecord, key: string): KeyRecord {
  const { range, config, floor } = record
  const base = { t: 'key' as const, range, epoch: config.epoch, key }
  if (floor === undefined) return { ...base, promised: ZERO_BALLOT }
  const state = { version: floor.version, value: undefined, effects: [] }
  return floor.version > 0
    ? { ...base, promised: floor.ballot, accepted: { ballot: ZERO_BALLOT, state } }
    : { ...base, promised: floor.ballot }
}

function raiseFloor(floor: Floor, k: KeyRecord): Floor {
  return higherFloor(floor, { ballot: k.promised, version: k.accepted?.state.version ?? 0 })
}

function higherFloor(a: Floor | undefined, b: Floor): Floor {
  if (a === undefined) return b
  return {
    ballot: compareBallots(a.ballot, b.ballot) >= 0 ? a.ballot : b.ballot,
    version: Math.max(a.version, b.version),
  }
}

/** Markers for the snapshot's keys purged since the arrival (a restart must not bring them back). */
function* purgedFromSnapshot(rs: RangeState): IterableIterator<PurgedRecord> {
  const { arrival, config, range, floor } = rs.record
  if (arrival === undefined || floor === undefined || arrival.value.next.epoch !== config.epoch) return
  for (const e of arrival.value.snapshot) {
    if (!rs.keys.has(e.key)) yield { t: 'purged', range, epoch: config.epoch, key: e.key, floor }
  }
}

/** A range's keys as its arrival's snapshot starts them (accepted under the zero ballot). */
function keysFrom(record: RangeRecord): Map<string, KeyRecord> {
  const keys = new Map<string, KeyRecord>()
  const { arrival, config, range } = record
  if (arrival === undefined || arrival.value.next.epoch !== config.epoch) return keys
  for (const e of arrival.value.snapshot) {
    keys.set(e.key, {
      t: 'key',
      range,
      epoch: config.epoch,
      key: e.key,
      promised: ZERO_BALLOT,
      accepted: { ballot: ZERO_BALLOT, state: e.state },
    })
  }
  return keys
}

/** A key's share of a snapshot message, about: its key, value and effect log, with framing. */
export function entryBytes(key: string, state: KvState | undefined): number {
  if (state === undefined) return 0
  let effects = 0
  for (const e of state.effects) effects += e.by.length + 16
  return key.length * 3 + (state.value?.byteLength ?? 0) + effects + 64
}

/** The most a key's entry can weigh holding `value`: with a full effect log of long (96-character) tags. */
export function maxEntryBytes(key: string, value: Uint8Array): number {
  return entryBytes(key, { version: 1, value, effects: [] }) + EFFECT_LOG_LENGTH * (96 + 16)
}

function keySlot(range: number, key: string): string {
  return `k${range}:${key}`
}

function rangeSlot(range: number): string {
  return `r${range}`
}
