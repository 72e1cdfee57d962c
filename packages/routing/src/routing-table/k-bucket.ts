import type { Contact, Key } from '@swarmstore/core'

/** The first 32 bits of a key as an unsigned integer. */
export function prefix32(k: Key): number {
  return ((k[0]! << 24) | (k[1]! << 16) | (k[2]! << 8) | k[3]!) >>> 0
}

/** A routing-table slot: the contact, when we last heard from it, and consecutive failures. */
export interface Entry {
  contact: Contact
  /** First 32 bits of the contact's key: compared before touching the key or peer id (cache-friendly). */
  k0: number
  lastSeen: number
  /** Consecutive failed requests/pings; any successful exchange resets it to 0. */
  failures: number
}

/**
 * One k-bucket: the contacts whose keys share this leaf's prefix. `entries` is ordered least
 * recently seen first (the paper's order: long-lived contacts are the likeliest to stay up, so
 * the head is the one to question, never silently dropped). `replacements` holds contacts that
 * arrived while the bucket was full, most recent last, bounded.
 */
export class KBucket {
  /** Least recently seen first. Mutate only through the methods below (they keep `k0s` in step). */
  readonly entries: Entry[] = []
  /**
   * `entries[i].k0`, stored contiguously: closest() orders a bucket by reading only this array,
   * which in a 10k-node simulation (millions of entries in memory) avoids a cache miss per entry.
   */
  readonly k0s: number[] = []
  readonly replacements: Entry[] = []

  constructor(
    /** Number of leading key bits that define this bucket's range. */
    readonly depth: number,
    /** The range's prefix: the first `depth` bits matter, the rest are zero. */
    readonly prefix: Key,
    /** Last time a lookup targeted a key in this range (drives bucket refresh). */
    public lastLookup: number,
  ) {}

  /** Index of the contact in `entries`; `k0` is prefix32 of its key (peer id and key go together). */
  indexOf(peerId: string, k0: number): number {
    const ks = this.k0s
    for (let i = 0; i < ks.length; i++)
      if (ks[i] === k0 && this.entries[i]!.contact.peerId === peerId) return i
    return -1
  }

  push(entry: Entry): void {
    this.entries.push(entry)
    this.k0s.push(entry.k0)
  }

  removeAt(i: number): Entry {
    this.k0s.splice(i, 1)
    return this.entries.splice(i, 1)[0]!
  }

  replacementIndexOf(peerId: string, k0: number): number {
    const r = this.replacements
    for (let i = 0; i < r.length; i++) if (r[i]!.k0 === k0 && r[i]!.contact.peerId === peerId) return i
    return -1
  }

  /** Inserts keeping the least-recently-seen-first order. */
  insertByLastSeen(entry: Entry): void {
    const e = this.entries
    let i = e.length
    while (i > 0 && e[i - 1]!.lastSeen > entry.lastSeen) i--
    e.splice(i, 0, entry)
    this.k0s.splice(i, 0, entry.k0)
  }

  /** Adds to the replacement cache (most recent last), dropping the stalest when over `max`. */
  cache(entry: Entry, max: number): void {
    const i = this.replacementIndexOf(entry.contact.peerId, entry.k0)
    if (i >= 0) this.replacements.splice(i, 1)
    this.replacements.push(entry)
    if (this.replacements.length > max) this.replacements.shift()
  }
}
