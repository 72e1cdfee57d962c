/**
 * Per-prefix summaries of the stored keys, kept current on every add/remove: for each prefix of up
 * to SUMMARY_BITS bits, the number of keys under it and the XOR of those keys. Anti-entropy compares
 * a range between two nodes by these two values and descends only where they differ. XOR makes an
 * update O(depth) and order-independent (add and remove are the same operation).
 */
import { KEY_BYTES, type Key } from '@swarmstore/core'

/** Depth of the maintained tree: 2^13 - 1 nodes, ~300 KB. Deeper prefixes are computed by a range scan. */
export const SUMMARY_BITS = 12

export interface PrefixSummary {
  /** The prefix as a key whose first prefixBits bits count (the rest are zero). */
  prefix: Uint8Array
  prefixBits: number
  count: number
  /** XOR of all keys under the prefix (all zero when count is 0). */
  xor: Uint8Array
}

export class PrefixSummaries {
  private readonly counts = new Uint32Array((1 << (SUMMARY_BITS + 1)) - 1)
  private readonly xors = new Uint8Array(this.counts.length * KEY_BYTES)

  add(key: Key): void {
    this.apply(key, 1)
  }

  remove(key: Key): void {
    this.apply(key, -1)
  }

  private apply(key: Key, delta: 1 | -1): void {
    const top = ((key[0]! << 8) | key[1]!) >>> 0
    for (let bits = 0; bits <= SUMMARY_BITS; bits++) {
      const node = (1 << bits) - 1 + (top >>> (16 - bits))
      this.counts[node] = this.counts[node]! + delta
      const off = node * KEY_BYTES
      for (let i = 0; i < KEY_BYTES; i++) this.xors[off + i]! ^= key[i]!
    }
  }

  /** Summary of a prefix of at most SUMMARY_BITS bits. */
  get(prefix: Uint8Array, prefixBits: number): PrefixSummary {
    if (!Number.isInteger(prefixBits) || prefixBits < 0 || prefixBits > SUMMARY_BITS) {
      throw new RangeError(`prefixBits ${prefixBits} outside [0, ${SUMMARY_BITS}]`)
    }
    const top = (((prefix[0] ?? 0) << 8) | (prefix[1] ?? 0)) >>> 0
    const node = (1 << prefixBits) - 1 + (top >>> (16 - prefixBits))
    const off = node * KEY_BYTES
    return {
      prefix: maskPrefix(prefix, prefixBits),
      prefixBits,
      count: this.counts[node]!,
      xor: this.xors.slice(off, off + KEY_BYTES),
    }
  }
}

/** The prefix with every bit after prefixBits cleared, as a full-length key (the range's first key). */
export function maskPrefix(prefix: Uint8Array, prefixBits: number): Uint8Array {
  const out = new Uint8Array(KEY_BYTES)
  const whole = prefixBits >> 3
  out.set(prefix.subarray(0, whole))
  const rest = prefixBits & 7
  if (rest > 0) out[whole] = (prefix[whole] ?? 0) & (0xff << (8 - rest))
  return out
}

/** The first key after the range of a prefix, or undefined when the range runs to the end. */
export function prefixEnd(prefix: Uint8Array, prefixBits: number): Uint8Array | undefined {
  const out = maskPrefix(prefix, prefixBits)
  if (prefixBits === 0) return undefined
  // Add 1 at bit position prefixBits - 1, carrying towards the most significant byte.
  let byte = (prefixBits - 1) >> 3
  let add = 1 << (7 - ((prefixBits - 1) & 7))
  while (byte >= 0) {
    const v = out[byte]! + add
    out[byte] = v & 0xff
    if (v <= 0xff) return out
    add = 1
    byte--
  }
  return undefined
}
