import type { Clock, Contact, Key, Random, TimerHandle } from '@swarmstore/core'
import { SwarmstoreError } from '@swarmstore/core'
import * as C from './constants.js'
import { RoutingEventEmitter, type RoutingEvents } from './events.js'
import { handleFindNode } from './handlers/find-node.js'
import { handlePing } from './handlers/ping.js'
import { LivenessChecker } from './liveness/liveness-checker.js'
import { iterativeLookup, type LookupContext } from './lookup/iterative-lookup.js'
import { LookupLimiter } from './lookup/lookup-limiter.js'
import type { LookupResult } from './lookup/lookup-result.js'
import type { RoutingNetwork } from './network.js'
import { randomKeyInBucket } from './refresh/random-key-in-bucket.js'
import type { Entry } from './routing-table/k-bucket.js'
import { RoutingTable } from './routing-table/routing-table.js'

/** What Kademlia needs from its surroundings (all injected: no I/O, no global time). */
export interface KademliaComponents {
  /** This node's own contact (peer id, key, addresses). */
  self: Contact
  clock: Clock
  random: Random
  network: RoutingNetwork
}

/** Tuning; every field optional with the documented default (see constants.ts). */
export interface KademliaInit {
  /** Bucket size and result size. Default 20. */
  k?: number
  /** Parallel requests per lookup. Default 3. */
  alpha?: number
  /** Replacement-cache entries per bucket. Default 20. */
  replacementCacheSize?: number
  /** Consecutive failures (request timeouts + failed pings) before eviction. Default 4. */
  evictAfterFailures?: number
  /** Idle time after which a bucket is refreshed. Default 1 h. */
  refreshIntervalMs?: number
  /** Period of the refresh timer started by start(). Default 60 s. */
  refreshCheckMs?: number
  /** Deadline of one lookup. Default 30 s. */
  lookupTimeoutMs?: number
  maxLookupCandidates?: number
  maxConcurrentLookups?: number
  maxQueuedLookups?: number
  maxConcurrentPings?: number
  maxQueuedPings?: number
  /** The head of a full bucket is re-checked when a newcomer arrives only if silent this long. Default 5 min. */
  staleContactMs?: number
}

export interface JoinResult {
  /** Contacts in the table after joining. */
  contacts: number
  /** Lookups performed (the self-lookup plus bucket refreshes). */
  lookups: number
  /** Requests sent by those lookups. */
  messages: number
}

/** Self-lookups tried before join() gives up on unresponsive bootstraps. */
const JOIN_ATTEMPTS = 3

export class RoutingJoinError extends SwarmstoreError {
  constructor(message: string) {
    super('ROUTING_JOIN_FAILED', message)
  }
}

/**
 * A Kademlia node as a sans-I/O state machine: a k-bucket routing table, α-parallel iterative
 * FIND_NODE lookups, bucket refresh, and handlers for incoming FIND_NODE/PING. The daemon feeds it
 * incoming requests (handleFindNode/handlePing) and gives it a RoutingNetwork to send its own;
 * membership feeds liveness through onAlive/onDead.
 */
export class Kademlia {
  readonly self: Contact
  readonly k: number
  readonly alpha: number
  readonly table: RoutingTable
  private readonly clock: Clock
  private readonly random: Random
  private readonly network: RoutingNetwork
  private readonly events = new RoutingEventEmitter()
  private readonly liveness: LivenessChecker
  private readonly limiter: LookupLimiter
  private readonly lookupCtx: LookupContext
  private readonly refreshIntervalMs: number
  private readonly refreshCheckMs: number
  private readonly staleContactMs: number
  private refreshTimer: TimerHandle | undefined
  private running = false
  private stopped = false

  constructor(opts: KademliaComponents & KademliaInit) {
    this.self = opts.self
    this.clock = opts.clock
    this.random = opts.random
    this.network = opts.network
    this.k = opts.k ?? C.K
    this.alpha = opts.alpha ?? C.ALPHA
    this.refreshIntervalMs = opts.refreshIntervalMs ?? C.REFRESH_INTERVAL_MS
    this.refreshCheckMs = opts.refreshCheckMs ?? C.REFRESH_CHECK_MS
    this.staleContactMs = opts.staleContactMs ?? C.STALE_CONTACT_MS
    this.table = new RoutingTable(this.self.key, {
      k: this.k,
      replacementCacheSize: opts.replacementCacheSize ?? C.REPLACEMENT_CACHE_SIZE,
      now: this.clock.now(),
      onAdded: (c) => this.events.emit('contact:added', c),
      onRemoved: (c) => this.events.emit('contact:removed', c),
    })
    this.liveness = new LivenessChecker(this.table, this.network, () => this.clock.now(), {
      evictAfterFailures: opts.evictAfterFailures ?? C.EVICT_AFTER_FAILURES,
      maxConcurrentPings: opts.maxConcurrentPings ?? C.MAX_CONCURRENT_PINGS,
      maxQueuedPings: opts.maxQueuedPings ?? C.MAX_QUEUED_PINGS,
    })
    this.limiter = new LookupLimiter(
      opts.maxConcurrentLookups ?? C.MAX_CONCURRENT_LOOKUPS,
      opts.maxQueuedLookups ?? C.MAX_QUEUED_LOOKUPS,
    )
    this.lookupCtx = {
      self: this.self,
      clock: this.clock,
      network: this.network,
      k: this.k,
      alpha: this.alpha,
      timeoutMs: opts.lookupTimeoutMs ?? C.LOOKUP_TIMEOUT_MS,
      maxCandidates: Math.max(opts.maxLookupCandidates ?? C.MAX_LOOKUP_CANDIDATES, this.k),
      onAnswer: (c) => this.observe(c),
      onFailure: (c) => this.liveness.recordFailure(c),
      stopped: () => this.stopped,
    }
  }

  /** Starts the periodic refresh of idle buckets. */
  start(): void {
    if (this.running) return
    this.running = true
    this.stopped = false
    this.liveness.resume()
    const tick = (): void => {
      this.refreshTimer = this.clock.setTimer(this.refreshCheckMs, tick)
      this.refresh().catch(() => {})
    }
    this.refreshTimer = this.clock.setTimer(this.refreshCheckMs, tick)
  }

  /** Stops timers and pending checks; running lookups end early (completed: false). */
  stop(): void {
    this.running = false
    this.stopped = true
    if (this.refreshTimer !== undefined) this.clock.clearTimer(this.refreshTimer)
    this.refreshTimer = undefined
    this.liveness.stop()
    this.limiter.clear()
  }

  on<E extends keyof RoutingEvents>(event: E, fn: (value: RoutingEvents[E]) => void): () => void {
    return this.events.on(event, fn)
  }

  /**
   * Joins the network (paper §2.3): puts the bootstrap contacts in the table, looks itself up, then
   * refreshes every bucket farther than its closest neighbour so the far buckets fill too.
   */
  async join(bootstraps: readonly Contact[], opts: { refresh?: boolean } = {}): Promise<JoinResult> {
    for (const b of bootstraps) if (b.peerId !== this.self.peerId) this.table.add(b, this.clock.now())
    // A lost packet must not fail a join: retry the self-lookup a few times (the bootstraps stay in
    // the table after one failure) before giving up.
    let lookups = 0
    let messages = 0
    const answered = (r: LookupResult): boolean => r.closest.some((c) => c.peerId !== this.self.peerId)
    for (let attempt = 0; ; attempt++) {
      const r = await this.lookup(this.self.key)
      lookups++
      messages += r.messages
      if (bootstraps.length === 0 || answered(r)) break
      if (attempt + 1 >= JOIN_ATTEMPTS) {
        throw new RoutingJoinError(
          `none of ${bootstraps.length} bootstrap contacts answered (${JOIN_ATTEMPTS} attempts)`,
        )
      }
    }
    if (opts.refresh ?? true) {
      const far = this.table.buckets().filter((b) => !this.table.holdsSelf(b))
      const results = await Promise.all(far.map((b) => this.lookup(randomKeyInBucket(b, this.random))))
      lookups += results.length
      for (const r of results) messages += r.messages
    }
    return { contacts: this.table.size, lookups, messages }
  }

  /** Finds the k closest live nodes to `target` through the network (this node included if it is one). */
  lookup(target: Key): Promise<LookupResult> {
    this.table.bucketFor(target).lastLookup = this.clock.now()
    return this.limiter.run(() => iterativeLookup(this.lookupCtx, target, this.table.closest(target, this.k)))
  }

  /** The n contacts closest to target in the local table (no network). */
  closest(target: Key, n = this.k): Contact[] {
    return this.table.closest(target, n)
  }

  /** Incoming FIND_NODE: the requester is alive; reply with our k closest to target (never itself). */
  handleFindNode(from: Contact, target: Key): Contact[] {
    return handleFindNode(this, from, target)
  }

  /** Incoming PING: the requester is alive. */
  handlePing(from: Contact): void {
    handlePing(this, from)
  }

  /**
   * We heard from `contact` (it sent us a request or answered one): refresh or insert it. When its
   * bucket is full, it waits in the replacement cache and the bucket's least-recently-seen contact
   * is questioned if it has been silent for a while.
   */
  observe(contact: Contact): void {
    if (this.stopped || contact.peerId === this.self.peerId) return
    const out = this.table.add(contact, this.clock.now())
    if (out.kind === 'cached') {
      const head = out.bucket.entries[0]
      if (head !== undefined && this.clock.now() - head.lastSeen >= this.staleContactMs)
        this.liveness.suspect(head.contact)
    }
  }

  /** Liveness seam for membership: the peer answered a probe. Unknown peers are added (if a Contact is given). */
  onAlive(peer: Contact | string): void {
    if (typeof peer !== 'string') {
      this.observe(peer)
      return
    }
    const e = this.findEntry(peer)
    if (e !== undefined) {
      e.failures = 0
      this.observe(e.contact)
    }
  }

  /**
   * Liveness seam for membership: the peer is confirmed dead (membership only says so after its
   * own repeated failed probes), so it leaves the table now and a replacement takes its slot.
   */
  onDead(peer: Contact | string): void {
    if (typeof peer !== 'string') {
      this.table.remove(peer.peerId, peer.key)
      return
    }
    const e = this.findEntry(peer)
    if (e !== undefined) this.table.remove(peer, e.contact.key)
  }

  /** Reports a failed request made outside routing (e.g. a replication transfer) to the same failure count. */
  reportFailure(contact: Contact): void {
    this.liveness.recordFailure(contact)
  }

  /**
   * Refreshes buckets that saw no lookup for refreshIntervalMs (all of them with force) by looking
   * up a random key in each one's range. Resolves with the number of lookups run.
   */
  async refresh(opts: { force?: boolean } = {}): Promise<number> {
    const now = this.clock.now()
    const idle = this.table
      .buckets()
      .filter((b) => opts.force || now - b.lastLookup >= this.refreshIntervalMs)
    await Promise.all(idle.map((b) => this.lookup(randomKeyInBucket(b, this.random))))
    return idle.length
  }

  contacts(): Contact[] {
    return this.table.contacts()
  }

  get size(): number {
    return this.table.size
  }

  /** Liveness checks queued or in flight (for tests and metrics). */
  get pendingChecks(): number {
    return this.liveness.pending
  }

  private findEntry(peerId: string): Entry | undefined {
    // peer ids are not keys: without the key we scan (membership calls this rarely)
    for (const e of this.table.entries()) if (e.contact.peerId === peerId) return e
    return undefined
  }
}
