import type { Membership } from '@swarmstore/membership'
import type { RingMap } from './ring.js'

/** Each node asks one random live member for its ring this often (when the digests differ). */
const GOSSIP_INTERVAL_MS = 1_000

export interface RingGossipComponents {
  ring: RingMap
  membership: Pick<Membership, 'members'>
  /** asks `to` for its ring unless its digest equals ours, and merges what comes back */
  exchange: (to: string, digest: string) => Promise<void>
}

export interface RingGossipInit {
  selfId: string
}

/**
 * Spreads the ring by pull gossip: every second, one random live member is sent our digest and
 * answers with its whole map when it differs. A configuration reaches every node in O(log n)
 * rounds; a node that has none (just joined) has it after its first round.
 */
export class RingGossip {
  private readonly components: RingGossipComponents
  private readonly selfId: string
  private timer: NodeJS.Timeout | undefined
  private busy = false

  constructor(components: RingGossipComponents, init: RingGossipInit) {
    this.components = components
    this.selfId = init.selfId
  }

  start(): void {
    this.timer = setInterval(() => this.round(), GOSSIP_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** One exchange with a random live member now (a node that lacks a range's entry asks at once). */
  async pull(): Promise<void> {
    const peers = this.components.membership.members(['alive']).filter((m) => m.id !== this.selfId)
    if (peers.length === 0) return
    const to = peers[Math.floor(Math.random() * peers.length)]!.id
    await this.components.exchange(to, this.components.ring.digest()).catch(() => {})
  }

  private round(): void {
    if (this.busy) return
    this.busy = true
    this.pull().finally(() => {
      this.busy = false
    })
  }
}
