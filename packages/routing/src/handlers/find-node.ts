import type { Contact, Key } from '@swarmstore/core'
import type { Kademlia } from '../kademlia.js'

/** FIND_NODE: the requester proved it is alive; answer with our k closest to target, minus the requester. */
export function handleFindNode(kad: Kademlia, from: Contact, target: Key): Contact[] {
  kad.observe(from)
  return kad.table.closest(target, kad.k, from)
}
