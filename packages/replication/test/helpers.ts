import { type Contact, type Key, SeededRandom } from '@swarmstore/core'

/** n contacts with seeded random keys; peer ids p0..p(n-1). */
export function contacts(n: number, seed = 1): Contact[] {
  const rnd = new SeededRandom(seed)
  return Array.from({ length: n }, (_, i) => ({ peerId: `p${i}`, key: rnd.bytes(32), addrs: [] }))
}

export function randomKey(seed: number): Key {
  return new SeededRandom(seed).bytes(32)
}

export function ids(cs: readonly Contact[]): string[] {
  return cs.map((c) => c.peerId)
}

/** Brute-force reference: sort by XOR distance as bigints. */
export function bruteClosest(
  key: Key,
  cs: readonly Contact[],
  n: number,
  skip = new Set<string>(),
): string[] {
  const big = (k: Uint8Array) => BigInt(`0x${Buffer.from(k).toString('hex')}`)
  const t = big(key)
  return cs
    .filter((c) => !skip.has(c.peerId))
    .map((c) => ({ id: c.peerId, d: big(c.key) ^ t }))
    .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
    .slice(0, n)
    .map((x) => x.id)
}
