/**
 * The write path of one chunk as a state machine (sans-I/O): the caller sends, this decides.
 *
 * Candidates are tried nearest first. At most R sends are outstanding or acknowledged at any time,
 * so a put never creates more than R copies by itself. Each send ends in one of:
 * - ack: the peer stored the chunk durably (after fsync) — counts toward W and R;
 * - refuse: the peer declined (full, or not among the closest it knows) — the next candidate
 *   takes its slot (capacity-aware placement);
 * - fail: timeout or broken stream — the next candidate takes its slot;
 * - unknown: the outcome cannot be known (a chain link upstream of it broke); the peer goes back
 *   into the queue at its place and may be tried once more.
 *
 * Status: pending → acknowledged (W acks: survives W−1 losses) → complete (R acks).
 * `partial` = acknowledged but nothing is left to try for R (the swarm's repair finishes it);
 * `delegated` = `fanout` (< R) peers acknowledged, and the put sends no more: the holders make
 * the remaining R − fanout copies between themselves (healing), so the uploader's bandwidth is
 * fanout × the chunk, not R ×;
 * `failed` = W acks are no longer possible (acks + in flight + untried < W). All three are final.
 */
import type { Contact, Key } from '@swarmstore/core'
import type { RefusalReason } from './accept.js'
import { DEFAULT_REPLICAS, DEFAULT_WRITE_QUORUM } from './constants.js'
import { checkReplicationOptions, UnexpectedReplyError } from './errors.js'
import { orderByDistance } from './placement.js'

export type PutStatus = 'pending' | 'acknowledged' | 'complete' | 'partial' | 'delegated' | 'failed'

export interface PutQuorumInit {
  key: Key
  /** Candidate holders, any order (the routing lookup's k closest). Duplicates are ignored. */
  candidates: readonly Contact[]
  /** R, default 3. */
  replicas?: number
  /** W, default 2. */
  writeQuorum?: number
  /** Candidates known to be full are never asked. */
  isFull?: (c: Contact) => boolean
  /** How many times one peer may be sent the chunk (after `unknown` outcomes); default 2. */
  maxAttemptsPerPeer?: number
  /**
   * Copies this put makes itself, W ≤ fanout ≤ R (default R). Below R the put is `delegated` at
   * `fanout` acks and the holders complete the placement (see the status list above).
   */
  fanout?: number
}

export interface PutStep {
  /** Peers to send the chunk to now (nearest first). Send them as one chain, see chain.ts. */
  readonly send: readonly Contact[]
  readonly status: PutStatus
}

export type PutOutcome =
  | { readonly peerId: string; readonly outcome: 'stored' }
  | { readonly peerId: string; readonly outcome: 'refused'; readonly reason: RefusalReason | string }
  | { readonly peerId: string; readonly outcome: 'failed'; readonly reason?: string }
  | { readonly peerId: string; readonly outcome: 'unknown' }

export class PutQuorum {
  readonly key: Key
  readonly replicas: number
  readonly writeQuorum: number
  readonly fanout: number
  private readonly maxAttempts: number
  private readonly queue: Contact[]
  private readonly order = new Map<string, number>()
  private readonly attempts = new Map<string, number>()
  private readonly inFlightPeers = new Map<string, Contact>()
  private readonly ackedPeers: Contact[] = []
  private readonly refusedPeers: { contact: Contact; reason: string }[] = []
  private readonly failedPeers: { contact: Contact; reason: string }[] = []
  private started = false
  private _status: PutStatus = 'pending'

  constructor(init: PutQuorumInit) {
    this.key = init.key
    this.replicas = init.replicas ?? DEFAULT_REPLICAS
    this.writeQuorum = init.writeQuorum ?? DEFAULT_WRITE_QUORUM
    checkReplicationOptions(this.replicas, this.writeQuorum)
    this.fanout = init.fanout ?? this.replicas
    if (!Number.isInteger(this.fanout) || this.fanout < this.writeQuorum || this.fanout > this.replicas) {
      throw new RangeError(`fanout must be an integer from W=${this.writeQuorum} to R=${this.replicas}`)
    }
    this.maxAttempts = init.maxAttemptsPerPeer ?? 2
    this.queue = orderByDistance(init.key, init.candidates).filter((c) => init.isFull?.(c) !== true)
    for (const [i, c] of this.queue.entries()) this.order.set(c.peerId, i)
  }

  get status(): PutStatus {
    return this._status
  }
  /** True from W acks on, whatever happens after: the put may be reported as acknowledged. */
  get acknowledged(): boolean {
    return this.ackedPeers.length >= this.writeQuorum
  }
  /** No further step will send anything: complete, partial or failed. */
  get settled(): boolean {
    return (
      this._status === 'complete' ||
      this._status === 'partial' ||
      this._status === 'delegated' ||
      this._status === 'failed'
    )
  }
  get holders(): readonly Contact[] {
    return this.ackedPeers
  }
  get inFlight(): readonly Contact[] {
    return [...this.inFlightPeers.values()]
  }
  get refused(): readonly { contact: Contact; reason: string }[] {
    return this.refusedPeers
  }
  get failed(): readonly { contact: Contact; reason: string }[] {
    return this.failedPeers
  }

  /** The first R candidates. Call once. */
  start(): PutStep {
    if (this.started) throw new Error('PutQuorum.start called twice')
    this.started = true
    return this.step()
  }

  ack(peerId: string): PutStep {
    this.ackedPeers.push(this.take(peerId, 'ack'))
    return this.step()
  }

  refuse(peerId: string, reason: RefusalReason | string): PutStep {
    this.refusedPeers.push({ contact: this.take(peerId, 'refusal'), reason })
    return this.step()
  }

  fail(peerId: string, reason = 'failed'): PutStep {
    this.failedPeers.push({ contact: this.take(peerId, 'failure'), reason })
    return this.step()
  }

  /** The outcome for peerId cannot be known; it may be tried again (up to maxAttemptsPerPeer). */
  unknown(peerId: string): PutStep {
    const c = this.take(peerId, 'unknown outcome')
    if ((this.attempts.get(peerId) ?? 0) < this.maxAttempts) {
      const pos = this.order.get(peerId) ?? 0
      let i = 0
      while (i < this.queue.length && (this.order.get(this.queue[i]!.peerId) ?? 0) < pos) i++
      this.queue.splice(i, 0, c)
    } else {
      this.failedPeers.push({ contact: c, reason: 'unknown outcome, attempts exhausted' })
    }
    return this.step()
  }

  /** Applies a report as relayed up a chain (see chain.ts). */
  apply(report: PutOutcome): PutStep {
    switch (report.outcome) {
      case 'stored':
        return this.ack(report.peerId)
      case 'refused':
        return this.refuse(report.peerId, report.reason)
      case 'failed':
        return this.fail(report.peerId, report.reason)
      case 'unknown':
        return this.unknown(report.peerId)
    }
  }

  private take(peerId: string, what: string): Contact {
    const c = this.inFlightPeers.get(peerId)
    if (c === undefined) throw new UnexpectedReplyError(peerId, what)
    this.inFlightPeers.delete(peerId)
    return c
  }

  private step(): PutStep {
    const send: Contact[] = []
    if (!this.settled) {
      while (this.ackedPeers.length + this.inFlightPeers.size < this.fanout && this.queue.length > 0) {
        const c = this.queue.shift()!
        this.inFlightPeers.set(c.peerId, c)
        this.attempts.set(c.peerId, (this.attempts.get(c.peerId) ?? 0) + 1)
        send.push(c)
      }
      this._status = this.nextStatus()
    }
    return { send, status: this._status }
  }

  private nextStatus(): PutStatus {
    const acks = this.ackedPeers.length
    const possible = acks + this.inFlightPeers.size + this.queue.length
    if (acks >= this.replicas) return 'complete'
    if (acks >= this.fanout) return 'delegated'
    if (acks >= this.writeQuorum) {
      return this.inFlightPeers.size === 0 && this.queue.length === 0 ? 'partial' : 'acknowledged'
    }
    if (possible < this.writeQuorum) return 'failed'
    return 'pending'
  }
}
