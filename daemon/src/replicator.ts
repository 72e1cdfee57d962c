import { createHash } from 'node:crypto'
import { type Contact, keyForCid, sortByDistance } from '@swarmstore/core'
import { PeerStalls, type PutOutcome, PutQuorum, ReadPlan } from '@swarmstore/replication'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import type { ChunkService } from './chunk-service.js'
import { InsufficientReplicasError, NotFoundError, UnavailableError } from './errors.js'
import type { KadService } from './kad-service.js'
import type { Metrics } from './metrics.js'

/** A peer that refused for capacity is skipped by our puts for this long. */
const FULL_PEER_MS = 60_000
/**
 * Hedge a chunk get after max(50 ms, 3 × the recent mean get latency), at most 5 s: a hedge is
 * for the holder that is truly slower than its peers, not for a busy swarm (the budget below
 * bounds them). During a repair the reads that met a busy holder set the p99, which sat just above
 * the hedge delay plus a second holder's answer: 250 → 100 ms took bench:heal's p99 during repair
 * from 312–507 to 168–244 ms, and 100 → 50 ms from 145–223 to 73–125 ms in most runs (baseline p99
 * ~30 ms, where a 50 ms hedge is rare).
 */
const HEDGE_MIN_MS = 50
const HEDGE_MAX_MS = 5_000
const SMALL_SWARM_TTL_MS = 5_000
/**
 * Hedges are budgeted: each chunk read earns HEDGE_BUDGET of a hedge (banked up to HEDGE_BANK),
 * so early hedges double at most ~10% of reads, however loaded the swarm: on a busy machine every
 * answer is slow, and unbudgeted hedges doubled the work that made it slow. Over budget, a read
 * waits one more hedge delay and then hedges anyway: that holder is stuck, not slow. (Waiting
 * longer, 1 s, put the p99 during a repair at 1.1 s.)
 */
const HEDGE_BUDGET = 0.1
const HEDGE_BANK = 10

/** Bytes from a peer are never trusted: SHA-256 must equal the CID's digest (all our CIDs are sha2-256). */
export function bytesMatchCid(cid: CID, bytes: Uint8Array): boolean {
  if (cid.multihash.code !== 0x12) return false
  const d = createHash('sha256').update(bytes).digest()
  return Buffer.compare(d, cid.multihash.digest) === 0
}

export interface ChunkPut {
  /** resolves when W replicas hold the chunk durably; rejects with INSUFFICIENT_REPLICAS */
  acknowledged: Promise<Contact[]>
  /** resolves when the put settled (R copies, or as many as the swarm could take) */
  settled: Promise<Contact[]>
}

/**
 * Placement, write quorum and reads over the network: the pure PutQuorum and ReadPlan state
 * machines from @swarmstore/replication, driven with real requests and timers.
 */
export class Replicator {
  private readonly fullPeers = new Map<string, number>()
  private smallSwarm: { at: number; contacts: readonly Contact[] } | undefined
  /** EWMA of successful chunk get latency (ms) */
  private getLatencyMs = 50
  private hedgeTokens = HEDGE_BANK
  /** holders not answering our chunk gets right now: reads ask their co-holders first */
  private readonly stalls = new PeerStalls()
  /** hedged chunk requests sent (for tests and metrics) */
  hedges = 0

  private hedgeAfterMs(): number {
    return Math.min(HEDGE_MAX_MS, Math.max(HEDGE_MIN_MS, 3 * this.getLatencyMs))
  }
  /** copies sent by read repair (placement members that answered missing or corrupt) */
  readRepairs = 0
  readRepairBytes = 0
  /** background completions still running (a put acknowledged at W, going on to R) */
  pending = 0

  constructor(
    private readonly kad: KadService,
    private readonly chunks: ChunkService,
    private readonly opts: {
      replicas: number
      writeQuorum: number
      selfFull: boolean
      selfId: string
      /** peers that advertise no free capacity (membership metadata) */
      advertisedFull?: (peerId: string) => boolean
      /** members under suspicion (failed a probe): reads ask them last */
      suspected?: (peerId: string) => boolean
    },
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  private isFull = (c: Contact): boolean => {
    if (c.peerId === this.opts.selfId) return this.opts.selfFull
    if (this.opts.advertisedFull?.(c.peerId)) return true
    const until = this.fullPeers.get(c.peerId)
    if (until === undefined) return false
    if (until < Date.now()) {
      this.fullPeers.delete(c.peerId)
      return false
    }
    return true
  }

  /**
   * The k closest live nodes to key, by a network lookup. One shortcut, for small swarms: a
   * completed lookup that found fewer than k nodes found the whole reachable swarm, and then the
   * k closest to *any* key are that same set, ordered. Such a result is reused for
   * SMALL_SWARM_TTL_MS and forgotten at once when our routing table gains or loses a contact, so a
   * put of a file in a 5-node swarm costs one lookup, not one per chunk. Swarms of k nodes or more
   * look up every key.
   */
  async closest(key: Uint8Array): Promise<Contact[]> {
    const k = this.kad.kad.k
    const s = this.smallSwarm
    if (s !== undefined && Date.now() - s.at < SMALL_SWARM_TTL_MS)
      return sortByDistance([...s.contacts], (c) => c.key, key)
    const r = await this.kad.lookup(key)
    this.metrics.lookups.inc()
    this.metrics.lookupHops.observe(r.hops)
    this.smallSwarm =
      r.completed && r.closest.length < k ? { at: Date.now(), contacts: r.closest } : undefined
    return r.closest
  }

  /** Called on routing-table changes: a cached small-swarm view may be stale. */
  forgetSwarmView(): void {
    this.smallSwarm = undefined
  }

  /**
   * Sends one chunk to its closest nodes (self included when it is one of them): to the R closest
   * with `fanout` R, or to the W closest with `fanout` W, leaving the remaining copies to the
   * holders' healing (they check their co-holders seconds after storing and fill the gap from
   * their own disks), so the uploader sends W copies, not R.
   */
  put(cid: CID, bytes: Uint8Array, opts: { fanout?: number } = {}): ChunkPut {
    const ack = Promise.withResolvers<Contact[]>()
    const done = Promise.withResolvers<Contact[]>()
    ack.promise.catch(() => {})
    done.promise.catch(() => {})
    this.pending++
    this.runPut(cid, bytes, opts.fanout ?? this.opts.replicas, ack, done)
      .catch((err) => {
        ack.reject(err)
        done.reject(err)
      })
      .finally(() => {
        this.pending--
      })
    return { acknowledged: ack.promise, settled: done.promise }
  }

  private async runPut(
    cid: CID,
    bytes: Uint8Array,
    fanout: number,
    ack: PromiseWithResolvers<Contact[]>,
    done: PromiseWithResolvers<Contact[]>,
  ): Promise<void> {
    const key = keyForCid(cid)
    const candidates = await this.closest(key)
    const q = new PutQuorum({
      key,
      candidates,
      replicas: this.opts.replicas,
      writeQuorum: this.opts.writeQuorum,
      fanout,
      isFull: this.isFull,
    })
    const settled = Promise.withResolvers<void>()
    let acked = false
    const finish = () => {
      if (q.acknowledged && !acked) {
        acked = true
        ack.resolve([...q.holders])
      }
      if (q.settled) settled.resolve()
    }
    const launch = (to: readonly Contact[]) => {
      for (const c of to) {
        this.chunks
          .putTo(c, cid, bytes)
          .then(
            (r): PutOutcome =>
              r.outcome === 'stored'
                ? { peerId: c.peerId, outcome: 'stored' }
                : { peerId: c.peerId, outcome: 'refused', reason: r.reason },
            (err: Error & { code?: string }): PutOutcome =>
              err.code === 'TIMEOUT'
                ? { peerId: c.peerId, outcome: 'unknown' }
                : { peerId: c.peerId, outcome: 'failed', reason: err.message },
          )
          .then((outcome) => {
            if (outcome.outcome === 'refused' && outcome.reason === 'no-capacity') {
              this.fullPeers.set(c.peerId, Date.now() + FULL_PEER_MS)
            }
            if (outcome.outcome === 'failed') this.kad.kad.reportFailure(c)
            const step = q.apply(outcome)
            launch(step.send)
            finish()
          })
      }
    }
    const first = q.start()
    launch(first.send)
    finish()
    await settled.promise
    if (!acked) {
      const why = [
        ...q.refused.map((r) => `${r.contact.peerId.slice(-6)} refused (${r.reason})`),
        ...q.failed.map((f) => `${f.contact.peerId.slice(-6)} failed (${f.reason})`),
      ]
      const err = new InsufficientReplicasError(
        `chunk ${cid} reached ${q.holders.length} of W=${this.opts.writeQuorum} replicas among ${candidates.length} candidates${why.length ? `: ${why.join('; ')}` : ''}`,
      )
      ack.reject(err)
      done.reject(err)
      return
    }
    done.resolve([...q.holders])
  }

  /**
   * Fetches a chunk from the swarm, verified. Fast path: the R closest contacts our own table
   * knows are asked first — in a swarm our table covers they are the holders and a get costs one
   * request, no lookup. Only when none of them has it does the network lookup (the authority)
   * give the k closest, tried nearest first, hedged, before NOT_FOUND.
   */
  async get(cid: CID, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const key = keyForCid(cid)
    const local = this.kad.kad.closest(key, this.opts.replicas)
    const tried = new Set<string>()
    const seen = { missing: 0 }
    if (local.length > 0) {
      const r = await this.readFrom(cid, key, local, local.length, tried, seen, opts.signal)
      if (r !== null) return r
    }
    const closest = (await this.closest(key)).filter(
      (c) => c.peerId !== this.opts.selfId && !tried.has(c.peerId),
    )
    const r = await this.readFrom(cid, key, closest, 20, tried, seen, opts.signal)
    if (r === null) {
      if (seen.missing === 0 && tried.size > 0) {
        // nobody said "missing": they failed or timed out — the chunk may well exist
        throw new UnavailableError(`chunk ${cid}: none of the ${tried.size} closest peers answered in time`)
      }
      throw new NotFoundError(`chunk ${cid} not found on the ${tried.size} closest peers`)
    }
    return r
  }

  /** One ReadPlan over `candidates`: the verified bytes, or null when every candidate missed. */
  private readFrom(
    cid: CID,
    key: Uint8Array,
    candidates: Contact[],
    width: number,
    tried: Set<string>,
    seen: { missing: number },
    signal?: AbortSignal,
  ): Promise<Uint8Array | null> {
    const hedgeAfterMs = this.hedgeAfterMs()
    const startedAt = Date.now() // io-edge
    const plan = new ReadPlan({
      key,
      closest: candidates,
      replicas: this.opts.replicas,
      width,
      hedgeAfterMs,
      // Ask last: members under suspicion, and holders that have left one of our gets unanswered
      // for a hedge delay (a frozen or swamped holder, noticed long before membership suspects it).
      deprioritize: (c: Contact) =>
        this.stalls.stalled(c.peerId, startedAt, hedgeAfterMs) || this.opts.suspected?.(c.peerId) === true,
    })
    const result = Promise.withResolvers<Uint8Array | null>()
    let timer: NodeJS.Timeout | undefined
    let over = false
    // The signal is the whole file's: a listener left on it would keep this read's plan and its
    // verified bytes alive until the file ends (a 256 MiB get held 256 MiB).
    const onAbort = () => end(signal!.reason as Error)
    const end = (v: Uint8Array | null | Error) => {
      if (over) return
      over = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (v instanceof Error) result.reject(v)
      else result.resolve(v)
    }
    const apply = (s: ReturnType<ReadPlan['start']>) => {
      if (over) return
      if (s.status === 'not-found') return end(null)
      for (const c of s.ask) ask(c)
      clearTimeout(timer)
      if (s.hedgeAt !== undefined) armHedge(Math.max(0, s.hedgeAt - Date.now())) // io-edge
    }
    const armHedge = (ms: number, force = false) => {
      timer = setTimeout(() => {
        if (over) return
        // Over budget: wait as long again; a holder that has not answered by then is stuck, not
        // just slow: hedge anyway.
        if (this.hedgeTokens < 1 && !force) return armHedge(hedgeAfterMs, true)
        const s = plan.tick(Date.now()) // io-edge
        this.hedgeTokens -= s.ask.length
        this.hedges += s.ask.length
        apply(s)
      }, ms) // io-edge
    }
    this.hedgeTokens = Math.min(HEDGE_BANK, this.hedgeTokens + HEDGE_BUDGET)
    const ask = (c: Contact) => {
      tried.add(c.peerId)
      const t0 = Date.now() // io-edge
      this.stalls.sent(c.peerId, t0)
      this.chunks.getFrom(c, cid).then(
        (bytes) => {
          this.stalls.settled(c.peerId, Date.now(), true) // io-edge
          if (bytes !== null) {
            // up fast, down slowly: when a bulk read starts, the first wave's latency would
            // otherwise look like a swarm of slow holders and be hedged
            const ms = Date.now() - t0 // io-edge
            const a = ms > this.getLatencyMs ? 0.3 : 0.1
            this.getLatencyMs = (1 - a) * this.getLatencyMs + a * ms
          }
          if (over) return
          if (bytes === null) {
            seen.missing++
            return apply(plan.miss(c.peerId, 'missing', Date.now()))
          }
          if (!bytesMatchCid(cid, bytes)) {
            this.log.warn(
              { peer: c.peerId, cid: cid.toString() },
              'peer sent a chunk that does not match its CID',
            )
            return apply(plan.miss(c.peerId, 'corrupt', Date.now()))
          }
          plan.found(c.peerId)
          end(bytes)
          this.readRepair(plan, cid, bytes)
        },
        () => {
          this.stalls.settled(c.peerId, Date.now(), false) // io-edge
          if (over) return
          apply(plan.miss(c.peerId, 'failed', Date.now()))
        },
      )
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) onAbort()
    apply(plan.start(startedAt))
    return result.promise
  }

  /** Placement members that answered missing/corrupt get the verified bytes (best effort). */
  private readRepair(plan: ReadPlan, cid: CID, got: Uint8Array): void {
    const targets = plan.repairTargets()
    if (targets.length === 0) return
    // our own copy: the reader may give `got` back to the reply pool while these pushes still send it
    const bytes = got.slice()
    for (const c of targets) {
      this.metrics.repairs.inc({ reason: 'read-repair' })
      this.chunks.putTo(c, cid, bytes).then(
        (r) => {
          if (r.outcome === 'stored') {
            this.readRepairs++
            this.readRepairBytes += bytes.byteLength
          }
        },
        () => {},
      )
    }
  }
}
