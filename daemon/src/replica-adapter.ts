import { type Contact, type Key, keyForCid, keyToHex, sortByDistance } from '@swarmstore/core'
import {
  type ReplicaAction,
  ReplicaNode,
  type ReplicaNodeStats,
  type ReplicaReply,
  type ReplicaRequest,
} from '@swarmstore/replication'
import { bytesMatchCid, type ChunkStore } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import type { ChunkService } from './chunk-service.js'
import { InsufficientReplicasError, NotFoundError, UnavailableError } from './errors.js'
import type { KadService } from './kad-service.js'
import type { Metrics } from './metrics.js'

/**
 * A completed lookup that found fewer than k nodes found the whole reachable swarm, and then the k
 * closest to any key are that same set, ordered: reused this long (and forgotten at once when the
 * routing table gains or loses a contact), so a put of a file in a small swarm costs one lookup.
 */
const SMALL_SWARM_TTL_MS = 5_000

export interface ChunkPut {
  /** resolves when W replicas hold the chunk durably; rejects with INSUFFICIENT_REPLICAS */
  acknowledged: Promise<Contact[]>
  /** resolves when the put settled (R copies, or as many as the swarm could take) */
  settled: Promise<Contact[]>
}

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
  /** the other live members as SWIM knows them (the whole swarm, once converged) */
  liveMembers?: () => readonly Contact[]
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
  /** the swarm's chunk size (repair pacing assumes it for chunks of unknown size) */
  chunkBytes?: number
}

export interface ReplicaStats {
  /** background completions still running (a put acknowledged at W, going on to R) */
  replicating: number
  underReplicated: number
  hedges: number
  repair: { sent: number; bytes: number; dropped: number }
  antiEntropy: { sessions: number; requests: number; gapsFound: number }
}

interface PutOp {
  kind: 'put'
  cid: CID
  bytes: Uint8Array
  ack: PromiseWithResolvers<Contact[]>
  done: PromiseWithResolvers<Contact[]>
  lookupError?: Error
}
interface ReadOp {
  kind: 'read'
  cid: CID
  result: PromiseWithResolvers<Uint8Array>
  bytes?: Uint8Array
  lookupError?: Error
  signal?: AbortSignal
  onAbort?: () => void
}

/**
 * The daemon's one door to chunk replication, and the only place its decisions meet I/O: runs
 * the sans-I/O ReplicaNode, turning its actions into chunk-protocol requests, store calls and one
 * timer, and feeding back replies, chunk-service events and membership changes (time from
 * Date.now, here only). Nothing calls back into it: the chunk service emits events it listens to.
 */
export class ReplicaAdapter {
  private readonly store: ChunkStore
  private readonly chunks: ChunkService
  private readonly kad: KadService
  private readonly log: Logger
  private readonly metrics: Metrics
  private readonly node: ReplicaNode
  /** the CID of every chunk the node may ask about (held here) */
  private readonly cids = new Map<string, CID>()
  private readonly ops = new Map<number, PutOp | ReadOp>()
  private nextOp = 1
  private timer: NodeJS.Timeout | undefined
  private wakeAt: number | undefined
  private stopped = false
  private smallSwarm: { at: number; contacts: readonly Contact[] } | undefined
  private readonly liveMembers: (() => readonly Contact[]) | undefined
  private readonly self: Contact
  private readRepairs = 0
  private readRepairBytes = 0
  private dropped = 0

  constructor(components: ReplicaAdapterComponents, init: ReplicaAdapterInit) {
    const { self, store } = components
    this.store = store
    this.chunks = components.chunks
    this.kad = components.kad
    this.log = components.log
    this.metrics = components.metrics
    this.liveMembers = components.liveMembers
    this.self = self
    this.node = new ReplicaNode({
      self,
      replicas: init.replicas,
      writeQuorum: init.writeQuorum,
      selfFull: init.selfFull,
      repairBytesPerSecond: init.repairBytesPerSecond,
      ...(init.chunkBytes !== undefined ? { chunkBytes: init.chunkBytes } : {}),
      graceMs: init.graceMs,
      auditIntervalMs: init.auditIntervalMs,
      index: {
        summarize: (p) => store.rangeSummary(p.key, p.bits),
        keysIn: (p, limit) => store.keysUnder(p.key, p.bits, limit),
      },
      isAdvertisedFull: components.isAdvertisedFull,
      isSuspect: components.isSuspect,
    })
  }

  /** Registers every chunk already on disk (after a restart) and starts listening. */
  async start(): Promise<void> {
    const { chunks, kad, store } = this
    for await (const e of store.keys()) {
      this.cids.set(keyToHex(e.key), e.cid)
      this.node.stored(e.key, this.now(), { size: e.size })
    }
    chunks.on('stored', (cid, size) => this.stored(cid, size))
    chunks.on('corrupt', (cid) => this.forget(cid))
    chunks.on('peer-holds', (peerId, list) =>
      this.input((now) => this.node.peerHolds(peerId, list.map(keyForCid), now)),
    )
    kad.kad.on('contact:added', () => this.forgetSwarmView())
    kad.kad.on('contact:removed', () => this.forgetSwarmView())
    this.input((now) => this.node.start(now))
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** Waits (at most `ms`) for puts acknowledged at W to finish their remaining copies. */
  async drain(ms: number): Promise<void> {
    const deadline = this.now() + ms
    while (this.node.stats().replicating > 0 && this.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50)) // io-edge: polled once, at shutdown
    }
  }

  /**
   * Sends a chunk to its closest nodes (self included when it is one of them): `fanout` copies from
   * here (R, or W leaving the rest to the holders' healing).
   */
  put(cid: CID, bytes: Uint8Array, opts: { fanout?: number } = {}): ChunkPut {
    const op: PutOp = {
      kind: 'put',
      cid,
      bytes,
      ack: Promise.withResolvers(),
      done: Promise.withResolvers(),
    }
    op.ack.promise.catch(() => {})
    op.done.promise.catch(() => {})
    const id = this.nextOp++
    this.ops.set(id, op)
    const fanout = opts.fanout ?? this.node.planner.replicas
    this.input((now) => this.node.put(id, keyForCid(cid), fanout, now))
    return { acknowledged: op.ack.promise, settled: op.done.promise }
  }

  /** A chunk from the swarm, verified against its CID. */
  get(cid: CID, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const op: ReadOp = { kind: 'read', cid, result: Promise.withResolvers() }
    const id = this.nextOp++
    this.ops.set(id, op)
    const signal = opts.signal
    if (signal !== undefined) {
      // The signal is the whole file's: a listener left on it would keep this read alive.
      op.signal = signal
      op.onAbort = () => this.endRead(id, op, signal.reason as Error)
      signal.addEventListener('abort', op.onAbort, { once: true })
      if (signal.aborted) op.onAbort()
    }
    if (this.ops.has(id)) {
      const key = keyForCid(cid)
      const local = this.kad.kad.closest(key, this.node.planner.replicas)
      this.input((now) => this.node.read(id, key, local, now))
    }
    return op.result.promise
  }

  /**
   * The closest live nodes to key (this one included): from SWIM's view of the whole swarm when it
   * knows at least every peer the routing table does (one hop: no lookup; a view still converging
   * costs a misplaced copy that repair and handoff move, never a lost one), else a lookup, or the
   * cached view of a small swarm.
   */
  async closest(key: Key): Promise<Contact[]> {
    const kad = this.kad
    const members = this.liveMembers?.()
    if (members !== undefined && members.length > 0 && members.length >= kad.kad.size) {
      return sortByDistance([this.self, ...members], (c) => c.key, key).slice(0, kad.kad.k)
    }
    const s = this.smallSwarm
    if (s !== undefined && this.now() - s.at < SMALL_SWARM_TTL_MS) {
      return sortByDistance([...s.contacts], (c) => c.key, key)
    }
    const r = await kad.lookup(key)
    this.metrics.lookups.inc()
    this.metrics.lookupHops.observe(r.hops)
    this.smallSwarm =
      r.completed && r.closest.length < kad.kad.k ? { at: this.now(), contacts: r.closest } : undefined
    return r.closest
  }

  /** A chunk became durable here outside the chunk protocol (a pin, a restored copy). */
  stored(cid: CID, size?: number): void {
    this.cids.set(keyToHex(keyForCid(cid)), cid)
    // the size paces the repair of this chunk and counts its bytes when it is pushed
    this.input((now) => this.node.stored(keyForCid(cid), now, size !== undefined ? { size } : {}))
  }

  /**
   * Our copy is unusable (found corrupt and quarantined, or missing): forget it, count it. The one
   * place the corrupt-local-copy path is decided.
   */
  localCopyBad(cid: CID, why: string): void {
    this.forget(cid)
    this.metrics.chunksCorrupt.inc()
    this.log.warn({ cid: cid.toString(), err: why }, 'local chunk unusable')
  }

  /** Writes a good copy fetched from a replica back as ours (it was ours to hold). */
  async restoreLocalCopy(cid: CID, bytes: Uint8Array): Promise<void> {
    await this.store.put(cid, bytes, { trusted: true })
    this.stored(cid, bytes.byteLength)
  }

  memberUp(c: Contact, opts: { ask: boolean }): void {
    this.input((now) => this.node.memberUp(c, opts, now))
  }

  memberDown(c: Contact): void {
    this.input((now) => this.node.memberDown(c, now))
  }

  stats(): ReplicaStats {
    const s: ReplicaNodeStats = this.node.stats()
    return {
      replicating: s.replicating,
      underReplicated: s.underReplicated,
      hedges: s.hedges,
      // every copy sent to restore or move replicas: healing pushes and read repairs
      repair: {
        sent: s.repairsSent + this.readRepairs,
        bytes: s.repairBytes + this.readRepairBytes,
        dropped: this.dropped,
      },
      antiEntropy: s.antiEntropy,
    }
  }

  private now(): number {
    return Date.now() // io-edge: the adapter is the node's clock
  }

  private forgetSwarmView(): void {
    this.smallSwarm = undefined
  }

  private forget(cid: CID): void {
    const key = keyForCid(cid)
    this.cids.delete(keyToHex(key))
    this.input((now) => this.node.lost(key, now))
  }

  /** One input to the node, then its actions carried out and its timer re-armed. */
  private input(feed: (now: number) => void): void {
    if (this.stopped) return
    feed(this.now())
    for (const a of this.node.takeActions()) this.execute(a)
    this.arm()
  }

  private arm(): void {
    const at = this.node.nextWakeAt()
    if (at === this.wakeAt || this.stopped) return
    clearTimeout(this.timer)
    this.wakeAt = at
    if (at === undefined) return
    // the one policy timer: every wait of the node (hedges, staggers, pacing, audits) is its wake-up
    this.timer = setTimeout(
      () => {
        this.wakeAt = undefined
        // a timer may fire a fraction of a millisecond early: the wake-up is for `at`
        this.input((now) => this.node.tick(Math.max(now, at)))
      },
      Math.max(0, at - this.now()),
    ) // io-edge
    this.timer.unref()
  }

  private reply(id: number, reply: ReplicaReply): void {
    this.input((now) => this.node.replied(id, reply, now))
  }

  private execute(a: ReplicaAction): void {
    switch (a.type) {
      case 'send':
        this.send(a.id, a.to, a.req)
        return
      case 'lookup':
        this.lookup(a.id, a.key)
        return
      case 'drop':
        this.drop(a.key)
        return
      case 'verify-local': {
        const cid = this.cids.get(keyToHex(a.key))
        if (cid !== undefined) this.chunks.goodCopy(cid).catch(() => {})
        return
      }
      case 'peer-failed':
        this.kad.kad.reportFailure(a.to)
        return
      default:
        this.answer(a)
        return
    }
  }

  private send(id: number, to: Contact, req: ReplicaRequest): void {
    this.request(to, req).then(
      (reply) => this.reply(id, reply),
      (err: Error & { code?: string }) =>
        this.reply(id, { t: 'failed', reason: err.message, timeout: err.code === 'TIMEOUT' }),
    )
  }

  private async request(to: Contact, req: ReplicaRequest): Promise<ReplicaReply> {
    const chunks = this.chunks
    switch (req.t) {
      case 'has': {
        const cids = req.keys.map((k) => this.cidOf(k))
        return { t: 'have', have: await chunks.hasAt(to, cids, { held: true }) }
      }
      case 'push':
        return this.push(to, this.cidOf(req.key), req.reason)
      case 'put': {
        const op = this.ops.get(req.op)
        if (op?.kind !== 'put') return { t: 'failed', reason: 'put ended' }
        const r = await chunks.putTo(to, op.cid, op.bytes)
        return r.outcome === 'stored' ? { t: 'stored' } : { t: 'refused', reason: r.reason }
      }
      case 'get':
        return this.getFrom(to, req.op)
      case 'sum':
        return {
          t: 'sums',
          ...(await chunks.summariesAt(to, [...req.ranges], [...req.keyRanges], req.limit)),
        }
    }
  }

  private cidOf(key: Key): CID {
    const cid = this.cids.get(keyToHex(key))
    if (cid === undefined) throw new Error('no longer held here')
    return cid
  }

  private async push(to: Contact, cid: CID, reason: string): Promise<ReplicaReply> {
    let bytes: Uint8Array
    try {
      // Unverified, like a read served to a peer: the receiver hashes what it is sent and refuses
      // a mismatch (bad-chunk), and then we check our copy. One hash per copy, not two.
      bytes = await this.store.get(cid, { verify: false })
    } catch (err) {
      this.log.warn({ cid: cid.toString(), err: (err as Error).message }, 'cannot read a chunk to replicate')
      this.forget(cid)
      return { t: 'unreadable' }
    }
    const r = await this.chunks.putTo(to, cid, bytes, 'repair')
    if (r.outcome !== 'stored') return { t: 'refused', reason: r.reason }
    this.metrics.repairs.inc({ reason })
    return { t: 'stored' }
  }

  private async getFrom(to: Contact, opId: number): Promise<ReplicaReply> {
    const op = this.ops.get(opId) as ReadOp | undefined
    if (op === undefined) return { t: 'failed', reason: 'read ended' }
    const bytes = await this.chunks.getFrom(to, op.cid)
    if (bytes === null) return { t: 'missing' }
    if (!bytesMatchCid(op.cid, bytes)) {
      this.log.warn(
        { peer: to.peerId, cid: op.cid.toString() },
        'peer sent a chunk that does not match its CID',
      )
      return { t: 'corrupt' }
    }
    op.bytes ??= bytes
    return { t: 'found' }
  }

  private lookup(id: number, key: Key): void {
    this.closest(key).then(
      (contacts) => this.reply(id, { t: 'contacts', contacts }),
      (err: Error) => {
        const hex = keyToHex(key)
        for (const op of this.ops.values()) if (keyToHex(keyForCid(op.cid)) === hex) op.lookupError = err
        this.reply(id, { t: 'failed', reason: err.message })
      },
    )
  }

  private async drop(key: Key): Promise<void> {
    const cid = this.cids.get(keyToHex(key))
    if (cid === undefined || this.store.isPinned(cid)) return
    this.cids.delete(keyToHex(key))
    try {
      await this.store.delete(cid)
      this.dropped++
      this.log.debug({ cid: cid.toString() }, 'dropped a copy after its placement confirmed')
    } catch (err) {
      this.log.warn({ cid: cid.toString(), err: (err as Error).message }, 'drop failed')
    }
  }

  /** Answers to callers: the put and read actions. */
  private answer(a: ReplicaAction): void {
    if (!('op' in a)) return
    const op = this.ops.get(a.op)
    if (op === undefined) return
    if (op.kind === 'read') {
      this.answerRead(a.op, op, a)
      return
    }
    switch (a.type) {
      case 'put-acknowledged':
        op.ack.resolve([...a.holders])
        return
      case 'put-settled':
        this.ops.delete(a.op)
        op.done.resolve([...a.holders])
        return
      case 'put-failed': {
        this.ops.delete(a.op)
        const err = op.lookupError ?? new InsufficientReplicasError(`chunk ${op.cid} ${a.message}`)
        op.ack.reject(err)
        op.done.reject(err)
      }
    }
  }

  private answerRead(id: number, op: ReadOp, a: ReplicaAction): void {
    if (a.type === 'read-found' && op.bytes !== undefined) {
      this.readRepair(op.cid, op.bytes, a.repairTo)
      this.endRead(id, op, op.bytes)
      return
    }
    if (a.type !== 'read-failed') return
    if (op.lookupError !== undefined) {
      this.endRead(id, op, op.lookupError)
      return
    }
    const err = a.notFound
      ? new NotFoundError(`chunk ${op.cid} not found on the ${a.asked} closest peers`)
      : new UnavailableError(`chunk ${op.cid}: none of the ${a.asked} closest peers answered in time`)
    this.endRead(id, op, err)
  }

  private endRead(id: number, op: ReadOp, v: Uint8Array | Error): void {
    if (this.ops.get(id) !== op) return
    this.ops.delete(id)
    if (op.onAbort !== undefined) op.signal?.removeEventListener('abort', op.onAbort)
    if (v instanceof Error) {
      this.node.cancelRead(id)
      op.result.reject(v)
    } else op.result.resolve(v)
  }

  /** Placement members that answered missing or corrupt get the verified bytes (best effort). */
  private readRepair(cid: CID, got: Uint8Array, targets: readonly Contact[]): void {
    if (targets.length === 0) return
    // our own copy: the reader may give `got` back to the reply pool while these pushes still send it
    const bytes = got.slice()
    for (const to of targets) {
      this.metrics.repairs.inc({ reason: 'read-repair' })
      this.chunks.putTo(to, cid, bytes, 'repair').then(
        (r) => {
          if (r.outcome !== 'stored') return
          this.readRepairs++
          this.readRepairBytes += bytes.byteLength
        },
        () => {},
      )
    }
  }
}
