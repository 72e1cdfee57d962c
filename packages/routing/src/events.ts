import type { Contact } from '@swarmstore/core'

export interface RoutingEvents {
  /** A contact entered the routing table (not the replacement cache). */
  'contact:added': Contact
  /** A contact left the routing table (evicted after repeated failure, or reported dead). */
  'contact:removed': Contact
}

type Listener<T> = (value: T) => void

/** A minimal typed emitter; listeners run synchronously, a throwing listener does not break routing. */
export class RoutingEventEmitter {
  private readonly listeners: { [E in keyof RoutingEvents]?: Listener<RoutingEvents[E]>[] } = {}

  on<E extends keyof RoutingEvents>(event: E, fn: Listener<RoutingEvents[E]>): () => void {
    let list = this.listeners[event] as Listener<RoutingEvents[E]>[] | undefined
    if (list === undefined) {
      list = []
      ;(this.listeners as Record<string, unknown>)[event] = list
    }
    list.push(fn)
    return () => {
      const i = list.indexOf(fn)
      if (i >= 0) list.splice(i, 1)
    }
  }

  emit<E extends keyof RoutingEvents>(event: E, value: RoutingEvents[E]): void {
    const list = this.listeners[event] as Listener<RoutingEvents[E]>[] | undefined
    if (list === undefined) return
    for (const fn of list) {
      try {
        fn(value)
      } catch {
        // a faulty observer must not corrupt the routing table
      }
    }
  }
}
