import { KEY_BYTES, type Key, type Random } from '@swarmstore/core'
import type { KBucket } from '../routing-table/k-bucket.js'

/** A uniformly random key inside the bucket's range: its prefix bits, then random bits. */
export function randomKeyInBucket(bucket: KBucket, random: Random): Key {
  const key = random.bytes(KEY_BYTES)
  const d = bucket.depth
  const full = d >> 3
  for (let i = 0; i < full; i++) key[i] = bucket.prefix[i]!
  const rem = d & 7
  if (rem > 0 && full < KEY_BYTES) {
    const mask = (0xff << (8 - rem)) & 0xff
    key[full] = (bucket.prefix[full]! & mask) | (key[full]! & ~mask & 0xff)
  }
  return key
}
