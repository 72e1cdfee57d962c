import type { Incarnation } from './types.js'

/** -1, 0 or 1: epoch first, then counter. */
export function compareIncarnation(a: Incarnation, b: Incarnation): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  return 0
}

/** The smallest incarnation of ours that beats `over` (used to refute a claim about us). */
export function incarnationAbove(mine: Incarnation, over: Incarnation): Incarnation {
  if (compareIncarnation(mine, over) > 0) return mine
  // mine <= over, so over.epoch >= mine.epoch: stay in that epoch, one step past the claim.
  return { epoch: over.epoch, counter: over.counter + 1 }
}
