/**
 * The keyspace. One key function for everything that lives in the DHT:
 *
 *   key(x) = SHA-256(multihash bytes of x)
 *
 * - for a peer: the bytes of `peerId.toMultihash()` (as libp2p's kad-dht does),
 * - for a chunk: the bytes of its CID's multihash (the codec is not part of the key, so the same
 *   bytes stored as raw or dag-cbor land on the same nodes only if their multihash is equal),
 * - for a key-value name: a domain prefix and the name's UTF-8 bytes (`keyForKvName`).
 *
 * Keys are 256-bit (32-byte) big-endian strings; distance is XOR, compared as unsigned integers.
 */
import { createHash } from 'node:crypto'
import type { CID } from 'multiformats/cid'

export const KEY_BYTES = 32
export const KEY_BITS = 256

/** A 32-byte key in the DHT keyspace. */
export type Key = Uint8Array

/** Anything that can produce its multihash, e.g. a libp2p PeerId. */
export interface HasMultihash {
  toMultihash(): { bytes: Uint8Array }
}

export function keyFromMultihash(multihashBytes: Uint8Array): Key {
  return new Uint8Array(createHash('sha256').update(multihashBytes).digest())
}

export function keyForPeer(peerId: HasMultihash): Key {
  return keyFromMultihash(peerId.toMultihash().bytes)
}

export function keyForCid(cid: CID): Key {
  return keyFromMultihash(cid.multihash.bytes)
}

/**
 * The key of a key-value entry (a name the user chose): SHA-256 over a domain prefix and the name's
 * UTF-8 bytes. The prefix keeps names apart from CIDs: a CID's key hashes multihash bytes, which
 * begin with a hash-function code, never with these bytes.
 */
export const KV_KEY_DOMAIN = 'swarmstore/kv\0'

export function keyForKvName(name: string): Key {
  return new Uint8Array(createHash('sha256').update(KV_KEY_DOMAIN).update(name, 'utf8').digest())
}

export function assertKey(k: Uint8Array): asserts k is Key {
  if (!(k instanceof Uint8Array) || k.length !== KEY_BYTES) {
    throw new TypeError(`a key must be ${KEY_BYTES} bytes, got ${k?.length}`)
  }
}

/** d(a, b) = a XOR b. */
export function xor(a: Key, b: Key): Uint8Array {
  const out = new Uint8Array(KEY_BYTES)
  for (let i = 0; i < KEY_BYTES; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** Compares two keys (or distances) as unsigned big-endian integers: -1, 0 or 1. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}

/** Compares d(a, target) with d(b, target) without allocating. */
export function compareDistance(a: Key, b: Key, target: Key): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const da = a[i]! ^ target[i]!
    const db = b[i]! ^ target[i]!
    if (da !== db) return da < db ? -1 : 1
  }
  return 0
}

/** Number of leading bits that a and b share (256 when equal). */
export function commonPrefixLength(a: Key, b: Key): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const x = a[i]! ^ b[i]!
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return KEY_BITS
}

/** The bit at position `bit` (0 = most significant) of key k. */
export function bitAt(k: Key, bit: number): 0 | 1 {
  return ((k[bit >> 3]! >> (7 - (bit & 7))) & 1) as 0 | 1
}

export function keyToHex(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex')
}

export function keyFromHex(hex: string): Key {
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new TypeError(`not a 64-digit hex key: ${hex}`)
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/** Sorts keys (in place) by XOR distance to target, nearest first. */
export function sortByDistance<T>(items: T[], keyOf: (t: T) => Key, target: Key): T[] {
  return items.sort((a, b) => compareDistance(keyOf(a), keyOf(b), target))
}
