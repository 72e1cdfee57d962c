import type { Contact, Key } from '@swarmstore/core'
import type { ReplicaAction, ReplicaReply, ReplicaRequest } from './types.js'

export type Continuation = (reply: ReplicaReply, now: number) => void

/**
 * Actions waiting for the adapter, and the continuation of every request sent: a reply is routed
 * to the part that asked by its id. Shared by the parts of one ReplicaNode.
 */
export class Outbox {
  private nextId = 1
  private readonly pending = new Map<number, Continuation>()
  private queue: ReplicaAction[] = []

  send(to: Contact, req: ReplicaRequest, then: Continuation): number {
    const id = this.nextId++
    this.pending.set(id, then)
    this.queue.push({ type: 'send', id, to, req })
    return id
  }

  lookup(key: Key, then: Continuation): number {
    const id = this.nextId++
    this.pending.set(id, then)
    this.queue.push({ type: 'lookup', id, key })
    return id
  }

  emit(a: ReplicaAction): void {
    this.queue.push(a)
  }

  /** Routes a reply; false when the id is unknown (answered twice, or never sent). */
  reply(id: number, reply: ReplicaReply, now: number): boolean {
    const then = this.pending.get(id)
    if (then === undefined) return false
    this.pending.delete(id)
    then(reply, now)
    return true
  }

  take(): ReplicaAction[] {
    const out = this.queue
    this.queue = []
    return out
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size
  }
}

/** Calls `done` once `n` parts have finished (at once, at `now`, when n is 0). */
export function barrier(n: number, now: number, done: (now: number) => void): (now: number) => void {
  let left = n
  if (left === 0) done(now)
  return (t) => {
    if (--left === 0) done(t)
  }
}
