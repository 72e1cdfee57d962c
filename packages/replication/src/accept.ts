/**
 * Admission of a pushed chunk. A node stores a chunk for a peer only if it is plausibly one of the
 * chunk's holders — among the ~2R closest nodes it knows to the key — so that no peer can fill a
 * node's disk with chunks that belong elsewhere. The window is 2R rather than R because views
 * differ under churn: the pusher may know a node we have not heard of yet, or vice versa, and a
 * chunk handed off inward must be accepted by its new holder before the old copy is dropped.
 */
import type { Contact, Key } from '@swarmstore/core'
import { ACCEPT_WINDOW_FACTOR, DEFAULT_REPLICAS } from './constants.js'
import { rankAmong } from './placement.js'

export interface AcceptInput {
  /** This node's key. */
  selfKey: Key
  /** The chunk's key. */
  key: Key
  /** The closest contacts this node knows to key (its routing table's answer; self may be in it). */
  closestKnown: readonly Contact[]
  /** R, default 3. */
  replicas?: number
  /** Accept when fewer than `window` known nodes are nearer than self; default 2R. */
  window?: number
  /** Whether the store has room for one more chunk. */
  hasCapacity: boolean
}

export type RefusalReason = 'not-responsible' | 'no-capacity'

export type AcceptDecision =
  | { readonly accept: true; readonly rank: number }
  | { readonly accept: false; readonly reason: RefusalReason; readonly rank: number }

/**
 * Accept or refuse a chunk pushed by a peer. `not-responsible` is final for this node;
 * `no-capacity` tells the pusher to try the next closest node (capacity-aware placement).
 * Responsibility is checked first so a full node still reports the stronger reason.
 */
export function shouldAccept(input: AcceptInput): AcceptDecision {
  const replicas = input.replicas ?? DEFAULT_REPLICAS
  const window = input.window ?? ACCEPT_WINDOW_FACTOR * replicas
  const rank = rankAmong(input.selfKey, input.key, input.closestKnown)
  if (rank >= window) return { accept: false, reason: 'not-responsible', rank }
  if (!input.hasCapacity) return { accept: false, reason: 'no-capacity', rank }
  return { accept: true, rank }
}
