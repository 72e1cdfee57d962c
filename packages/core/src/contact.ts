import { type HasMultihash, type Key, keyForPeer } from './keyspace.js'

/** At most this many multiaddrs are kept per contact, so a peer cannot bloat our tables. */
export const MAX_CONTACT_ADDRS = 8
/** Upper bound on the length of one multiaddr string we keep. */
export const MAX_ADDR_LENGTH = 256

/**
 * A peer as routing and replication see it: its peer id (string form), its key in the keyspace,
 * and a bounded list of multiaddrs (strings) to dial it at.
 */
export interface Contact {
  readonly peerId: string
  readonly key: Key
  readonly addrs: readonly string[]
}

/** A peer id as libp2p's PeerId is one: its multihash (for its key) and its string form. */
export interface PeerIdLike extends HasMultihash {
  toString(): string
}

/**
 * The one way a Contact is made from a peer id: its string form, its key in the keyspace, and the
 * addresses given (kept as they are: the caller bounds or copies them).
 */
export function contactFromPeerId(peerId: PeerIdLike, addrs: readonly string[]): Contact {
  return { peerId: peerId.toString(), key: keyForPeer(peerId), addrs }
}

/** Keeps at most MAX_CONTACT_ADDRS well-sized addresses, dropping duplicates. */
export function boundAddrs(addrs: readonly string[]): string[] {
  const out: string[] = []
  for (const a of addrs) {
    if (typeof a !== 'string' || a.length === 0 || a.length > MAX_ADDR_LENGTH) continue
    if (out.includes(a)) continue
    out.push(a)
    if (out.length === MAX_CONTACT_ADDRS) break
  }
  return out
}
