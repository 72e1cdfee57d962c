import type { Contact, Key } from '@swarmstore/core'

export interface LookupResult {
  target: Key
  /**
   * Up to k contacts closest to target that answered during this lookup, nearest first. The local
   * node counts as a candidate that has answered, so it appears here when it is among the k closest.
   */
  closest: Contact[]
  /** Hop of the nearest contact in `closest`: 0 if from the local table, h+1 if first returned by a hop-h node. */
  hops: number
  /** Requests sent, timed-out ones included. */
  messages: number
  /** Requests that failed (timeout, error). */
  failures: number
  /** Clock time from start to termination (ms). */
  durationMs: number
  /** True when the paper's rule ended the lookup; false when its deadline (or stop()) did. */
  completed: boolean
}
