/**
 * The live set as replication sees it: contacts kept sorted by key, so "the n closest live nodes
 * to a key" costs a few binary searches instead of a scan. Keys sharing a prefix of length p with
 * the target form one contiguous run of the sorted array, and every key inside that run is nearer
 * (XOR) than every key outside it; so the n closest lie in the longest-prefix run that still holds
 * n keys, and only that run (typically < 2n keys) is sorted by distance.
 */
import { type Contact, compareKeys, KEY_BITS, KEY_BYTES, type Key } from '@swarmstore/core'
import { byDistanceTo } from './placement.js'

/** What replication needs from membership: the live members and the n closest of them to a key. */
export interface LiveView {
  /** Whether peerId is a live member (self included). */
  has(peerId: string): boolean
  get(peerId: string): Contact | undefined
  /** The n closest live members to key that pass `accept`, nearest first. */
  closest(key: Key, n: number, accept?: (c: Contact) => boolean): Contact[]
  readonly size: number
}

export class MemberRing implements LiveView {
  private readonly sorted: Contact[] = []
  private readonly byId = new Map<string, Contact>()

  constructor(members: Iterable<Contact> = []) {
    for (const m of members) this.add(m)
  }

  get size(): number {
    return this.sorted.length
  }

  has(peerId: string): boolean {
    return this.byId.has(peerId)
  }

  get(peerId: string): Contact | undefined {
    return this.byId.get(peerId)
  }

  members(): readonly Contact[] {
    return this.sorted
  }

  /** Adds (or replaces) a member; false when it was already present with the same key. */
  add(c: Contact): boolean {
    const old = this.byId.get(c.peerId)
    if (old !== undefined) {
      if (compareKeys(old.key, c.key) === 0) {
        this.sorted[this.indexOf(old)] = c
        this.byId.set(c.peerId, c)
        return false
      }
      this.remove(c.peerId)
    }
    this.sorted.splice(this.lowerBound(c.key), 0, c)
    this.byId.set(c.peerId, c)
    return true
  }

  remove(peerId: string): Contact | undefined {
    const c = this.byId.get(peerId)
    if (c === undefined) return undefined
    this.sorted.splice(this.indexOf(c), 1)
    this.byId.delete(peerId)
    return c
  }

  closest(key: Key, n: number, accept?: (c: Contact) => boolean): Contact[] {
    if (n <= 0 || this.sorted.length === 0) return []
    // Binary search the longest prefix length p whose run still holds ≥ n members.
    let lo = 0
    let hi = KEY_BITS
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      const [a, b] = this.run(key, mid)
      if (b - a >= n) lo = mid
      else hi = mid - 1
    }
    for (let p = lo; ; p--) {
      const [a, b] = this.run(key, p)
      const out: Contact[] = []
      for (let i = a; i < b; i++) {
        const c = this.sorted[i]!
        if (accept === undefined || accept(c)) out.push(c)
      }
      // The run holds the nearest members; enough of them pass, or there is nothing wider.
      if (out.length >= n || p === 0) return out.sort(byDistanceTo(key)).slice(0, n)
    }
  }

  /** [start, end) of the members sharing the first p bits of key. */
  private run(key: Key, p: number): [number, number] {
    const lowK = new Uint8Array(KEY_BYTES)
    const highK = new Uint8Array(KEY_BYTES)
    for (let i = 0; i < KEY_BYTES; i++) {
      const bitsHere = Math.max(0, Math.min(8, p - i * 8))
      const mask = bitsHere === 0 ? 0 : (0xff << (8 - bitsHere)) & 0xff
      lowK[i] = key[i]! & mask
      highK[i] = (key[i]! & mask) | (~mask & 0xff)
    }
    return [this.lowerBound(lowK), this.upperBound(highK)]
  }

  private indexOf(c: Contact): number {
    let i = this.lowerBound(c.key)
    while (i < this.sorted.length && this.sorted[i]!.peerId !== c.peerId) i++
    return i
  }

  private lowerBound(k: Key): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareKeys(this.sorted[mid]!.key, k) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  private upperBound(k: Key): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareKeys(this.sorted[mid]!.key, k) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
