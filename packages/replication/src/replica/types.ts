import type { Contact, Key } from '@swarmstore/core'
import type { KeyPrefix, RangeSummary } from '../anti-entropy.js'
import type { HealingReason } from '../healing-planner.js'

/** What a ReplicaNode asks the network for; each is answered by one `ReplicaReply`. */
export type ReplicaRequest =
  /** Which of these does `to` hold? We hold every one and say so (the receiver counts us a holder). */
  | { readonly t: 'has'; readonly keys: readonly Key[] }
  /** Send our local copy of key (read unverified: the receiver hashes it). */
  | { readonly t: 'push'; readonly key: Key; readonly reason: HealingReason }
  /** Send the bytes of put operation `op`. */
  | { readonly t: 'put'; readonly op: number; readonly key: Key }
  /** Fetch key for read operation `op`; the adapter verifies the bytes before it answers. */
  | { readonly t: 'get'; readonly op: number; readonly key: Key }
  /** One anti-entropy query: summaries of `ranges`, keys under `keyRanges` (at most `limit` each). */
  | {
      readonly t: 'sum'
      readonly ranges: readonly KeyPrefix[]
      readonly keyRanges: readonly KeyPrefix[]
      readonly limit: number
    }

export type ReplicaReply =
  | { readonly t: 'have'; readonly have: readonly boolean[] }
  | { readonly t: 'stored' }
  | { readonly t: 'refused'; readonly reason: string }
  /** push: our own copy could not be read (it is gone or unusable) */
  | { readonly t: 'unreadable' }
  /** get: bytes that match the key's CID */
  | { readonly t: 'found' }
  | { readonly t: 'missing' }
  /** get: bytes that do not match the CID */
  | { readonly t: 'corrupt' }
  | { readonly t: 'sums'; readonly sums: readonly RangeSummary[]; readonly keys: readonly (readonly Key[])[] }
  | { readonly t: 'contacts'; readonly contacts: readonly Contact[] }
  /** no usable answer; `timeout` when the request may still have taken effect */
  | { readonly t: 'failed'; readonly reason: string; readonly timeout?: boolean }

export type ReplicaAction =
  | { readonly type: 'send'; readonly id: number; readonly to: Contact; readonly req: ReplicaRequest }
  /** Find the closest live nodes to key (answered with `contacts`). */
  | { readonly type: 'lookup'; readonly id: number; readonly key: Key }
  /** Delete the local copy (every placement member confirmed one); keep it if it is pinned. */
  | { readonly type: 'drop'; readonly key: Key }
  /** A receiver refused our copy as bad: verify it (a corrupt one is reported back as `lost`). */
  | { readonly type: 'verify-local'; readonly key: Key }
  /** A request to this peer failed outright: routing should count it. */
  | { readonly type: 'peer-failed'; readonly to: Contact }
  | { readonly type: 'put-acknowledged'; readonly op: number; readonly holders: readonly Contact[] }
  | { readonly type: 'put-settled'; readonly op: number; readonly holders: readonly Contact[] }
  | { readonly type: 'put-failed'; readonly op: number; readonly message: string; readonly lookup: boolean }
  /** The read is answered by the bytes `from` sent; copy them to `repairTo` (read repair). */
  | {
      readonly type: 'read-found'
      readonly op: number
      readonly from: string
      readonly repairTo: readonly Contact[]
    }
  /** `notFound`: some holder said missing; otherwise none answered (the chunk may exist). */
  | {
      readonly type: 'read-failed'
      readonly op: number
      readonly notFound: boolean
      readonly asked: number
      readonly lookup: boolean
    }
