/**
 * Which peers are not answering right now, from our own requests alone (sans-I/O: the caller
 * passes the time). A peer is stalled while it has requests outstanding and has answered none of
 * them, nor anything else, for `afterMs`. A frozen or overloaded holder is noticed within one hedge
 * delay of our first unanswered request, long before membership suspects it (a probe round and
 * its indirect probes, ~1-3 s), so reads meanwhile ask its co-holders first instead of each
 * waiting out a hedge delay on it. Any answer clears it.
 */
export class PeerStalls {
  /** peers with requests outstanding: how many, and since when they have not answered */
  private readonly peers = new Map<string, { pending: number; since: number }>()

  /** A request to `peer` was sent at `now`. */
  sent(peer: string, now: number): void {
    const p = this.peers.get(peer)
    if (p === undefined) this.peers.set(peer, { pending: 1, since: now })
    else p.pending++
  }

  /** A request to `peer` ended at `now`: `answered` when the peer replied (with anything). */
  settled(peer: string, now: number, answered: boolean): void {
    const p = this.peers.get(peer)
    if (p === undefined) return
    if (--p.pending === 0) this.peers.delete(peer)
    else if (answered) p.since = now
  }

  /** True when `peer` has requests outstanding and has not answered for more than `afterMs`. */
  stalled(peer: string, now: number, afterMs: number): boolean {
    const p = this.peers.get(peer)
    return p !== undefined && now - p.since > afterMs
  }

  /** Peers with requests outstanding (bounded by what we asked). */
  get size(): number {
    return this.peers.size
  }
}
