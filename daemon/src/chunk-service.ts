import { EventEmitter } from 'node:events'
import { type Contact, keyForCid } from '@swarmstore/core'
import { shouldAccept } from '@swarmstore/replication'
import {
  CapacityExceededError,
  ChunkCorruptError,
  ChunkNotFoundError,
  type ChunkStore,
  HashMismatchError,
  toChunkCid,
} from '@swarmstore/storage'
import {
  type KeyRange,
  MAX_SUM_KEYS,
  protocolId,
  type RefuseReason,
  type Reply,
  type Request,
  type WireSummary,
} from '@swarmstore/wire'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { PeerError } from './errors.js'
import type { KadService } from './kad-service.js'
import type { Metrics, TrafficClass } from './metrics.js'
import type { PeerRpc } from './peer-rpc.js'

/** Puts carry a 1 MiB chunk: allow time for a slow fsync on the far side. */
const PUT_TIMEOUT_MS = 30_000
const GET_TIMEOUT_MS = 15_000
const HAS_TIMEOUT_MS = 10_000
/** Concurrent inbound chunk requests on one connection (each may buffer one chunk). */
const MAX_INBOUND_CHUNK_STREAMS = 32

export type PutResult = { outcome: 'stored' } | { outcome: 'refused'; reason: RefuseReason | string }

export interface ChunkServiceComponents {
  rpc: PeerRpc
  kad: KadService
  store: ChunkStore
  self: Contact
  log: Logger
  metrics: Metrics
  /**
   * Whether a routing contact counts as a node closer than us when we decide to accept a chunk: a
   * live swarm member. A contact that is not (a peer gone since, a client that only asked) cannot
   * hold the chunk, and counting it refused chunks the uploader's lookup rightly sent here.
   */
  isLiveMember: (peerId: string) => boolean
}

export interface ChunkServiceInit {
  swarm: string
  replicas: number
  /** 0 = this node stores nothing from peers (a gateway) */
  capacity: number | null
}

/** What the chunk service tells whoever keeps replicas (it calls no one back). */
export interface ChunkServiceEvents {
  /** a chunk became durable here */
  stored: [cid: CID, size: number]
  /** a local copy turned out corrupt (now quarantined) */
  corrupt: [cid: CID]
  /** a peer said it holds these chunks (a `has` with `held`) */
  'peer-holds': [peerId: string, cids: CID[]]
}

/**
 * The chunk protocol: PUT (store a chunk I am responsible for), GET, HAS, inbound and outbound.
 * Requests addressed to ourselves short-cut to the local store, so placement code treats self as
 * one more candidate.
 */
export class ChunkService extends EventEmitter<ChunkServiceEvents> {
  readonly protocol: string
  private readonly rpc: PeerRpc
  private readonly kad: KadService
  private readonly store: ChunkStore
  private readonly self: Contact
  private readonly log: Logger
  private readonly metrics: Metrics
  private readonly isLiveMember: (peerId: string) => boolean
  private readonly replicas: number
  private readonly capacity: number | null
  /** chunks being stored right now (pushed by a peer) */
  private readonly incoming = new Set<string>()

  constructor(components: ChunkServiceComponents, init: ChunkServiceInit) {
    super()
    this.rpc = components.rpc
    this.kad = components.kad
    this.store = components.store
    this.self = components.self
    this.log = components.log
    this.metrics = components.metrics
    this.isLiveMember = components.isLiveMember
    this.replicas = init.replicas
    this.capacity = init.capacity
    this.protocol = protocolId(init.swarm, 'chunk')
  }

  async start(): Promise<void> {
    await this.rpc.serve(this.protocol, (from, req) => this.handle(from, req), MAX_INBOUND_CHUNK_STREAMS)
  }

  /** Nothing to stop: the protocol handler goes with the libp2p node. */
  stop(): void {}

  private isSelf(c: Contact): boolean {
    return c.peerId === this.self.peerId
  }

  /** The store's quota check (before anything is written) refuses the rest with CapacityExceededError. */
  private hasRoom(): boolean {
    return this.capacity !== 0
  }

  /** Admission and durable store of a chunk pushed by a peer (or by ourselves as a placement member). */
  async storeIncoming(cid: CID, data: Uint8Array, opts: { trusted: boolean }): Promise<PutResult> {
    const key = keyForCid(cid)
    // Sent a chunk we have: the sender thinks we lack it, maybe because our copy served bad bytes
    // (peers are served unverified; readers verify). Check ours: a corrupt one is quarantined and
    // replaced by these bytes.
    if ((await this.store.has(cid)) && (await this.goodCopy(cid))) return { outcome: 'stored' }
    const d = shouldAccept({
      selfKey: this.self.key,
      key,
      closestKnown: this.kad.kad.closest(key, 20).filter((c) => this.isLiveMember(c.peerId)),
      replicas: this.replicas,
      hasCapacity: this.hasRoom(),
    })
    if (!d.accept) {
      this.metrics.chunksRefused.inc({ reason: d.reason })
      return { outcome: 'refused', reason: d.reason }
    }
    const id = cid.toString()
    this.incoming.add(id)
    try {
      await this.store.put(cid, data, { trusted: opts.trusted })
    } catch (err) {
      if (err instanceof CapacityExceededError) return { outcome: 'refused', reason: 'no-capacity' }
      if (err instanceof HashMismatchError) return { outcome: 'refused', reason: 'bad-chunk' }
      throw err
    } finally {
      this.incoming.delete(id)
    }
    this.metrics.chunksReceived.inc()
    this.emit('stored', cid, data.byteLength)
    return { outcome: 'stored' }
  }

  /**
   * Verifies our copy of cid: false when it is missing or corrupt (a corrupt one is quarantined
   * and reported as a corrupt event).
   */
  async goodCopy(cid: CID): Promise<boolean> {
    try {
      await this.store.get(cid)
      return true
    } catch (err) {
      if (err instanceof ChunkCorruptError) {
        this.log.warn({ cid: cid.toString() }, 'corrupt chunk quarantined')
        this.metrics.chunksCorrupt.inc()
        this.emit('corrupt', cid)
        return false
      }
      if (err instanceof ChunkNotFoundError) return false
      throw err
    }
  }

  /** A chunk a peer pushes to us (an upload's copy, a repair or a handoff: the wire does not say). */
  private async handlePut(cidBytes: Uint8Array, data: Uint8Array): Promise<Reply> {
    let cid: CID
    try {
      cid = toChunkCid(cidBytes)
    } catch (err) {
      return { t: 'refused', reason: 'bad-chunk', msg: (err as Error).message }
    }
    if (data.byteLength > this.rpc.chunkSize) {
      // frames are bounded already; this is the chunk-size rule of the swarm
      return { t: 'refused', reason: 'bad-chunk', msg: 'chunk larger than the swarm chunk size' }
    }
    this.metrics.countChunkBytes('in', 'put', data.byteLength)
    const r = await this.storeIncoming(cid, data, { trusted: false })
    return r.outcome === 'stored'
      ? { t: 'stored' }
      : { t: 'refused', reason: r.reason as RefuseReason, msg: '' }
  }

  private async handle(from: Contact, req: Request): Promise<Reply> {
    this.kad.kad.observe(from)
    switch (req.t) {
      case 'put':
        return this.handlePut(req.cid, req.data)
      case 'get': {
        let cid: CID
        try {
          cid = toChunkCid(req.cid)
        } catch {
          return { t: 'missing' }
        }
        try {
          // Unverified: the reader hashes every chunk it receives, and a mismatch makes it send us
          // a good copy (storeIncoming then checks and replaces ours). One hash per read, not two.
          const data = await this.store.get(cid, { verify: false })
          this.metrics.chunksServed.inc()
          this.metrics.countChunkBytes('out', 'get', data.byteLength)
          return { t: 'block', data }
        } catch (err) {
          if (err instanceof ChunkNotFoundError) return { t: 'missing' }
          if (err instanceof ChunkCorruptError) {
            this.log.warn({ cid: cid.toString() }, 'corrupt chunk quarantined while serving a peer')
            this.metrics.chunksCorrupt.inc()
            this.emit('corrupt', cid)
            return { t: 'missing' }
          }
          throw err
        }
      }
      case 'has': {
        const have: boolean[] = []
        const held: CID[] = []
        for (const c of req.cids) {
          try {
            const cid = toChunkCid(c)
            if (req.held) held.push(cid)
            // A copy being stored right now counts: a second healer asking in the meantime must
            // not send the same bytes again (if that put fails, the audit finds the gap).
            have.push(this.incoming.has(cid.toString()) || (await this.store.has(cid)))
          } catch {
            have.push(false)
          }
        }
        if (held.length > 0) this.emit('peer-holds', from.peerId, held)
        return { t: 'have', have }
      }
      case 'sum': {
        // Anti-entropy: summaries (O(1) from the store's prefix tree up to 12 bits, a range scan
        // below) and bounded key lists; the total is capped like the frame.
        const sums = req.ranges.map((r) => {
          const x = this.store.rangeSummary(r.key, r.bits)
          return { count: x.count, xor: x.xor }
        })
        let budget = MAX_SUM_KEYS
        const keys = req.keyRanges.map((r) => {
          const l = this.store.keysUnder(r.key, r.bits, Math.min(req.limit, budget))
          budget -= l.length
          return l
        })
        return { t: 'sums', sums, keys }
      }
      default:
        return { t: 'err', code: 'BAD_MESSAGE', msg: `${req.t} is not a chunk request` }
    }
  }

  // --- outbound ------------------------------------------------------------------------------

  /** `purpose` labels the bytes sent in the traffic counters (an upload's copy by default). */
  async putTo(to: Contact, cid: CID, data: Uint8Array, purpose: TrafficClass = 'put'): Promise<PutResult> {
    if (this.isSelf(to)) return this.storeIncoming(cid, data, { trusted: true })
    this.metrics.chunkBytesPushed.inc(data.byteLength)
    this.metrics.countChunkBytes('out', purpose, data.byteLength)
    const r = await this.rpc.request(
      to,
      this.protocol,
      { ...this.rpc.base(), t: 'put', cid: cid.bytes, data },
      PUT_TIMEOUT_MS,
    )
    if (r.t === 'stored') return { outcome: 'stored' }
    if (r.t === 'refused') return { outcome: 'refused', reason: r.reason }
    throw new PeerError('BAD_REPLY', `${to.peerId}: unexpected ${r.t} to put`)
  }

  /** The chunk's bytes as the peer sent them (unverified), or null when it does not have it. */
  async getFrom(to: Contact, cid: CID): Promise<Uint8Array | null> {
    if (this.isSelf(to)) {
      try {
        return await this.store.get(cid, { verify: false }) // the reader verifies
      } catch (err) {
        if (err instanceof ChunkCorruptError) this.emit('corrupt', cid)
        if (err instanceof ChunkNotFoundError || err instanceof ChunkCorruptError) return null
        throw err
      }
    }
    const r = await this.rpc.request(
      to,
      this.protocol,
      { ...this.rpc.base(), t: 'get', cid: cid.bytes },
      GET_TIMEOUT_MS,
    )
    if (r.t === 'block') {
      this.metrics.countChunkBytes('in', 'get', r.data.byteLength)
      return r.data
    }
    if (r.t === 'missing') return null
    throw new PeerError('BAD_REPLY', `${to.peerId}: unexpected ${r.t} to get`)
  }

  /** One anti-entropy query: summaries of `ranges` and the keys under `keyRanges` at `to`. */
  async summariesAt(
    to: Contact,
    ranges: KeyRange[],
    keyRanges: KeyRange[],
    limit: number,
  ): Promise<{ sums: WireSummary[]; keys: Uint8Array[][] }> {
    const r = await this.rpc.request(
      to,
      this.protocol,
      { ...this.rpc.base(), t: 'sum', ranges, keyRanges, limit },
      HAS_TIMEOUT_MS,
    )
    if (r.t !== 'sums' || r.sums.length !== ranges.length || r.keys.length !== keyRanges.length) {
      throw new PeerError('BAD_REPLY', `${to.peerId}: unexpected ${r.t} to sum`)
    }
    return r
  }

  /**
   * Which of `cids` the peer holds. `held`: we hold every one of them ourselves, and say so (to
   * peers that speak minor ≥ 1), so the peer counts us as a holder without asking back.
   */
  async hasAt(to: Contact, cids: CID[], opts: { held?: boolean } = {}): Promise<boolean[]> {
    if (this.isSelf(to)) return Promise.all(cids.map((c) => this.store.has(c)))
    const held = opts.held === true && (this.rpc.peerMinor(to.peerId) ?? 0) >= 1
    const r = await this.rpc.request(
      to,
      this.protocol,
      { ...this.rpc.base(), t: 'has', cids: cids.map((c) => c.bytes), ...(held ? { held: true } : {}) },
      HAS_TIMEOUT_MS,
    )
    if (r.t !== 'have' || r.have.length !== cids.length) {
      throw new PeerError('BAD_REPLY', `${to.peerId}: unexpected ${r.t} to has`)
    }
    return r.have
  }
}
