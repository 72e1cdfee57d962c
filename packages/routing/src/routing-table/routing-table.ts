import {
  bitAt,
  type Contact,
  commonPrefixLength,
  compareDistance,
  KEY_BITS,
  KEY_BYTES,
  type Key,
} from '@swarmstore/core'
import { type Entry, KBucket, prefix32 } from './k-bucket.js'

interface TrieNode {
  depth: number
  /** Set on leaves only. */
  bucket: KBucket | null
  zero: TrieNode | null
  one: TrieNode | null
  /** Contacts (not replacements) in this subtree. */
  count: number
}

export type AddOutcome =
  | { kind: 'self' }
  | { kind: 'updated'; entry: Entry }
  | { kind: 'added'; entry: Entry }
  /** The bucket was full and could not split: the contact waits in the replacement cache. */
  | { kind: 'cached'; bucket: KBucket }

export interface RoutingTableInit {
  k: number
  replacementCacheSize: number
  now: number
  /** Called for every contact that enters the table, including promotions from a cache. */
  onAdded?: (c: Contact) => void
  onRemoved?: (c: Contact) => void
}

/**
 * The Kademlia routing table as a binary trie of k-buckets (paper §2.4, §4.2).
 *
 * Split rule: a full bucket splits if its range contains our own key — and, by the paper's
 * relaxation, also when the newcomer would be one of the k contacts closest to us, so that every
 * contact within the smallest subtree holding k contacts around us is kept (otherwise an
 * unbalanced tree would drop our nearest neighbours, which are exactly the ones lookups for keys
 * near us need). Any other full bucket keeps the newcomer in a bounded replacement cache.
 *
 * Bounds: at most KEY_BITS + 1 buckets on our own path plus the relaxation's few, each with at
 * most k entries and `replacementCacheSize` replacements.
 */
export class RoutingTable {
  readonly k: number
  private readonly root: TrieNode
  private readonly replacementCacheSize: number
  private readonly onAdded: (c: Contact) => void
  private readonly onRemoved: (c: Contact) => void

  constructor(
    readonly self: Key,
    init: RoutingTableInit,
  ) {
    this.k = init.k
    this.replacementCacheSize = init.replacementCacheSize
    this.onAdded = init.onAdded ?? (() => {})
    this.onRemoved = init.onRemoved ?? (() => {})
    this.root = {
      depth: 0,
      bucket: new KBucket(0, new Uint8Array(KEY_BYTES), init.now),
      zero: null,
      one: null,
      count: 0,
    }
  }

  get size(): number {
    return this.root.count
  }

  bucketFor(key: Key): KBucket {
    let n = this.root
    while (n.bucket === null) n = bitAt(key, n.depth) === 0 ? n.zero! : n.one!
    return n.bucket
  }

  get(contact: { peerId: string; key: Key }): Entry | undefined {
    const b = this.bucketFor(contact.key)
    const i = b.indexOf(contact.peerId, prefix32(contact.key))
    return i >= 0 ? b.entries[i] : undefined
  }

  /** True when the bucket's range contains our own key. */
  holdsSelf(bucket: KBucket): boolean {
    return bucket.depth === 0 || commonPrefixLength(bucket.prefix, this.self) >= bucket.depth
  }

  /**
   * Records that `contact` is alive (we just heard from it): refreshes it, or inserts it, splitting
   * buckets per the split rule, or parks it in the replacement cache of a full bucket.
   */
  add(contact: Contact, now: number): AddOutcome {
    if (commonPrefixLength(contact.key, this.self) === KEY_BITS) return { kind: 'self' }
    const k0 = prefix32(contact.key)
    for (;;) {
      let leaf = this.root
      while (leaf.bucket === null) leaf = bitAt(contact.key, leaf.depth) === 0 ? leaf.zero! : leaf.one!
      const bucket = leaf.bucket
      const i = bucket.indexOf(contact.peerId, k0)
      if (i >= 0) {
        const entry = bucket.entries[i]!
        entry.contact = contact
        entry.lastSeen = now
        entry.failures = 0
        bucket.removeAt(i)
        bucket.push(entry)
        return { kind: 'updated', entry }
      }
      if (bucket.entries.length < this.k) {
        const ri = bucket.replacementIndexOf(contact.peerId, k0)
        if (ri >= 0) bucket.replacements.splice(ri, 1)
        const entry: Entry = { contact, k0, lastSeen: now, failures: 0 }
        bucket.push(entry)
        this.adjustCounts(contact.key, 1)
        this.onAdded(contact)
        return { kind: 'added', entry }
      }
      if (leaf.depth < KEY_BITS && (this.holdsSelf(bucket) || this.amongClosestToSelf(contact.key))) {
        this.split(leaf)
        continue
      }
      bucket.cache({ contact, k0, lastSeen: now, failures: 0 }, this.replacementCacheSize)
      return { kind: 'cached', bucket }
    }
  }

  /** The relaxation test: would `key` be among the k closest to us of all contacts we hold? */
  private amongClosestToSelf(key: Key): boolean {
    const d = commonPrefixLength(key, this.self)
    // Walk our own path down to depth d: the child on our side at depth d+1 holds every contact
    // strictly closer to us than anything diverging at bit d.
    let n = this.root
    while (n.bucket === null && n.depth < d) n = bitAt(this.self, n.depth) === 0 ? n.zero! : n.one!
    if (n.bucket !== null) return true // never split that deep on our side: few contacts there
    const selfSide = bitAt(this.self, d) === 0 ? n.zero! : n.one!
    const otherSide = bitAt(this.self, d) === 0 ? n.one! : n.zero!
    let closer = selfSide.count
    if (closer >= this.k) return false
    const stack = [otherSide]
    while (stack.length > 0) {
      const t = stack.pop()!
      if (t.bucket === null) {
        stack.push(t.zero!, t.one!)
        continue
      }
      for (const e of t.bucket.entries) {
        if (compareDistance(e.contact.key, key, this.self) < 0 && ++closer >= this.k) return false
      }
    }
    return true
  }

  /** Adds delta to the contact counters on the path from the root to key's leaf. */
  private adjustCounts(key: Key, delta: number): void {
    let n = this.root
    n.count += delta
    while (n.bucket === null) {
      n = bitAt(key, n.depth) === 0 ? n.zero! : n.one!
      n.count += delta
    }
  }

  private split(leaf: TrieNode): void {
    const old = leaf.bucket!
    const d = leaf.depth
    const prefix1 = old.prefix.slice()
    prefix1[d >> 3]! |= 0x80 >> (d & 7)
    const zero: TrieNode = {
      depth: d + 1,
      bucket: new KBucket(d + 1, old.prefix, old.lastLookup),
      zero: null,
      one: null,
      count: 0,
    }
    const one: TrieNode = {
      depth: d + 1,
      bucket: new KBucket(d + 1, prefix1, old.lastLookup),
      zero: null,
      one: null,
      count: 0,
    }
    for (const e of old.entries) {
      const child = bitAt(e.contact.key, d) === 0 ? zero : one
      child.bucket!.push(e)
      child.count++
    }
    for (const e of old.replacements)
      (bitAt(e.contact.key, d) === 0 ? zero : one).bucket!.replacements.push(e)
    leaf.bucket = null
    leaf.zero = zero
    leaf.one = one
    // Room opened up: promote the freshest waiting contacts of each half.
    for (const child of [zero, one]) {
      const b = child.bucket!
      while (b.entries.length < this.k && b.replacements.length > 0) {
        const e = b.replacements.pop()!
        b.insertByLastSeen(e)
        this.adjustCounts(e.contact.key, 1)
        this.onAdded(e.contact)
      }
    }
  }

  /** Removes a contact (evicted or reported dead) and promotes the freshest replacement. */
  remove(peerId: string, key: Key): Entry | undefined {
    const bucket = this.bucketFor(key)
    const k0 = prefix32(key)
    const ri = bucket.replacementIndexOf(peerId, k0)
    if (ri >= 0) bucket.replacements.splice(ri, 1)
    const i = bucket.indexOf(peerId, k0)
    if (i < 0) return undefined
    const entry = bucket.removeAt(i)
    this.adjustCounts(key, -1)
    this.onRemoved(entry!.contact)
    const promoted = bucket.replacements.pop()
    if (promoted !== undefined) {
      bucket.insertByLastSeen(promoted)
      this.adjustCounts(promoted.contact.key, 1)
      this.onAdded(promoted.contact)
    }
    return entry
  }

  /**
   * The n contacts closest to `target` that we know. Leaves are visited in XOR order (at every
   * fork, the side sharing target's bit first), so once n are collected nothing later is closer.
   */
  closest(target: Key, n: number, exclude?: { peerId: string; key: Key }): Contact[] {
    const exK0 = exclude === undefined ? -1 : prefix32(exclude.key)
    const t0 = prefix32(target)
    // Candidates as (bucket, index) pairs ordered by the first 32 bits of their distance, read from
    // the buckets' contiguous k0 arrays; entry objects are only touched on ties and for the result.
    const bs: KBucket[] = []
    const is: number[] = []
    const d: number[] = []
    const stack: TrieNode[] = [this.root]
    while (stack.length > 0 && d.length < n) {
      const t = stack.pop()!
      if (t.count === 0) continue
      if (t.bucket === null) {
        if (bitAt(target, t.depth) === 0) stack.push(t.one!, t.zero!)
        else stack.push(t.zero!, t.one!)
        continue
      }
      const b = t.bucket
      const ks = b.k0s
      for (let x = 0; x < ks.length; x++) {
        const k0 = ks[x]!
        if (k0 === exK0 && b.entries[x]!.contact.peerId === exclude!.peerId) continue
        const dist = (k0 ^ t0) >>> 0
        let j = d.length
        while (
          j > 0 &&
          (d[j - 1]! > dist || (d[j - 1] === dist && this.tieAfter(bs[j - 1]!, is[j - 1]!, b, x, target)))
        ) {
          d[j] = d[j - 1]!
          bs[j] = bs[j - 1]!
          is[j] = is[j - 1]!
          j--
        }
        d[j] = dist
        bs[j] = b
        is[j] = x
      }
    }
    const res: Contact[] = []
    for (let i = 0; i < d.length && i < n; i++) res.push(bs[i]!.entries[is[i]!]!.contact)
    return res
  }

  private tieAfter(ba: KBucket, ia: number, bb: KBucket, ib: number, target: Key): boolean {
    return compareDistance(ba.entries[ia]!.contact.key, bb.entries[ib]!.contact.key, target) > 0
  }

  /** All buckets (leaves), in key order. */
  buckets(): KBucket[] {
    const out: KBucket[] = []
    const stack: TrieNode[] = [this.root]
    while (stack.length > 0) {
      const t = stack.pop()!
      if (t.bucket !== null) out.push(t.bucket)
      else stack.push(t.one!, t.zero!)
    }
    return out
  }

  entries(): Entry[] {
    return this.buckets().flatMap((b) => b.entries)
  }

  contacts(): Contact[] {
    return this.entries().map((e) => e.contact)
  }
}
