/**
 * The in-memory index of stored chunks, ordered by keyspace key (core's keyForCid). Split into 256
 * sorted buckets by the key's first byte so an insert moves at most 1/256 of the entries and a range
 * scan starts at the right bucket. Keys are compared as lowercase hex, which orders like the bytes.
 */
import { type Key, keyToHex } from '@swarmstore/core'
import type { CID } from 'multiformats/cid'

export type Encoding = 'raw' | 'zstd' | 'br'

export interface IndexEntry {
  key: Key
  keyHex: string
  /** The CID the chunk was stored under (the codec of its first put). */
  cid: CID
  /** Length of the chunk's bytes (uncompressed). */
  size: number
  /** Bytes on disk. */
  storedSize: number
  encoding: Encoding
  /** File name inside its shard directory. */
  name: string
}

export class KeyIndex {
  private readonly byKey = new Map<string, IndexEntry>()
  private readonly buckets: IndexEntry[][] = Array.from({ length: 256 }, () => [])

  get size(): number {
    return this.byKey.size
  }

  get(keyHex: string): IndexEntry | undefined {
    return this.byKey.get(keyHex)
  }

  /** Adds an entry; returns false (and changes nothing) when the key is already present. */
  add(e: IndexEntry): boolean {
    if (this.byKey.has(e.keyHex)) return false
    this.byKey.set(e.keyHex, e)
    const b = this.buckets[e.key[0]!]!
    b.splice(lowerBound(b, e.keyHex), 0, e)
    return true
  }

  remove(keyHex: string): IndexEntry | undefined {
    const e = this.byKey.get(keyHex)
    if (e === undefined) return undefined
    this.byKey.delete(keyHex)
    const b = this.buckets[e.key[0]!]!
    const i = lowerBound(b, keyHex)
    if (b[i]?.keyHex === keyHex) b.splice(i, 1)
    return e
  }

  /** Entries with from <= key < to, in key order. Safe against concurrent inserts and removes. */
  *range(from?: Uint8Array, to?: Uint8Array): Generator<IndexEntry> {
    const fromHex = from === undefined ? undefined : keyToHex(from)
    const toHex = to === undefined ? undefined : keyToHex(to)
    const first = from?.[0] ?? 0
    const last = to === undefined ? 255 : Math.min(255, to[0]!)
    for (let bi = first; bi <= last; bi++) {
      // Snapshot the bucket: the caller may await between items while puts and deletes go on.
      const b = this.buckets[bi]!.slice()
      for (let i = fromHex === undefined ? 0 : lowerBound(b, fromHex); i < b.length; i++) {
        const e = b[i]!
        if (toHex !== undefined && e.keyHex >= toHex) return
        if (this.byKey.get(e.keyHex) === e) yield e
      }
    }
  }
}

function lowerBound(b: IndexEntry[], keyHex: string): number {
  let lo = 0
  let hi = b.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (b[mid]!.keyHex < keyHex) lo = mid + 1
    else hi = mid
  }
  return lo
}

export { keyToHex }
