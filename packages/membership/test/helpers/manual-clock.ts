import type { Clock, TimerHandle } from '@swarmstore/core'

/** A clock that moves only when the test says so; due timers run in (time, creation) order. */
export class ManualClock implements Clock {
  private current = 0
  private nextId = 1
  private readonly timers = new Map<number, { at: number; fn: () => void }>()

  now(): number {
    return this.current
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn })
    return { id }
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id)
  }

  /** Runs every timer due within ms, letting promise chains settle after each one. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms
    for (;;) {
      await settle()
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const e of this.timers) {
        if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e
      }
      if (next === undefined) break
      this.timers.delete(next[0])
      this.current = next[1].at
      next[1].fn()
    }
    this.current = end
    await settle()
  }
}

/** Lets queued promise reactions run (not a sleep: no time passes on the ManualClock). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r))
}
