/**
 * The link model. One-way latency is fixed per unordered node pair (a property of the "distance"
 * between two hosts), drawn from the seed by hashing the pair, so no O(n²) table is stored and the
 * latency does not depend on the order in which messages happen to be sent.
 */
import { mix32 } from '@swarmstore/core'

/** 32-bit avalanche mix, re-exported for the simulator's users (it lives in @swarmstore/core). */
export { mix32 }

export interface LatencyRange {
  minMs: number
  maxMs: number
}

/** Either a uniform range (default 10–100 ms) or a function of the two node ids. */
export type LatencyModel = LatencyRange | ((from: string, to: string) => number)

/** Uniform [0, 1) for the unordered pair {i, j} under a seed. */
export function pairUniform(seed: number, i: number, j: number): number {
  const a = Math.min(i, j)
  const b = Math.max(i, j)
  const h = mix32(mix32(seed ^ 0x5bd1e995) ^ mix32(a + 0x9e3779b9) ^ Math.imul(mix32(b), 0x27d4eb2d))
  return h / 0x1_0000_0000
}
