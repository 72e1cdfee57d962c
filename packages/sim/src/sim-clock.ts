import type { Clock, TimerHandle } from '@swarmstore/core'
import type { EventQueue, SimEvent } from './event-queue.js'

/** The virtual clock: time only moves when the simulator pops the next event. */
export class SimClock implements Clock {
  /** Current virtual time in ms; written by the simulator loop only. */
  current = 0
  private nextId = 1
  private readonly pending = new Map<number, SimEvent>()

  constructor(private readonly queue: EventQueue) {}

  now(): number {
    return this.current
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0
    const ev = this.queue.push(this.current + delay, () => {
      this.pending.delete(id)
      fn()
    })
    this.pending.set(id, ev)
    return { id }
  }

  clearTimer(handle: TimerHandle): void {
    const ev = this.pending.get(handle.id)
    if (ev !== undefined) {
      ev.fn = null // a cancelled event stays in the heap and is skipped when popped
      this.pending.delete(handle.id)
    }
  }

  get pendingTimers(): number {
    return this.pending.size
  }
}
