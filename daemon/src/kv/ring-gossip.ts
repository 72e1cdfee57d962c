import type { Membership } from '@swarmstore/membership'
import type { RingMap } from './ring.js'

/** Each node asks one random live member for its ring this often (when the digests differ). */
const GOSSIP_INTERVAL_MS = 1_000
/** Every this many rounds the whole map is asked for anyway: range sizes are not in the digest. */
const WHOLE_MAP_EVERY_ROUNDS = 30

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
 * answers with its whole map when it differs (and every 30th round anyway, for the range sizes). A configuration reaches every node in O(log n)
 * rounds; a node that has none (just joined) has it after its first round.
 */
export class RingGossip {
  private readonly components: RingGossipComponents
  private readonly selfId: string
  private timer: NodeJS.Timeout | undefined
  private busy = false
  private rounds = 0

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
  async pull(whole = false): Promise<void> {
    const peers = this.components.membership.members(['alive']).filter((m) => m.id !== this.selfId)
    if (peers.length === 0) return
    const to = peers[Math.floor(Math.random() * peers.length)]!.id
    // no digest is equal to '': the peer answers with its whole map
    await this.components.exchange(to, whole ? '' : this.components.ring.digest()).catch(() => {})
  }

  private round(): void {
    if (this.busy) return
    this.busy = true
    this.pull(++this.rounds % WHOLE_MAP_EVERY_ROUNDS === 0).finally(() => {
      this.busy = false
    })
  }
}
