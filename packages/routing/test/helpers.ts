import { type Contact, type Key, SeededRandom } from '@swarmstore/core'

/** A contact with the given key (peer id derived from the key's hex, so it is stable). */
export function contactFor(key: Key): Contact {
  return { peerId: `p-${Buffer.from(key).toString('hex')}`, key, addrs: ['/ip4/127.0.0.1/tcp/1'] }
}

export function randomContacts(seed: number, n: number): Contact[] {
  const r = new SeededRandom(seed)
  return Array.from({ length: n }, () => contactFor(r.bytes(32)))
}

/** A key equal to `base` on its first `cpl` bits, different at bit `cpl`, random after. */
export function keyWithCpl(base: Key, cpl: number, r: SeededRandom): Key {
  const k = r.bytes(32)
  for (let bit = 0; bit < 256; bit++) {
    const byte = bit >> 3
    const mask = 0x80 >> (bit & 7)
    if (bit < cpl) k[byte] = (k[byte]! & ~mask) | (base[byte]! & mask)
    else if (bit === cpl) k[byte] = (k[byte]! & ~mask) | (~base[byte]! & mask)
  }
  return k
}
