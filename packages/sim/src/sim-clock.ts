import type { Clock, TimerHandle } from '@swarmstore/core'
import type { EventQueue, SimEvent } from './event-queue.js'

/** A timer handle that carries its heap event, so cancelling needs no lookup table. */
interface SimTimer extends TimerHandle {
  event: SimEvent | null
}

/** The virtual clock: time only moves when the simulator pops the next event. */
export class SimClock implements Clock {
  /** Current virtual time in ms; written by the simulator loop only. */
  current = 0
  /** Set when the running event may have queued promise continuations (timers always may). */
  continuations = false
  private nextId = 1
  private live = 0

  constructor(private readonly queue: EventQueue) {}

  now(): number {
    return this.current
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0
    const handle: SimTimer = { id: this.nextId++, event: null }
    handle.event = this.queue.push(this.current + delay, () => {
      handle.event = null
      this.live--
      this.continuations = true
      fn()
    })
    this.live++
    return handle
  }

  clearTimer(handle: TimerHandle): void {
    const ev = (handle as SimTimer).event
    if (ev !== undefined && ev !== null) {
      ev.fn = null // a cancelled event stays in the heap and is skipped when popped
      ;(handle as SimTimer).event = null
      this.live--
    }
  }

  get pendingTimers(): number {
    return this.live
  }
}
