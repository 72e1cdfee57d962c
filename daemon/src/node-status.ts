import { peerIdFromString } from '@libp2p/peer-id'
import { keyToHex } from '@swarmstore/core'
import type { Membership } from '@swarmstore/membership'
import type { ChunkStore } from '@swarmstore/storage'
import type { Libp2p } from 'libp2p'
import type { KadService } from './kad-service.js'
import { memberContact } from './membership-service.js'
import type { Metrics } from './metrics.js'
import type { PeerRpc } from './peer-rpc.js'
import type { ReplicaAdapter } from './replica-adapter.js'

export interface NodeStatusComponents {
  node: Libp2p
  store: Pick<ChunkStore, 'stats'>
  kad: KadService
  membership: Pick<Membership, 'get' | 'members' | 'liveCount'>
  replicas: Pick<ReplicaAdapter, 'stats'>
  rpc: Pick<PeerRpc, 'badFrames'>
  metrics: Metrics
  /** joined the swarm (or nothing to join) */
  isReady: () => boolean
  /** why joining fails, when the operator must act on it */
  joinProblem: () => string | undefined
}

export interface NodeStatusInit {
  swarm: string
  replicas: number
  writeQuorum: number
  chunkSize: number
  capacity: number | null
}

/** One entry of `GET /v1/peers`. */
export interface PeerView {
  peerId: string
  addrs: readonly string[]
  key: string
  connected: boolean
  state: string
}

/** Every state is exported, at 0 when no member is in it, so a dashboard's query never sees a gap. */
const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const

/** What the API reports about this node: `status`, `peers`, `id` and the Prometheus metrics. */
export class NodeStatus {
  private readonly node: Libp2p
  private readonly store: NodeStatusComponents['store']
  private readonly kad: KadService
  private readonly membership: NodeStatusComponents['membership']
  private readonly replicas: NodeStatusComponents['replicas']
  private readonly rpc: NodeStatusComponents['rpc']
  private readonly metricsRegistry: Metrics
  private readonly isReady: () => boolean
  private readonly joinProblem: () => string | undefined
  private readonly swarm: string
  private readonly r: number
  private readonly writeQuorum: number
  private readonly chunkSize: number
  private readonly capacity: number | null
  private started = 0

  constructor(components: NodeStatusComponents, init: NodeStatusInit) {
    this.node = components.node
    this.store = components.store
    this.kad = components.kad
    this.membership = components.membership
    this.replicas = components.replicas
    this.rpc = components.rpc
    this.metricsRegistry = components.metrics
    this.isReady = components.isReady
    this.joinProblem = components.joinProblem
    this.swarm = init.swarm
    this.r = init.replicas
    this.writeQuorum = init.writeQuorum
    this.chunkSize = init.chunkSize
    this.capacity = init.capacity
  }

  /** Uptime counts from here (the node's own parts are up; the API is next). */
  start(): void {
    this.started = Date.now() // io-edge
  }

  stop(): void {}

  id(): { peerId: string; addrs: string[] } {
    return { peerId: this.node.peerId.toString(), addrs: this.listenAddrs() }
  }

  async status(): Promise<Record<string, unknown>> {
    const { node, store, kad, membership, replicas } = this
    const s = await store.stats()
    return {
      peerId: node.peerId.toString(),
      listenAddrs: this.listenAddrs(),
      ready: this.isReady(),
      joinProblem: this.joinProblem() ?? null,
      swarm: this.swarm,
      replicas: this.r,
      writeQuorum: this.writeQuorum,
      chunkSize: this.chunkSize,
      peers: kad.kad.size,
      connections: node.getConnections().length,
      chunks: s.chunks,
      bytes: s.bytes,
      capacity: this.capacity,
      freeBytes: s.freeBytes,
      quarantined: s.quarantined,
      pinned: s.pinned,
      ...replicas.stats(),
      members: membership.liveCount,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      memory: process.memoryUsage(),
    }
  }

  /** Routing contacts, plus members routing no longer lists (dead or left ones stay visible). */
  async peers(): Promise<PeerView[]> {
    const { kad, membership } = this
    const out: PeerView[] = kad.kad.contacts().map((c) => ({
      peerId: c.peerId,
      addrs: c.addrs,
      key: keyToHex(c.key),
      connected: this.connected(c.peerId),
      state: membership.get(c.peerId)?.state ?? 'unknown',
    }))
    const listed = new Set(out.map((p) => p.peerId))
    const selfId = this.node.peerId.toString()
    for (const m of membership.members(['alive', 'suspect', 'dead', 'left'])) {
      if (m.id === selfId || listed.has(m.id)) continue
      try {
        const c = memberContact(m)
        const { peerId, addrs } = c
        out.push({ peerId, addrs, key: keyToHex(c.key), connected: this.connected(peerId), state: m.state })
      } catch {
        // not a peer id: not listed
      }
    }
    return out
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    const { store, kad, replicas, rpc, metricsRegistry: metrics } = this
    const s = await store.stats()
    metrics.peers.set(kad.kad.size)
    this.setMembersByState()
    metrics.chunksStored.set(s.chunks)
    metrics.bytesStored.set(s.bytes)
    metrics.underReplicated.set(replicas.stats().underReplicated)
    metrics.badFrames.set(rpc.badFrames)
    return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }
  }

  private setMembersByState(): void {
    const counts = new Map<string, number>(MEMBER_STATES.map((state) => [state, 0]))
    for (const m of this.membership.members()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1)
    for (const [state, n] of counts) this.metricsRegistry.members.set({ state }, n)
  }

  private listenAddrs(): string[] {
    return this.node.getMultiaddrs().map((m) => m.toString())
  }

  private connected(peerId: string): boolean {
    return this.node.getConnections(peerIdFromString(peerId)).length > 0
  }
}
