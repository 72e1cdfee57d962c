import type { Contact } from '@swarmstore/core'
import type { RoutingNetwork } from '../network.js'
import type { RoutingTable } from '../routing-table/routing-table.js'

/**
 * Decides when a contact is dead. A single timeout or a closed connection proves little (loss,
 * a busy peer), so a suspect is pinged until it answers (failures reset) or its consecutive
 * failures reach `evictAfterFailures`; only then is it evicted and replaced from the bucket's
 * replacement cache. Bounded: a few pings in flight, a bounded queue of suspects.
 */
export class LivenessChecker {
  private readonly checking = new Set<string>()
  private readonly queue: Contact[] = []
  private inFlight = 0
  private stopped = false

  constructor(
    private readonly table: RoutingTable,
    private readonly network: Pick<RoutingNetwork, 'ping'>,
    private readonly now: () => number,
    private readonly opts: { evictAfterFailures: number; maxConcurrentPings: number; maxQueuedPings: number },
  ) {}

  /** A request to `contact` failed: count it and, if it is in the table, question it. */
  recordFailure(contact: Contact): void {
    const entry = this.table.get(contact)
    if (entry === undefined) return
    entry.failures++
    this.suspect(contact)
  }

  /** Queue a liveness check (no-op if one is already pending or the queue is full). */
  suspect(contact: Contact): void {
    if (this.stopped || this.checking.has(contact.peerId)) return
    if (this.queue.length >= this.opts.maxQueuedPings) return // it will be suspected again on its next failure
    this.checking.add(contact.peerId)
    this.queue.push(contact)
    this.pump()
  }

  /** Accepts suspects again after stop(). */
  resume(): void {
    this.stopped = false
  }

  stop(): void {
    this.stopped = true
    this.queue.length = 0
    this.checking.clear()
  }

  get pending(): number {
    return this.queue.length + this.inFlight
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.opts.maxConcurrentPings && this.queue.length > 0) {
      this.check(this.queue.shift()!)
    }
  }

  private check(contact: Contact): void {
    const entry = this.table.get(contact)
    if (entry === undefined) {
      this.checking.delete(contact.peerId)
      return
    }
    if (entry.failures >= this.opts.evictAfterFailures) {
      this.checking.delete(contact.peerId)
      this.table.remove(contact.peerId, contact.key)
      return
    }
    this.inFlight++
    let p: Promise<void>
    try {
      p = this.network.ping(entry.contact)
    } catch (err) {
      p = Promise.reject(err)
    }
    p.then(
      () => {
        this.inFlight--
        this.checking.delete(contact.peerId)
        if (!this.stopped) this.table.add(entry.contact, this.now())
        this.pump()
      },
      () => {
        this.inFlight--
        if (this.stopped) return
        const e = this.table.get(contact)
        if (e === undefined) {
          this.checking.delete(contact.peerId)
        } else {
          e.failures++
          // Ask again (at the back of the queue) until it answers or has failed often enough.
          this.queue.push(contact)
        }
        this.pump()
      },
    )
  }
}
