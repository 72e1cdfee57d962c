/**
 * 32-bit avalanche mix (murmur3's finaliser): every input bit reaches every output bit. Used where
 * every node must derive the same well-spread number from the same inputs (repair turns, range
 * placement, the simulator's link model).
 */
export function mix32(x: number): number {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0
  return (h ^ (h >>> 16)) >>> 0
}
