import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/**
 * What chunk bytes crossed the peer protocol for. Out is known by the sender's purpose; in, a
 * receiver sees only `put` (a push: an upload, repair or handoff alike — the wire does not say which)
 * and `get` (chunks it fetched for a read).
 */
export type TrafficClass = 'put' | 'get' | 'repair' | 'handoff'
export type TrafficDirection = 'in' | 'out'
export const TRAFFIC_CLASSES: readonly TrafficClass[] = ['put', 'get', 'repair', 'handoff']

/** Running totals by direction and class, readable without prom-client's async collection. */
export type TrafficTotals = Record<TrafficDirection, Record<TrafficClass, number>>

/** Prometheus metrics served on the API port at /metrics. */
export class Metrics {
  readonly registry = new Registry()
  readonly chunksReceived = new Counter({
    name: 'swarmstore_chunks_received_total',
    help: 'chunks stored for peers',
    registers: [this.registry],
  })
  readonly chunksServed = new Counter({
    name: 'swarmstore_chunks_served_total',
    help: 'chunks sent to peers',
    registers: [this.registry],
  })
  readonly chunkBytesPushed = new Counter({
    name: 'swarmstore_chunk_bytes_pushed_total',
    help: 'chunk bytes this node sent to peers in put requests (uploads, repairs, handoffs)',
    registers: [this.registry],
  })
  readonly chunksRefused = new Counter({
    name: 'swarmstore_chunks_refused_total',
    help: 'pushed chunks refused',
    labelNames: ['reason'],
    registers: [this.registry],
  })
  readonly chunksCorrupt = new Counter({
    name: 'swarmstore_chunks_corrupt_total',
    help: 'corrupt chunks found (quarantined)',
    registers: [this.registry],
  })
  readonly putsTotal = new Counter({
    name: 'swarmstore_file_puts_total',
    help: 'files put through the API, by result (ok, or the error code answered)',
    labelNames: ['result'],
    registers: [this.registry],
  })
  readonly getsTotal = new Counter({
    name: 'swarmstore_file_gets_total',
    help: 'files read through the API (get, get -o), by result (ok, INCOMPLETE, ABORTED, or the error code)',
    labelNames: ['result'],
    registers: [this.registry],
  })
  readonly lookups = new Counter({
    name: 'swarmstore_lookups_total',
    help: 'Kademlia lookups',
    registers: [this.registry],
  })
  readonly lookupHops = new Histogram({
    name: 'swarmstore_lookup_hops',
    help: 'hops per lookup',
    buckets: [0, 1, 2, 3, 4, 6, 8],
    registers: [this.registry],
  })
  readonly repairs = new Counter({
    name: 'swarmstore_repairs_total',
    help: 'chunk copies sent to restore or move replicas',
    labelNames: ['reason'],
    registers: [this.registry],
  })
  readonly peers = new Gauge({
    name: 'swarmstore_peers',
    help: 'contacts in the routing table',
    registers: [this.registry],
  })
  readonly members = new Gauge({
    name: 'swarmstore_members',
    help: 'swarm members this node knows (itself included), by SWIM state',
    labelNames: ['state'],
    registers: [this.registry],
  })
  readonly chunksStored = new Gauge({
    name: 'swarmstore_chunks_stored',
    help: 'chunks in the local store',
    registers: [this.registry],
  })
  readonly bytesStored = new Gauge({
    name: 'swarmstore_bytes_stored',
    help: 'bytes of chunk content in the local store',
    registers: [this.registry],
  })
  readonly underReplicated = new Gauge({
    name: 'swarmstore_under_replicated_chunks',
    help: 'held chunks not known to have R copies (counted against R, not against the live members)',
    registers: [this.registry],
  })
  readonly badFrames = new Gauge({
    name: 'swarmstore_bad_frames',
    help: 'malformed frames received from peers',
    registers: [this.registry],
  })

  readonly chunkBytes = new Counter({
    name: 'swarmstore_chunk_bytes_total',
    help: 'chunk bytes sent (out) and received (in) over the chunk protocol, by what for (put, get, repair, handoff)',
    labelNames: ['direction', 'class'],
    registers: [this.registry],
  })
  /** the same totals as chunkBytes, for the dashboard's once-a-second sample */
  readonly traffic: TrafficTotals = {
    in: { put: 0, get: 0, repair: 0, handoff: 0 },
    out: { put: 0, get: 0, repair: 0, handoff: 0 },
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry })
  }

  countChunkBytes(direction: TrafficDirection, cls: TrafficClass, bytes: number): void {
    this.chunkBytes.inc({ direction, class: cls }, bytes)
    this.traffic[direction][cls] += bytes
  }
}
