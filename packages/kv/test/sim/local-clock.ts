import type { Random } from '@swarmstore/core'
import type { SimNode } from '@swarmstore/sim'

/** Each host's clock is off by up to this much (either way) from the simulator's true time. */
export const MAX_SKEW_MS = 2_000
/** And runs up to this fraction fast or slow. */
export const MAX_DRIFT = 0.01

/**
 * A host's own clock, as the daemon's monotonic clock would be: an origin of its own (redrawn at
 * every restart, as a process's monotonic clock starts anew) and a rate off by up to ±1 %.
 * `@swarmstore/sim` has one true clock for all nodes, so the skew lives here, in the adapters:
 * the state machines only ever see `now()` and ask for wake-ups in their own time.
 */
export class LocalClock {
  private readonly offsetMs: number

  constructor(
    private readonly node: SimNode,
    private readonly drift: number,
    random: Random,
  ) {
    this.offsetMs = (2 * random.next() - 1) * MAX_SKEW_MS
  }

  /** A host's drift, drawn once (it is the hardware's). */
  static drawDrift(random: Random): number {
    return (2 * random.next() - 1) * MAX_DRIFT
  }

  now(): number {
    return this.offsetMs + this.node.clock.now() * (1 + this.drift)
  }

  /** Runs `fn` once this clock reads `at` (at once if it already does); dies with the node. */
  at(at: number, fn: () => void): void {
    this.node.clock.setTimer(Math.max(0, (at - this.now()) / (1 + this.drift)), fn)
  }
}
