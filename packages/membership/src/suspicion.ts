/**
 * Lifeguard's Local Health Aware Suspicion: a suspicion starts with the long timeout `max` and
 * shrinks towards `min` as independent members confirm it (log-scaled in the number of
 * confirmations, k expected), so a lone — possibly unhealthy — accuser waits long, while a real
 * failure that many members see is declared quickly.
 */
import type { Clock, TimerHandle } from '@swarmstore/core'
import type { MemberId } from './types.js'

/** Timeout after c confirmations out of k expected (memberlist suspicion.remainingSuspicionTime). */
export function suspicionTimeoutAfter(c: number, k: number, minMs: number, maxMs: number): number {
  if (k <= 0) return minMs
  const frac = Math.log(c + 1) / Math.log(k + 1)
  const raw = maxMs - frac * (maxMs - minMs)
  return Math.max(minMs, Math.floor(raw))
}

export class Suspicion {
  readonly start: number
  private readonly confirmers = new Set<MemberId>()
  private timer: TimerHandle | undefined
  private fired = false

  constructor(
    private readonly clock: Clock,
    /** The accuser who started it; its later repeats are not confirmations. */
    from: MemberId,
    private readonly k: number,
    readonly minMs: number,
    readonly maxMs: number,
    private readonly onTimeout: () => void,
  ) {
    this.start = clock.now()
    this.confirmers.add(from)
    this.schedule()
  }

  get confirmations(): number {
    return this.confirmers.size - 1
  }

  get timeoutMs(): number {
    return suspicionTimeoutAfter(this.confirmations, this.k, this.minMs, this.maxMs)
  }

  /** Counts an independent accuser; returns true if it was new (worth re-gossiping). */
  confirm(from: MemberId): boolean {
    if (this.fired || this.confirmers.has(from)) return false
    if (this.confirmations >= this.k) return false
    this.confirmers.add(from)
    this.schedule()
    return true
  }

  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
    this.timer = undefined
    this.fired = true
  }

  private schedule(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer)
    const remaining = this.start + this.timeoutMs - this.clock.now()
    this.timer = this.clock.setTimer(Math.max(0, remaining), () => {
      this.timer = undefined
      if (this.fired) return
      this.fired = true
      this.onTimeout()
    })
  }
}
