import type { Contact } from '@swarmstore/core'
import type { Membership, MembershipEvent } from '@swarmstore/membership'
import type { Kademlia } from '@swarmstore/routing'
import type { Logger } from 'pino'
import { memberContact } from './membership-service.js'
import type { ReplicaAdapter } from './replica-adapter.js'

export interface MemberEventsComponents {
  membership: Pick<Membership, 'onEvent' | 'bindLiveness' | 'localHealth'>
  /** the routing table: a member up is a contact, membership's liveness feeds its own */
  routing: Kademlia
  replicas: Pick<ReplicaAdapter, 'memberUp' | 'memberDown'>
  log: Logger
  /** our own peer id (our own events are not a member coming or going) */
  selfId: string
}

export interface MemberEventsInit {
  /** the swarm settings we advertise: a member that runs others is not ours to route to or replicate with */
  settings: Readonly<Record<string, string>>
}

/**
 * Membership events to the parts that act on them: a member up is a routing contact and a replica
 * holder to ask about its chunks; a member down is one whose chunks need new homes.
 */
export class MemberEvents {
  private readonly membership: MemberEventsComponents['membership']
  private readonly routing: Kademlia
  private readonly replicas: MemberEventsComponents['replicas']
  private readonly log: Logger
  private readonly selfId: string
  private readonly settings: Readonly<Record<string, string>>
  /** each member's epoch when last seen up: a new one is a restart */
  private readonly epochs = new Map<string, number>()
  private unsubscribe: (() => void)[] = []

  constructor(components: MemberEventsComponents, init: MemberEventsInit) {
    this.membership = components.membership
    this.routing = components.routing
    this.replicas = components.replicas
    this.log = components.log
    this.selfId = components.selfId
    this.settings = init.settings
  }

  start(): void {
    this.unsubscribe = [
      this.membership.bindLiveness(this.routing),
      this.membership.onEvent((e) => this.handle(e)),
    ]
  }

  stop(): void {
    for (const u of this.unsubscribe) u()
    this.unsubscribe = []
  }

  private sameSettings(m: MembershipEvent['member']): boolean {
    return m.meta.settings.r === this.settings.r && m.meta.settings.cs === this.settings.cs
  }

  private handle(e: MembershipEvent): void {
    if (e.member.id === this.selfId || !this.sameSettings(e.member)) return
    let c: Contact
    try {
      c = memberContact(e.member)
    } catch {
      return
    }
    const { log, membership } = this
    if (e.type === 'alive' || e.type === 'updated') {
      this.routing.observe(c)
      // Ask it about its chunks when it is new, back, or restarted (a new epoch: its disk may be
      // gone) — not on every metadata change (free capacity is re-advertised as it moves).
      const epoch = e.member.incarnation.epoch
      const restarted = this.epochs.get(e.member.id) !== epoch
      this.epochs.set(e.member.id, epoch)
      this.replicas.memberUp(c, { ask: e.type === 'alive' || restarted })
    } else if (e.type === 'suspect') {
      // our own health (Lifeguard) scales how long we wait before we declare it dead
      log.info({ peer: e.member.id, localHealth: membership.localHealth }, 'member suspected')
    } else if (e.type === 'dead' || e.type === 'left') {
      log.info({ peer: e.member.id, state: e.type, localHealth: membership.localHealth }, 'member down')
      this.replicas.memberDown(c)
    }
  }
}
