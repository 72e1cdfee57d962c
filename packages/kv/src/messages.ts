/**
 * The KV protocol between proposers, movers and a range's acceptors: per-key requests (prepare,
 * accept), a range's move (seal, commit, install), their replies, and the parsers that check
 * every message before a state machine looks at it. Sizes are bounded
 * here (key, value, ids, effect log); the wire layer bounds the frame before it decodes.
 */
import { type Ballot, compareBallots } from './ballot.js'
import type { GroupConfig } from './config.js'
import {
  EFFECT_LOG_LENGTH,
  MAX_GROUP_MEMBERS,
  MAX_MEMBER_ID_CHARS,
  MAX_PROPOSER_ID_BYTES,
  MAX_SNAPSHOT_ENTRIES,
  MAX_TOMBSTONES_LISTED,
} from './constants.js'
import { KvInputError, type KvInputErrorCode, KvMalformedMessageError } from './errors.js'
import { checkKey, checkValue, utf8Length } from './limits.js'
import { RANGE_COUNT } from './ranges.js'
import type { Effect, KvState } from './register.js'

export interface Accepted {
  readonly ballot: Ballot
  readonly state: KvState
}

/**
 * Which accepted state a round builds on: the highest ballot's. Under the zero ballot (a snapshot's
 * start, or a purged tombstone's floor) states may differ between acceptors, and the highest version
 * is the newest: versions never go down.
 */
export function laterAccepted(a: Accepted, than: Accepted): boolean {
  const order = compareBallots(a.ballot, than.ballot)
  return order > 0 || (order === 0 && a.state.version > than.state.version)
}

/** One key's state as a range's snapshot carries it from one configuration to the next. */
export interface SnapshotEntry {
  readonly key: string
  readonly state: KvState
}

/** One key's highest accepted state at a sealed acceptor (the seal's answer lists them). */
export interface SealedEntry {
  readonly key: string
  readonly accepted: Accepted
}

/**
 * A range's move out of epoch `next.epoch − 1`: the next configuration and every key's state to
 * start it with. One per epoch is ever chosen (it is the value of a Paxos instance among the
 * leaving configuration's members).
 */
export interface TransitionValue {
  readonly next: GroupConfig
  readonly snapshot: readonly SnapshotEntry[]
  /** above the version of every tombstone purged from the range so far (absent: 0) */
  readonly floor?: number
}

/** A tombstone an acceptor holds: the key, the ballot it was accepted under, its version. */
export interface TombstoneEntry {
  readonly key: string
  readonly ballot: Ballot
  readonly version: number
}

export type KvMessage =
  /** Phase 1: promise to refuse every ballot below `ballot` for this key, and say what you accepted. */
  | {
      readonly t: 'prepare'
      readonly range: number
      readonly epoch: number
      readonly key: string
      readonly ballot: Ballot
    }
  /** A get's quorum read: what did you accept for this key? (Changes nothing, writes nothing.) */
  | { readonly t: 'peek'; readonly range: number; readonly epoch: number; readonly key: string }
  /**
   * Phase 2: accept `state` for this key under `ballot`, unless you promised a higher one. With
   * `next`, also promise the proposer's next ballot (counter + 1, same proposer): its next change
   * of this key may then skip phase 1 (CASPaxos's one-round-trip optimisation).
   */
  | {
      readonly t: 'accept'
      readonly range: number
      readonly epoch: number
      readonly key: string
      readonly ballot: Ballot
      readonly state: KvState
      readonly next?: true
    }
  /**
   * A move's phase 1: stop serving the range's keys at `epoch` (from now on they are refused
   * `frozen`), promise to refuse every move ballot below `ballot`, and answer with every key's
   * accepted state and any transition accepted.
   */
  | { readonly t: 'seal'; readonly range: number; readonly epoch: number; readonly ballot: Ballot }
  /** A move's phase 2: accept this transition out of `epoch` under `ballot`. */
  | {
      readonly t: 'commit'
      readonly range: number
      readonly epoch: number
      readonly ballot: Ballot
      readonly value: TransitionValue
    }
  /** A chosen transition out of `epoch`: serve `value.next` from `value.snapshot` (or leave). */
  | { readonly t: 'install'; readonly range: number; readonly epoch: number; readonly value: TransitionValue }
  /** A sweep's question: which tombstones do you hold in this range (durably)? */
  | { readonly t: 'tombstones'; readonly range: number; readonly epoch: number }
  /**
   * Forget these tombstones — each only if still accepted under exactly that ballot — keeping the
   * range's floor above their versions and their promises (the sweep saw every member hold them).
   */
  | {
      readonly t: 'purge'
      readonly range: number
      readonly epoch: number
      readonly entries: readonly { readonly key: string; readonly ballot: Ballot }[]
    }

export type KvReply =
  /** The promise is durable; `accepted` is the highest-ballot state this acceptor accepted, if any. */
  | { readonly t: 'promise'; readonly ballot: Ballot; readonly accepted?: Accepted }
  /** The state is durable under `ballot`. */
  | { readonly t: 'accepted'; readonly ballot: Ballot }
  /** The answer to a peek: what this acceptor accepted for the key (durably), if anything. */
  | { readonly t: 'peeked'; readonly accepted?: Accepted }
  /** Refused: this acceptor promised `promised`, above the request's ballot. Nothing changed. */
  | { readonly t: 'reject'; readonly promised: Ballot }
  /** Refused: the range has moved past the request's epoch; `config` is where it is now. */
  | { readonly t: 'stale'; readonly config: GroupConfig }
  /** Refused: this acceptor does not serve the range at the request's epoch yet (not installed). */
  | { readonly t: 'behind'; readonly epoch: number }
  /** Refused: the range is being moved out of this epoch; try again shortly. */
  | { readonly t: 'frozen' }
  /**
   * The seal is durable: the keys' accepted states, the transition accepted, if any, and the floor
   * of the purged tombstones' versions, if any.
   */
  | {
      readonly t: 'sealed'
      readonly ballot: Ballot
      readonly entries: readonly SealedEntry[]
      readonly transition?: { readonly ballot: Ballot; readonly value: TransitionValue }
      readonly floor?: number
    }
  /** The transition is accepted (durably) under `ballot`. */
  | { readonly t: 'committed'; readonly ballot: Ballot }
  /** The range is installed at `epoch` (or this acceptor was already there or past). */
  | { readonly t: 'installed'; readonly epoch: number }
  /** The move out of the request's epoch was already chosen: this is it (install it elsewhere). */
  | { readonly t: 'moved'; readonly value: TransitionValue }
  /** The tombstones this acceptor holds durably in the range (at most MAX_TOMBSTONES_LISTED). */
  | { readonly t: 'listed'; readonly entries: readonly TombstoneEntry[] }
  /** The purge is durable: `count` of its tombstones were still there and are gone. */
  | { readonly t: 'purged'; readonly count: number }
  /** Refused as bad input. Nothing changed. */
  | { readonly t: 'invalid'; readonly code: KvInputErrorCode; readonly message: string }

/** The longest effect tag: a proposer id, '#', an operation number. */
const MAX_TAG_LENGTH = MAX_PROPOSER_ID_BYTES + 24

/** The message if it is a well-formed KV request within bounds, else the error to answer. */
export function parseKvMessage(m: unknown): KvMessage | KvInputError {
  if (typeof m !== 'object' || m === null) return bad('not an object')
  const o = m as Record<string, unknown>
  if (!isCount(o.range) || o.range >= RANGE_COUNT) return bad('range is not an integer in [0, 4096)')
  if (!isCount(o.epoch)) return bad('epoch is not an integer ≥ 0')
  const at = { range: o.range, epoch: o.epoch }
  switch (o.t) {
    case 'prepare':
    case 'accept':
      return parseKeyMessage(o, at)
    case 'peek': {
      const keyError = checkKey(o.key)
      return keyError ?? { t: 'peek', ...at, key: o.key as string }
    }
    case 'seal': {
      if (!isBallot(o.ballot)) return bad('ballot is not {counter, proposer}')
      return { t: 'seal', ...at, ballot: copyBallot(o.ballot) }
    }
    case 'tombstones':
      return { t: 'tombstones', ...at }
    case 'purge': {
      const entries = parseTombstones(o.entries, false)
      return entries instanceof KvInputError ? entries : { t: 'purge', ...at, entries }
    }
    case 'commit':
    case 'install': {
      const value = parseTransition(o.value)
      if (value instanceof KvInputError) return value
      if (value.next.epoch !== o.epoch + 1) return bad('a transition goes to the next epoch')
      if (o.t === 'install') return { t: 'install', ...at, value }
      if (!isBallot(o.ballot)) return bad('ballot is not {counter, proposer}')
      return { t: 'commit', ...at, ballot: copyBallot(o.ballot), value }
    }
    default:
      return bad(`unknown type ${JSON.stringify(o.t)}`)
  }
}

function parseKeyMessage(
  o: Record<string, unknown>,
  at: { range: number; epoch: number },
): KvMessage | KvInputError {
  const keyError = checkKey(o.key)
  if (keyError) return keyError
  if (!isBallot(o.ballot)) return bad('ballot is not {counter, proposer}')
  const base = { ...at, key: o.key as string, ballot: copyBallot(o.ballot) }
  if (o.t === 'prepare') return { t: 'prepare', ...base }
  const state = parseState(o.state)
  if (state instanceof KvInputError) return state
  if (o.next !== undefined && o.next !== true) return bad('next must be true when present')
  return o.next === true ? { t: 'accept', ...base, state, next: true } : { t: 'accept', ...base, state }
}

/** A configuration as the wire carries it: an epoch and 1 to MAX_GROUP_MEMBERS distinct ids. */
export function parseConfig(c: unknown): GroupConfig | undefined {
  if (typeof c !== 'object' || c === null) return undefined
  const { epoch, members } = c as Record<string, unknown>
  if (!isCount(epoch) || !Array.isArray(members)) return undefined
  if (members.length === 0 || members.length > MAX_GROUP_MEMBERS) return undefined
  if (!members.every((m) => typeof m === 'string' && m.length > 0 && m.length <= MAX_MEMBER_ID_CHARS))
    return undefined
  if (new Set(members).size !== members.length) return undefined
  return { epoch, members: [...(members as string[])] }
}

function parseTransition(v: unknown): TransitionValue | KvInputError {
  if (typeof v !== 'object' || v === null) return bad('transition is not an object')
  const o = v as Record<string, unknown>
  const next = parseConfig(o.next)
  if (next === undefined) return bad('transition has no valid next configuration')
  const snapshot = parseEntries(
    o.snapshot,
    (e) => parseState(e.state),
    (key, state) => ({ key, state }),
  )
  if (snapshot instanceof KvInputError) return snapshot
  if (o.floor === undefined) return { next, snapshot }
  return isCount(o.floor) ? { next, snapshot, floor: o.floor } : bad('floor is not an integer ≥ 0')
}

/** A bounded list of tombstones {key, ballot} (with their versions when `versions`). */
function parseTombstones(list: unknown, versions: true): TombstoneEntry[] | KvInputError
function parseTombstones(list: unknown, versions: false): { key: string; ballot: Ballot }[] | KvInputError
function parseTombstones(list: unknown, versions: boolean): TombstoneEntry[] | KvInputError {
  if (!Array.isArray(list) || list.length > MAX_TOMBSTONES_LISTED) return bad('tombstones absent or too many')
  return parseEntries(
    list,
    (e) => {
      if (!isBallot(e.ballot)) return bad('tombstone ballot is not {counter, proposer}')
      if (versions && !isCount(e.version)) return bad('tombstone version is not an integer ≥ 0')
      return { ballot: copyBallot(e.ballot), version: e.version as number }
    },
    (key, p) => (versions ? { key, ...p } : { key, ballot: p.ballot }) as TombstoneEntry,
  )
}

/** A bounded list of {key, …} entries with distinct valid keys, each parsed by `part`. */
function parseEntries<P, E>(
  list: unknown,
  part: (e: Record<string, unknown>) => P | KvInputError,
  make: (key: string, p: P) => E,
): E[] | KvInputError {
  if (!Array.isArray(list) || list.length > MAX_SNAPSHOT_ENTRIES) return bad('entries absent or too many')
  const out: E[] = []
  const seen = new Set<string>()
  for (const e of list as unknown[]) {
    if (typeof e !== 'object' || e === null) return bad('entry is not an object')
    const o = e as Record<string, unknown>
    const keyError = checkKey(o.key)
    if (keyError) return keyError
    if (seen.has(o.key as string)) return bad('a key twice in one snapshot')
    seen.add(o.key as string)
    const p = part(o)
    if (p instanceof KvInputError) return p
    out.push(make(o.key as string, p))
  }
  return out
}

function copyBallot(b: Ballot): Ballot {
  return { counter: b.counter, proposer: b.proposer }
}

export function isBallot(b: unknown): b is Ballot {
  if (typeof b !== 'object' || b === null) return false
  const { counter, proposer } = b as Record<string, unknown>
  return (
    isCount(counter) &&
    typeof proposer === 'string' &&
    (utf8Length(proposer) ?? Infinity) <= MAX_PROPOSER_ID_BYTES
  )
}

function parseState(s: unknown): KvState | KvInputError {
  if (typeof s !== 'object' || s === null) return bad('state is not an object')
  const o = s as Record<string, unknown>
  if (!isCount(o.version)) return bad('state version is not an integer ≥ 0')
  if (o.value !== undefined) {
    const valueError = checkValue(o.value)
    if (valueError) return valueError
  }
  if (o.value !== undefined && o.version === 0) return bad('a value at version 0')
  const effects = o.effects
  if (!Array.isArray(effects) || effects.length > EFFECT_LOG_LENGTH)
    return bad('effect log too long or absent')
  let last = 0
  for (const e of effects as unknown[]) {
    const { version, by } = (e ?? {}) as Record<string, unknown>
    if (!isCount(version) || version <= last || version > o.version)
      return bad('effect versions out of order')
    if (typeof by !== 'string' || by.length > MAX_TAG_LENGTH) return bad('effect tag too long')
    last = version
  }
  return {
    version: o.version,
    value: o.value as Uint8Array | undefined,
    effects: (effects as Effect[]).map((e) => ({ version: e.version, by: e.by })),
  }
}

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0
}

function bad(why: string): KvMalformedMessageError {
  return new KvMalformedMessageError(why)
}

/**
 * A reply as the proposer or mover may trust it, or undefined when it is malformed (counted as no
 * answer): a faulty or hostile acceptor must not crash them.
 */
export function parseKvReply(r: unknown): KvReply | undefined {
  if (typeof r !== 'object' || r === null) return undefined
  const o = r as Record<string, unknown>
  switch (o.t) {
    case 'promise': {
      if (!isBallot(o.ballot)) return undefined
      if (o.accepted === undefined) return { t: 'promise', ballot: copyBallot(o.ballot) }
      const accepted = parseAccepted(o.accepted)
      return accepted && { t: 'promise', ballot: copyBallot(o.ballot), accepted }
    }
    case 'peeked': {
      if (o.accepted === undefined) return { t: 'peeked' }
      const accepted = parseAccepted(o.accepted)
      return accepted && { t: 'peeked', accepted }
    }
    case 'accepted':
    case 'committed':
      return isBallot(o.ballot) ? { t: o.t, ballot: copyBallot(o.ballot) } : undefined
    case 'reject':
      return isBallot(o.promised) ? { t: 'reject', promised: copyBallot(o.promised) } : undefined
    case 'stale': {
      const config = parseConfig(o.config)
      return config && { t: 'stale', config }
    }
    case 'behind':
    case 'installed':
      return isCount(o.epoch) ? { t: o.t, epoch: o.epoch } : undefined
    case 'frozen':
      return { t: 'frozen' }
    case 'sealed':
      return parseSealed(o)
    case 'listed': {
      const entries = parseTombstones(o.entries, true)
      return entries instanceof KvInputError ? undefined : { t: 'listed', entries }
    }
    case 'purged':
      return isCount(o.count) ? { t: 'purged', count: o.count } : undefined
    case 'moved': {
      const value = parseTransition(o.value)
      return value instanceof KvInputError ? undefined : { t: 'moved', value }
    }
    case 'invalid':
      return typeof o.code === 'string' && typeof o.message === 'string'
        ? { t: 'invalid', code: o.code as KvInputErrorCode, message: o.message }
        : undefined
    default:
      return undefined
  }
}

function parseAccepted(a: unknown): Accepted | undefined {
  const o = (a ?? {}) as Record<string, unknown>
  const state = parseState(o.state)
  if (!isBallot(o.ballot) || state instanceof KvInputError) return undefined
  return { ballot: copyBallot(o.ballot), state }
}

function parseSealed(o: Record<string, unknown>): KvReply | undefined {
  if (!isBallot(o.ballot)) return undefined
  const entries = parseEntries(
    o.entries,
    (e) => parseAccepted(e.accepted) ?? bad('entry without an accepted state'),
    (key, accepted) => ({ key, accepted }),
  )
  if (entries instanceof KvInputError) return undefined
  if (o.floor !== undefined && !isCount(o.floor)) return undefined
  const sealed = { t: 'sealed' as const, ballot: copyBallot(o.ballot), entries }
  const floored = o.floor === undefined ? sealed : { ...sealed, floor: o.floor }
  if (o.transition === undefined) return floored
  const tr = (o.transition ?? {}) as Record<string, unknown>
  const value = parseTransition(tr.value)
  if (!isBallot(tr.ballot) || value instanceof KvInputError) return undefined
  return { ...floored, transition: { ballot: copyBallot(tr.ballot), value } }
}
