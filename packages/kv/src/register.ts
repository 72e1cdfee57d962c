/**
 * The register every key is: its state and the change functions a CASPaxos round applies to it.
 * This is exactly the model the history checker (`@swarmstore/sim` linearizability.ts) replays:
 * - a key starts absent at version 0; every effect adds exactly 1 to the version, across deletes,
 *   so a version is never reused for a key; once its tombstone is purged (sweeper.ts), an absent
 *   key reads at its range's floor, at or above its last version, and its next write goes above;
 * - `put` sets the value (ok, new version); `get` changes nothing (found value+version, or
 *   notFound with the version counter); `delete` of a present key leaves a tombstone (ok, new
 *   version), of an absent one changes nothing (notFound, version); `cas(expect, v)` holds iff
 *   `expect === 0 ? absent : present && version === expect`, then acts as put, else conflict with
 *   the current version counter (a tombstone's, after a delete).
 *
 * Each state also remembers its last EFFECT_LOG_LENGTH effects (version → the tag of the operation
 * that made it), so a proposer can tell whether its own earlier accept became part of the key's
 * history before it retries (see proposer.ts): without that, a retried put would take effect twice.
 */
import { EFFECT_LOG_LENGTH } from './constants.js'

/** One effect in a key's history: the operation tagged `by` made `version`. */
export interface Effect {
  readonly version: number
  readonly by: string
}

export interface KvState {
  readonly version: number
  /** undefined: absent (never written at version 0, a tombstone above it) */
  readonly value: Uint8Array | undefined
  /** The latest effects, oldest first, at most EFFECT_LOG_LENGTH (consecutive versions up to `version`). */
  readonly effects: readonly Effect[]
}

export const ABSENT: KvState = { version: 0, value: undefined, effects: [] }

export type KvRequest =
  | { readonly t: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly t: 'get'; readonly key: string }
  | { readonly t: 'delete'; readonly key: string }
  | { readonly t: 'cas'; readonly key: string; readonly expect: number; readonly value: Uint8Array }

/** What the register answers; every answer carries the key's version. */
export type RegisterAnswer =
  | { readonly t: 'ok'; readonly version: number }
  | { readonly t: 'found'; readonly value: Uint8Array; readonly version: number }
  | { readonly t: 'notFound'; readonly version: number }
  | { readonly t: 'conflict'; readonly version: number }

export interface Change {
  /** The state after the request (the same object when nothing changed). */
  readonly state: KvState
  readonly answer: RegisterAnswer
  /** Whether the request took effect (the version moved). */
  readonly effect: boolean
}

/** Applies `req` to `s`; an effect is tagged `by` in the new state's effect log. */
export function applyRequest(s: KvState, req: KvRequest, by: string): Change {
  switch (req.t) {
    case 'put':
      return write(s, req.value, by)
    case 'get':
      return s.value === undefined
        ? unchanged(s, { t: 'notFound', version: s.version })
        : unchanged(s, { t: 'found', value: s.value, version: s.version })
    case 'delete':
      return s.value === undefined
        ? unchanged(s, { t: 'notFound', version: s.version })
        : write(s, undefined, by)
    case 'cas':
      return casHolds(s, req.expect)
        ? write(s, req.value, by)
        : unchanged(s, { t: 'conflict', version: s.version })
  }
}

export function casHolds(s: KvState, expect: number): boolean {
  return expect === 0 ? s.value === undefined : s.value !== undefined && s.version === expect
}

/** The operation that made `version`, when the log still holds it; undefined when it scrolled out. */
export function effectAt(s: KvState, version: number): Effect | undefined {
  return s.effects.find((e) => e.version === version)
}

/** The oldest version whose maker the log still knows (versions below it are unknown). */
export function oldestLogged(s: KvState): number {
  return s.effects[0]?.version ?? s.version + 1
}

function write(s: KvState, value: Uint8Array | undefined, by: string): Change {
  const version = s.version + 1
  const effects = [...s.effects, { version, by }].slice(-EFFECT_LOG_LENGTH)
  return { state: { version, value, effects }, answer: { t: 'ok', version }, effect: true }
}

function unchanged(s: KvState, answer: RegisterAnswer): Change {
  return { state: s, answer, effect: false }
}
