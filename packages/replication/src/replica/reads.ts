import type { Contact, Key } from '@swarmstore/core'
import { ReadPlan, type ReadStep } from '../read-plan.js'
import { PeerStalls } from '../stalls.js'
import type { Outbox } from './outbox.js'
import type { ReplicaReply } from './types.js'

/**
 * Hedge a chunk get after max(50 ms, 3 × the recent mean get latency), at most 5 s: a hedge is
 * for the holder that is truly slower than its peers, not for a busy swarm (the budget bounds
 * those). Lower catches a busy holder sooner (reads during a repair set the p99) at the cost of
 * more duplicate reads when every holder is slow.
 */
const HEDGE_MIN_MS = 50
const HEDGE_MAX_MS = 5_000
/**
 * Each chunk read earns HEDGE_BUDGET of a hedge (banked up to HEDGE_BANK), so early hedges double
 * at most ~10% of reads however loaded the swarm: on a busy machine every answer is slow, and
 * unbudgeted hedges double the work that made it slow. Over budget, a read waits one more hedge
 * delay and then hedges anyway: that holder is stuck, not slow.
 */
const HEDGE_BUDGET = 0.1
const HEDGE_BANK = 10
/** Candidates a read widens to after the lookup (k). */
const LOOKUP_WIDTH = 20

interface ReadOp {
  readonly op: number
  readonly key: Key
  readonly tried: Set<string>
  missing: number
  plan: ReadPlan
  hedgeAfterMs: number
  startedAt: number
  hedgeAt: number | undefined
  /** over budget once already: the next due hedge goes out regardless */
  forced: boolean
  phase: 'local' | 'lookup'
  /** the lookup failed: the read ends with what the local candidates said */
  lookupFailed: boolean
}

export interface ReplicaReadsInit {
  self: Contact
  replicas: number
  /** members under suspicion: asked last */
  isSuspect: (peerId: string) => boolean
}

/**
 * Reads of chunks from the swarm: the R closest contacts of our own table first (a get costs one
 * request in a swarm the table covers), the lookup's k closest only when none of them has it.
 * Holds the hedge budget, the latency average and the holders that stall our requests.
 */
export class ReplicaReads {
  private readonly out: Outbox
  private readonly init: ReplicaReadsInit
  private readonly ops = new Map<number, ReadOp>()
  private readonly stalls = new PeerStalls()
  /** EWMA of successful chunk get latency (ms) */
  private latencyMs = 50
  private hedgeTokens = HEDGE_BANK
  hedges = 0

  constructor(out: Outbox, init: ReplicaReadsInit) {
    this.out = out
    this.init = init
  }

  get size(): number {
    return this.ops.size
  }

  /** Starts read `op` of key over `local` (the routing table's R closest; may be empty). */
  start(op: number, key: Key, local: readonly Contact[], now: number): void {
    const r: ReadOp = {
      op,
      key,
      tried: new Set(),
      missing: 0,
      plan: undefined as unknown as ReadPlan,
      hedgeAfterMs: 0,
      startedAt: now,
      hedgeAt: undefined,
      forced: false,
      phase: 'local',
      lookupFailed: false,
    }
    this.ops.set(op, r)
    if (local.length === 0) {
      this.lookup(r)
      return
    }
    this.begin(r, local, local.length, now)
  }

  /** The caller gave up (its signal aborted): late replies are ignored. */
  cancel(op: number): void {
    this.ops.delete(op)
  }

  nextWakeAt(): number | undefined {
    let t: number | undefined
    for (const r of this.ops.values())
      if (r.hedgeAt !== undefined && (t === undefined || r.hedgeAt < t)) t = r.hedgeAt
    return t
  }

  tick(now: number): void {
    for (const r of [...this.ops.values()]) {
      if (r.hedgeAt === undefined || r.hedgeAt > now) continue
      r.hedgeAt = undefined
      if (this.hedgeTokens < 1 && !r.forced) {
        r.forced = true
        r.hedgeAt = now + r.hedgeAfterMs
        continue
      }
      const s = r.plan.tick(now)
      this.hedgeTokens -= s.ask.length
      this.hedges += s.ask.length
      this.apply(r, s, now)
    }
  }

  private hedgeAfter(): number {
    return Math.min(HEDGE_MAX_MS, Math.max(HEDGE_MIN_MS, 3 * this.latencyMs))
  }

  private begin(r: ReadOp, candidates: readonly Contact[], width: number, now: number): void {
    const hedgeAfterMs = this.hedgeAfter()
    r.hedgeAfterMs = hedgeAfterMs
    r.startedAt = now
    // Ask last: members under suspicion, and holders that have left one of our gets unanswered
    // for a hedge delay (a frozen or swamped holder, noticed long before membership suspects it).
    r.plan = new ReadPlan({
      key: r.key,
      closest: candidates,
      replicas: this.init.replicas,
      width,
      hedgeAfterMs,
      deprioritize: (c) => this.stalls.stalled(c.peerId, now, hedgeAfterMs) || this.init.isSuspect(c.peerId),
    })
    this.hedgeTokens = Math.min(HEDGE_BANK, this.hedgeTokens + HEDGE_BUDGET)
    this.apply(r, r.plan.start(now), now)
  }

  private lookup(r: ReadOp): void {
    r.phase = 'lookup'
    r.hedgeAt = undefined
    this.out.lookup(r.key, (reply, now) => {
      if (this.ops.get(r.op) !== r) return
      if (reply.t !== 'contacts') {
        r.lookupFailed = true
        return this.fail(r)
      }
      const rest = reply.contacts.filter((c) => c.peerId !== this.init.self.peerId && !r.tried.has(c.peerId))
      this.begin(r, rest, LOOKUP_WIDTH, now)
    })
  }

  private apply(r: ReadOp, s: ReadStep, now: number): void {
    if (this.ops.get(r.op) !== r) return
    if (s.status === 'not-found') {
      r.phase === 'local' ? this.lookup(r) : this.fail(r)
      return
    }
    for (const c of s.ask) this.ask(r, c, now)
    r.hedgeAt = s.hedgeAt
    r.forced = false
  }

  private fail(r: ReadOp): void {
    this.ops.delete(r.op)
    // nobody said "missing": they failed or timed out — the chunk may well exist
    const notFound = r.missing > 0 || r.tried.size === 0
    this.out.emit({ type: 'read-failed', op: r.op, notFound, asked: r.tried.size, lookup: r.lookupFailed })
  }

  private ask(r: ReadOp, c: Contact, now: number): void {
    r.tried.add(c.peerId)
    this.stalls.sent(c.peerId, now)
    const plan = r.plan
    this.out.send(c, { t: 'get', op: r.op, key: r.key }, (reply, t) =>
      this.answered(r, plan, c, now, reply, t),
    )
  }

  private answered(
    r: ReadOp,
    plan: ReadPlan,
    c: Contact,
    sentAt: number,
    reply: ReplicaReply,
    now: number,
  ): void {
    const answered = reply.t !== 'failed'
    this.stalls.settled(c.peerId, now, answered)
    // up fast, down slowly: when a bulk read starts, the first wave's latency would otherwise
    // look like a swarm of slow holders and be hedged
    if (reply.t === 'found' || reply.t === 'corrupt') {
      const ms = now - sentAt
      const a = ms > this.latencyMs ? 0.3 : 0.1
      this.latencyMs = (1 - a) * this.latencyMs + a * ms
    }
    if (this.ops.get(r.op) !== r || r.plan !== plan) return
    if (reply.t === 'found') {
      plan.found(c.peerId)
      this.ops.delete(r.op)
      this.out.emit({ type: 'read-found', op: r.op, from: c.peerId, repairTo: plan.repairTargets() })
      return
    }
    if (reply.t === 'missing') r.missing++
    const miss = reply.t === 'missing' ? 'missing' : reply.t === 'corrupt' ? 'corrupt' : 'failed'
    this.apply(r, plan.miss(c.peerId, miss, now), now)
  }
}
