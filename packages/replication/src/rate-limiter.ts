/**
 * Token bucket on an injected Clock, for repair and rebalance traffic: a sustained rate with a
 * bounded burst, so background healing cannot starve foreground gets of bandwidth.
 */
import type { Clock } from '@swarmstore/core'

export interface TokenBucketInit {
  clock: Pick<Clock, 'now'>
  /** Tokens (e.g. bytes) added per second. */
  ratePerSecond: number
  /** Bucket size: the largest burst; default one second's worth. Starts full. */
  burst?: number
}

export class TokenBucket {
  private readonly clock: Pick<Clock, 'now'>
  readonly ratePerSecond: number
  readonly burst: number
  private tokens: number
  private last: number

  constructor(init: TokenBucketInit) {
    if (!(init.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be > 0')
    this.clock = init.clock
    this.ratePerSecond = init.ratePerSecond
    this.burst = init.burst ?? init.ratePerSecond
    if (!(this.burst > 0)) throw new RangeError('burst must be > 0')
    this.tokens = this.burst
    this.last = init.clock.now()
  }

  /** Tokens available now. */
  available(): number {
    this.refill()
    return this.tokens
  }

  /**
   * Take n tokens if available. A request larger than the burst is allowed when the bucket is
   * full (the bucket goes negative), so one big chunk is never starved forever.
   */
  tryTake(n: number): boolean {
    this.refill()
    if (this.tokens >= n || (n > this.burst && this.tokens >= this.burst)) {
      this.tokens -= n
      return true
    }
    return false
  }

  /** Milliseconds until tryTake(n) can succeed (0 = now). */
  delayFor(n: number): number {
    this.refill()
    const need = Math.min(n, this.burst) - this.tokens
    return need <= 0 ? 0 : Math.ceil((need / this.ratePerSecond) * 1000)
  }

  private refill(): void {
    const now = this.clock.now()
    const dt = now - this.last
    if (dt > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (dt / 1000) * this.ratePerSecond)
      this.last = now
    }
  }
}
