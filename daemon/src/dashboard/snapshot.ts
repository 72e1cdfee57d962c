import { keyToHex } from '@swarmstore/core'
import type { Membership } from '@swarmstore/membership'
import type { ChunkStore } from '@swarmstore/storage'
import type { Libp2p } from 'libp2p'
import { memberContact } from '../membership-service.js'

/** A member as the page draws it on the ring. */
export interface MemberView {
  id: string
  state: string
  /** the member's keyspace key, hex */
  key: string
  addrs: readonly string[]
  version: string
  capacityFree: number | null
  /** a libp2p connection to it is open now (always true for this node) */
  connected: boolean
  self: boolean
}

export interface HealthView {
  uptimeSeconds: number
  rss: number
  heapUsed: number
  /** event-loop delay over the last second, ms */
  loopLagMeanMs: number
  loopLagMaxMs: number
  connections: number
}

export interface DiskView {
  capacity: number | null
  used: number
  free: number
  quarantined: number
  chunks: number
}

export interface SnapshotComponents {
  node: Pick<Libp2p, 'peerId' | 'getConnections'>
  membership: Pick<Membership, 'members'>
  store: Pick<ChunkStore, 'stats'>
}

/** The members this node knows, in every state, itself included. */
export function memberViews(c: SnapshotComponents): MemberView[] {
  const selfId = c.node.peerId.toString()
  const connected = new Set(c.node.getConnections().map((conn) => conn.remotePeer.toString()))
  const out: MemberView[] = []
  for (const m of c.membership.members(['alive', 'suspect', 'dead', 'left'])) {
    let key: string
    try {
      key = keyToHex(memberContact(m).key)
    } catch {
      continue // not a peer id: not a member we can place
    }
    const free = m.meta.capacityFree
    out.push({
      id: m.id,
      state: m.state,
      key,
      addrs: m.meta.addrs,
      version: m.meta.version ?? '',
      capacityFree: typeof free === 'number' && Number.isFinite(free) ? free : null,
      connected: m.id === selfId || connected.has(m.id),
      self: m.id === selfId,
    })
  }
  return out
}

export async function diskView(c: SnapshotComponents, capacity: number | null): Promise<DiskView> {
  const s = await c.store.stats()
  return { capacity, used: s.bytes, free: s.freeBytes, quarantined: s.quarantined, chunks: s.chunks }
}
