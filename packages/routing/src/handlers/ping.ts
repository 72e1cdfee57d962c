import type { Contact } from '@swarmstore/core'
import type { Kademlia } from '../kademlia.js'

/** PING: nothing to answer but the fact of answering; the requester proved it is alive. */
export function handlePing(kad: Kademlia, from: Contact): void {
  kad.observe(from)
}
