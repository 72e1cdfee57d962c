import type { Contact, Key } from '@swarmstore/core'
import type { ChunkStore } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import type { ChunkService } from './chunk-service.js'
import { Healer } from './healer.js'
import type { KadService } from './kad-service.js'
import type { Metrics } from './metrics.js'
import { type ChunkPut, Replicator } from './replicator.js'

export type { ChunkPut }

export interface ReplicaAdapterComponents {
  self: Contact
  store: ChunkStore
  chunks: ChunkService
  kad: KadService
  log: Logger
  metrics: Metrics
  /** members that advertise no free capacity (membership metadata): placement skips them */
  isAdvertisedFull: (peerId: string) => boolean
  /** members under suspicion (failed a probe): reads ask them last */
  isSuspect: (peerId: string) => boolean
}

export interface ReplicaAdapterInit {
  replicas: number
  writeQuorum: number
  /** this node stores nothing from peers (capacity 0, a gateway) */
  selfFull: boolean
  /** bytes per second of repair and handoff traffic this node sends */
  repairBytesPerSecond: number
  /** grace window before re-replicating around a dead member */
  graceMs: number
  /** how often anti-entropy sessions run with the nearest members */
  auditIntervalMs: number
}

export interface ReplicaStats {
  /** background completions still running (a put acknowledged at W, going on to R) */
  replicating: number
  underReplicated: number
  hedges: number
  repair: { sent: number; bytes: number; dropped: number }
  antiEntropy: { sessions: number; requests: number; gapsFound: number }
}

/**
 * The daemon's one door to chunk replication: puts to the swarm, verified reads from it, and the
 * node's side of keeping R copies of what it holds (healing, anti-entropy). Listens to the chunk
 * service's events (stored, corrupt, peer-holds) and to routing changes; nothing calls back into it.
 */
export class ReplicaAdapter {
  private readonly c: ReplicaAdapterComponents
  private readonly healer: Healer
  private readonly replicator: Replicator

  constructor(components: ReplicaAdapterComponents, init: ReplicaAdapterInit) {
    this.c = components
    const { self, store, chunks, kad, log, metrics, isAdvertisedFull, isSuspect } = components
    this.healer = new Healer({
      self,
      store,
      chunks,
      replicas: init.replicas,
      repairBytesPerSecond: init.repairBytesPerSecond,
      graceMs: init.graceMs,
      auditIntervalMs: init.auditIntervalMs,
      isFull: (c) => c.peerId !== self.peerId && isAdvertisedFull(c.peerId),
      log,
      metrics,
    })
    this.replicator = new Replicator(
      kad,
      chunks,
      {
        replicas: init.replicas,
        writeQuorum: init.writeQuorum,
        selfFull: init.selfFull,
        selfId: self.peerId,
        advertisedFull: isAdvertisedFull,
        suspected: isSuspect,
      },
      log,
      metrics,
    )
  }

  async start(): Promise<void> {
    const { chunks, kad } = this.c
    chunks.on('stored', (cid) => this.healer.stored(cid))
    chunks.on('corrupt', (cid) => this.healer.lost(cid))
    chunks.on('peer-holds', (peerId, cids) => this.healer.peerHolds(peerId, cids))
    kad.kad.on('contact:added', () => this.replicator.forgetSwarmView())
    kad.kad.on('contact:removed', () => this.replicator.forgetSwarmView())
    await this.healer.start()
  }

  async stop(): Promise<void> {
    this.healer.stop()
  }

  /** Waits (at most `ms`) for puts acknowledged at W to finish their remaining copies. */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms // io-edge
    while (this.replicator.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50)) // io-edge
  }

  /** Sends a chunk to its closest nodes: `fanout` copies from here, the rest made by the holders. */
  put(cid: CID, bytes: Uint8Array, opts: { fanout?: number } = {}): ChunkPut {
    return this.replicator.put(cid, bytes, opts)
  }

  /** A chunk from the swarm, verified against its CID. */
  get(cid: CID, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.replicator.get(cid, opts)
  }

  /** The closest live nodes to key (a lookup, or the cached view of a small swarm). */
  closest(key: Key): Promise<Contact[]> {
    return this.replicator.closest(key)
  }

  /** A chunk became durable here outside the chunk protocol (a pin, a restored copy). */
  stored(cid: CID): void {
    this.healer.stored(cid)
  }

  /**
   * Our copy is unusable (found corrupt and quarantined, or missing): forget it, count it. The one
   * place the corrupt-local-copy path is decided.
   */
  localCopyBad(cid: CID, why: string): void {
    this.healer.lost(cid)
    this.c.metrics.chunksCorrupt.inc()
    this.c.log.warn({ cid: cid.toString(), err: why }, 'local chunk unusable')
  }

  /** Writes a good copy fetched from a replica back as ours (it was ours to hold). */
  async restoreLocalCopy(cid: CID, bytes: Uint8Array): Promise<void> {
    await this.c.store.put(cid, bytes, { trusted: true })
    this.healer.stored(cid)
  }

  memberUp(c: Contact, opts: { ask: boolean }): void {
    this.healer.memberUp(c, opts)
  }

  memberDown(c: Contact): void {
    this.healer.memberDown(c)
  }

  stats(): ReplicaStats {
    const h = this.healer
    const r = this.replicator
    return {
      replicating: r.pending,
      underReplicated: h.underReplicated(),
      hedges: r.hedges,
      // every copy sent to restore or move replicas: healing pushes and read repairs
      repair: {
        sent: h.repairsSent + r.readRepairs,
        bytes: h.repairBytes + r.readRepairBytes,
        dropped: h.dropped,
      },
      antiEntropy: { sessions: h.aeSessions, requests: h.aeRequests, gapsFound: h.aeGaps },
    }
  }
}
