import type { Contact, Key } from '@swarmstore/core'

/**
 * What routing needs from the network. The daemon implements it over libp2p streams; the
 * simulator over its message bus. Both promises reject when the peer does not answer in time
 * (the implementation owns the per-request timeout and the size bounds of a reply).
 */
export interface RoutingNetwork {
  /** Asks `to` for the contacts it knows closest to `target`. */
  findNode(to: Contact, target: Key): Promise<Contact[]>
  /** Resolves when `to` answers a PING. */
  ping(to: Contact): Promise<void>
}
