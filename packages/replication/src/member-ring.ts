/**
 * The live set as replication sees it: contacts kept sorted by key, so "the n closest live nodes
 * to a key" costs a few binary searches instead of a scan. Keys sharing a prefix of length p with
 * the target form one contiguous run of the sorted array, and every key inside that run is nearer
 * (XOR) than every key outside it; so the n closest lie in the longest-prefix run that still holds
 * n keys, and only that run (typically < 2n keys) is sorted by distance.
 */
import { type Contact, commonPrefixLength, compareKeys, KEY_BYTES, type Key } from '@swarmstore/core'
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
    const len = this.sorted.length
    if (n <= 0 || len === 0) return []
    // Bounds on the longest prefix p whose run holds ≥ n members. cpl(key, ·) grows towards the
    // insertion point i, so the 2n members around i share ≥ pLo bits with key (a run of ≥ n),
    // and no member shares more than the two neighbours of i do.
    const i = this.lowerBound(key)
    const cpl = (j: number) => commonPrefixLength(key, this.sorted[j]!.key)
    let lo = n >= len ? 0 : Math.min(cpl(Math.max(0, i - n)), cpl(Math.min(len - 1, i + n - 1)))
    let hi = Math.max(i > 0 ? cpl(i - 1) : 0, i < len ? cpl(i) : 0)
    if (hi < lo) hi = lo
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.runEnd(key, mid) - this.runStart(key, mid) >= n) lo = mid
      else hi = mid - 1
    }
    for (let p = lo; ; p--) {
      const a = this.runStart(key, p)
      const b = this.runEnd(key, p)
      const out: Contact[] = []
      for (let j = a; j < b; j++) {
        const c = this.sorted[j]!
        if (accept === undefined || accept(c)) out.push(c)
      }
      // The run holds the nearest members; enough of them pass, or there is nothing wider.
      if (out.length >= n || p === 0) return out.sort(byDistanceTo(key)).slice(0, n)
    }
  }

  /** First index whose key's first p bits are ≥ those of key. */
  private runStart(key: Key, p: number): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (comparePrefix(this.sorted[mid]!.key, key, p) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** First index whose key's first p bits are > those of key. */
  private runEnd(key: Key, p: number): number {
    let lo = 0
    let hi = this.sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (comparePrefix(this.sorted[mid]!.key, key, p) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
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
}

/** Compares the first p bits of a and b as unsigned integers, without allocating. */
function comparePrefix(a: Key, b: Key, p: number): number {
  const full = p >> 3
  for (let i = 0; i < full; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1
  }
  const rem = p & 7
  if (rem === 0 || full >= KEY_BYTES) return 0
  const mask = (0xff << (8 - rem)) & 0xff
  const x = a[full]! & mask
  const y = b[full]! & mask
  return x === y ? 0 : x < y ? -1 : 1
}
