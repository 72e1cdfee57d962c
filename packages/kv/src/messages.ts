/**
 * The KV protocol between a proposer and a group's acceptors: two requests, five replies, and the
 * one parser that checks an incoming request before the acceptor looks at it. Sizes are bounded
 * here (key, value, ids, effect log); the wire layer bounds the frame before it decodes.
 */
import type { Ballot } from './ballot.js'
import type { GroupConfig } from './config.js'
import { EFFECT_LOG_LENGTH, MAX_PROPOSER_ID_BYTES } from './constants.js'
import { KvInputError, type KvInputErrorCode, KvMalformedMessageError } from './errors.js'
import { checkKey, checkValue, utf8Length } from './limits.js'
import type { Effect, KvState } from './register.js'

export interface Accepted {
  readonly ballot: Ballot
  readonly state: KvState
}

export type KvMessage =
  /** Phase 1: promise to refuse every ballot below `ballot` for this key, and say what you accepted. */
  | { readonly t: 'prepare'; readonly epoch: number; readonly key: string; readonly ballot: Ballot }
  /** Phase 2: accept `state` for this key under `ballot`, unless you promised a higher one. */
  | {
      readonly t: 'accept'
      readonly epoch: number
      readonly key: string
      readonly ballot: Ballot
      readonly state: KvState
    }

export type KvReply =
  /** The promise is durable; `accepted` is the highest-ballot state this acceptor accepted, if any. */
  | { readonly t: 'promise'; readonly ballot: Ballot; readonly accepted?: Accepted }
  /** The state is durable under `ballot`. */
  | { readonly t: 'accepted'; readonly ballot: Ballot }
  /** Refused: this acceptor promised `promised`, above the request's ballot. Nothing changed. */
  | { readonly t: 'reject'; readonly promised: Ballot }
  /** Refused: the request named another epoch than the acceptor's `config`. Nothing changed. */
  | { readonly t: 'stale'; readonly config: GroupConfig }
  /** Refused as bad input. Nothing changed. */
  | { readonly t: 'invalid'; readonly code: KvInputErrorCode; readonly message: string }

/** The longest effect tag: a proposer id, '#', an operation number. */
const MAX_TAG_LENGTH = MAX_PROPOSER_ID_BYTES + 24

/** The message if it is a well-formed KV request within bounds, else the error to answer. */
export function parseKvMessage(m: unknown): KvMessage | KvInputError {
  if (typeof m !== 'object' || m === null) return bad('not an object')
  const o = m as Record<string, unknown>
  if (o.t !== 'prepare' && o.t !== 'accept') return bad(`unknown type ${JSON.stringify(o.t)}`)
  if (!isCount(o.epoch)) return bad('epoch is not an integer ≥ 0')
  const keyError = checkKey(o.key)
  if (keyError) return keyError
  if (!isBallot(o.ballot)) return bad('ballot is not {counter, proposer}')
  const ballot = { counter: o.ballot.counter, proposer: o.ballot.proposer }
  const base = { epoch: o.epoch, key: o.key as string, ballot }
  if (o.t === 'prepare') return { t: 'prepare', ...base }
  const state = parseState(o.state)
  return state instanceof KvInputError ? state : { t: 'accept', ...base, state }
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
 * A reply as the proposer may trust it, or undefined when it is malformed (counted as no answer):
 * a faulty or hostile acceptor must not crash the proposer.
 */
export function parseKvReply(r: unknown): KvReply | undefined {
  if (typeof r !== 'object' || r === null) return undefined
  const o = r as Record<string, unknown>
  switch (o.t) {
    case 'promise': {
      if (!isBallot(o.ballot)) return undefined
      if (o.accepted === undefined) return { t: 'promise', ballot: o.ballot }
      const a = (o.accepted ?? {}) as Record<string, unknown>
      const state = parseState(a.state)
      if (!isBallot(a.ballot) || state instanceof KvInputError) return undefined
      return { t: 'promise', ballot: o.ballot, accepted: { ballot: a.ballot, state } }
    }
    case 'accepted':
      return isBallot(o.ballot) ? { t: 'accepted', ballot: o.ballot } : undefined
    case 'reject':
      return isBallot(o.promised) ? { t: 'reject', promised: o.promised } : undefined
    case 'stale': {
      const c = (o.config ?? {}) as Record<string, unknown>
      const members = c.members
      if (!isCount(c.epoch) || !Array.isArray(members) || members.length === 0) return undefined
      if (!members.every((m) => typeof m === 'string')) return undefined
      return { t: 'stale', config: { epoch: c.epoch, members: [...(members as string[])] } }
    }
    case 'invalid':
      return typeof o.code === 'string' && typeof o.message === 'string'
        ? { t: 'invalid', code: o.code as KvInputErrorCode, message: o.message }
        : undefined
    default:
      return undefined
  }
}
