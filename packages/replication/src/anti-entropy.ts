/**
 * Anti-entropy between two neighbours, by range summaries instead of key lists. Each side's store
 * keeps, per key prefix, the count of keys and the XOR of the keys under it (cheap to maintain on
 * put/delete). The initiator descends the prefix tree from a shared root: equal (count, xor) ⇒ the
 * same set (up to a 2⁻²⁵⁶-ish collision of equal-count XORs); an empty side ⇒ the whole range is
 * missing there; a small range ⇒ exchange the keys; otherwise split in two and compare the halves.
 * Cost is O(differences × depth) summaries, not O(keys). The result says which keys each side
 * lacks; the daemon keeps only those the lacking side is responsible for (`selectReplicas`) and
 * replicates them (pushes what the remote lacks, and asks it to push what we lack).
 */
import { commonPrefixLength, KEY_BITS, KEY_BYTES, type Key } from '@swarmstore/core'

/** The keys whose first `bits` bits equal those of `key`. */
export interface KeyPrefix {
  readonly key: Key
  readonly bits: number
}

export interface RangeSummary {
  readonly count: number
  /** XOR of every key in the range (32 bytes; all zero for an empty range). */
  readonly xor: Uint8Array
}

/** What anti-entropy needs from a store (the storage package's index implements it). */
export interface RangeSummarySource {
  summarize(prefix: KeyPrefix): RangeSummary
  /** Keys under prefix, ascending; at most `limit`. */
  keysIn(prefix: KeyPrefix, limit: number): Key[]
}

export interface AntiEntropyInit {
  local: RangeSummarySource
  root: KeyPrefix
  /** Exchange key lists once a range holds at most this many keys on both sides together; default 64. */
  leafKeys?: number
  /** Most keys one key-list answer may carry (bounds a message); default 4096. */
  maxKeysPerRange?: number
}

export interface AntiEntropyQuery {
  /** Ask the remote for these ranges' summaries. */
  readonly summaries: readonly KeyPrefix[]
  /** Ask the remote for these ranges' keys. */
  readonly keys: readonly KeyPrefix[]
}

/** The shared range of two neighbours: the prefix they share, widened by `slack` bits. */
export function sharedRange(self: Key, neighbour: Key, slack = 2): KeyPrefix {
  return { key: self, bits: Math.max(0, commonPrefixLength(self, neighbour) - slack) }
}

/** The prefix one bit longer, with that bit set to `bit`. */
export function childPrefix(p: KeyPrefix, bit: 0 | 1): KeyPrefix {
  const key = new Uint8Array(p.key)
  const i = p.bits >> 3
  const mask = 0x80 >> (p.bits & 7)
  key[i] = bit === 1 ? key[i]! | mask : key[i]! & ~mask
  return { key, bits: p.bits + 1 }
}

/** Whether k lies under prefix p. */
export function inPrefix(k: Key, p: KeyPrefix): boolean {
  return commonPrefixLength(k, p.key) >= p.bits
}

function sameSummary(a: RangeSummary, b: RangeSummary): boolean {
  if (a.count !== b.count) return false
  for (let i = 0; i < KEY_BYTES; i++) if (a.xor[i] !== b.xor[i]) return false
  return true
}

const hex = (k: Key) => Buffer.from(k).toString('hex')

/** The initiator's side of one anti-entropy exchange (the responder just answers from its store). */
export class AntiEntropySession {
  private readonly local: RangeSummarySource
  private readonly leafKeys: number
  private readonly maxKeys: number
  private askSummaries: KeyPrefix[]
  private askKeys: KeyPrefix[] = []
  private readonly _remoteLacks: Key[] = []
  private readonly _localLacks: Key[] = []
  /** Summaries asked for, and keys asked for; answers for anything else are ignored. */
  private readonly outstanding = new Set<string>()
  private _rounds = 0

  constructor(init: AntiEntropyInit) {
    this.local = init.local
    this.leafKeys = init.leafKeys ?? 64
    this.maxKeys = init.maxKeysPerRange ?? 4096
    this.askSummaries = [init.root]
  }

  get done(): boolean {
    return this.outstanding.size === 0 && this.askSummaries.length === 0 && this.askKeys.length === 0
  }
  /** Query rounds so far (each round is one request/response with the remote). */
  get rounds(): number {
    return this._rounds
  }
  /** Keys we hold that the remote does not. */
  get remoteLacks(): readonly Key[] {
    return this._remoteLacks
  }
  /** Keys the remote holds that we do not. */
  get localLacks(): readonly Key[] {
    return this._localLacks
  }

  /** The next query to send, or undefined when nothing is to be asked (done, or waiting for answers). */
  next(): AntiEntropyQuery | undefined {
    if (this.askSummaries.length === 0 && this.askKeys.length === 0) return undefined
    const q = { summaries: this.askSummaries, keys: this.askKeys }
    for (const p of q.summaries) this.outstanding.add(`s${p.bits}:${hex(p.key)}`)
    for (const p of q.keys) this.outstanding.add(`k${p.bits}:${hex(p.key)}`)
    this.askSummaries = []
    this.askKeys = []
    this._rounds++
    return q
  }

  receiveSummaries(answers: readonly { prefix: KeyPrefix; summary: RangeSummary }[]): void {
    for (const { prefix, summary: remote } of answers) {
      if (!this.outstanding.delete(`s${prefix.bits}:${hex(prefix.key)}`)) continue
      const local = this.local.summarize(prefix)
      if (sameSummary(local, remote)) continue
      if (remote.count === 0) {
        this._remoteLacks.push(...this.local.keysIn(prefix, this.maxKeys))
      } else if (local.count + remote.count <= this.leafKeys || prefix.bits >= KEY_BITS) {
        this.askKeys.push(prefix)
      } else if (local.count === 0 && remote.count <= this.maxKeys) {
        this.askKeys.push(prefix)
      } else {
        this.askSummaries.push(childPrefix(prefix, 0), childPrefix(prefix, 1))
      }
    }
  }

  receiveKeys(answers: readonly { prefix: KeyPrefix; keys: readonly Key[] }[]): void {
    for (const { prefix, keys } of answers) {
      if (!this.outstanding.delete(`k${prefix.bits}:${hex(prefix.key)}`)) continue
      const theirs = new Set<string>()
      for (const k of keys.slice(0, this.maxKeys)) if (inPrefix(k, prefix)) theirs.add(hex(k))
      const ours = new Set<string>()
      for (const k of this.local.keysIn(prefix, this.maxKeys)) {
        const h = hex(k)
        ours.add(h)
        if (!theirs.has(h)) this._remoteLacks.push(k)
      }
      for (const k of keys.slice(0, this.maxKeys)) {
        if (inPrefix(k, prefix) && !ours.has(hex(k))) this._localLacks.push(k)
      }
    }
  }
}

/** A RangeSummarySource over an in-memory set of keys (tests, and a store without an index). */
export class MemoryRangeIndex implements RangeSummarySource {
  private readonly keys = new Map<string, Key>()

  constructor(keys: Iterable<Key> = []) {
    for (const k of keys) this.add(k)
  }
  add(k: Key): void {
    this.keys.set(hex(k), k)
  }
  delete(k: Key): void {
    this.keys.delete(hex(k))
  }
  get size(): number {
    return this.keys.size
  }
  summarize(prefix: KeyPrefix): RangeSummary {
    const xor = new Uint8Array(KEY_BYTES)
    let count = 0
    for (const k of this.keys.values()) {
      if (!inPrefix(k, prefix)) continue
      count++
      for (let i = 0; i < KEY_BYTES; i++) xor[i] = xor[i]! ^ k[i]!
    }
    return { count, xor }
  }
  keysIn(prefix: KeyPrefix, limit: number): Key[] {
    return [...this.keys.values()]
      .filter((k) => inPrefix(k, prefix))
      .sort((a, b) => Buffer.compare(a, b))
      .slice(0, limit)
  }
}
