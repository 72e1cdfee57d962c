/**
 * Piggyback dissemination with bounded retransmits: each update is sent at most `limit` times
 * (λ·log n, see config.ts) and the least-sent updates go first, newest first among equals
 * (memberlist's TransmitLimitedQueue order). A newer update about a member replaces the queued
 * one, so the queue holds at most one live entry per member.
 *
 * Entries sit in one bucket per transmit count, so taking k updates costs O(k) (plus skipping
 * replaced entries) instead of sorting the whole queue for every message.
 */
import type { MemberId, MemberUpdate } from './types.js'

interface Entry {
  readonly update: MemberUpdate
  transmits: number
  /** False once replaced by a newer update or retired after `limit` transmits. */
  live: boolean
}

export class BroadcastQueue {
  private readonly entries = new Map<MemberId, Entry>()
  /** buckets[t] holds entries sent t times; the newest is at the end. */
  private readonly buckets: Entry[][] = []

  get size(): number {
    return this.entries.size
  }

  enqueue(update: MemberUpdate): void {
    const old = this.entries.get(update.id)
    if (old !== undefined) old.live = false
    const e: Entry = { update, transmits: 0, live: true }
    this.entries.set(update.id, e)
    this.bucket(0).push(e)
  }

  /** Takes up to `max` updates for one message, counting a transmit on each. */
  take(max: number, limit: number): MemberUpdate[] {
    if (this.entries.size === 0 || max <= 0) return []
    const chosen: Entry[] = []
    for (let t = 0; t < this.buckets.length && chosen.length < max; t++) {
      const b = this.buckets[t]!
      while (b.length > 0 && chosen.length < max) {
        const e = b.pop()!
        if (e.live) chosen.push(e)
      }
    }
    for (const e of chosen) {
      e.transmits++
      if (e.transmits >= limit) {
        e.live = false
        this.entries.delete(e.update.id)
      } else this.bucket(e.transmits).push(e)
    }
    return chosen.map((e) => e.update)
  }

  has(id: MemberId): boolean {
    return this.entries.has(id)
  }

  clear(): void {
    this.entries.clear()
    this.buckets.length = 0
  }

  private bucket(t: number): Entry[] {
    let b = this.buckets[t]
    if (b === undefined) {
      while (this.buckets.length <= t) this.buckets.push([])
      b = this.buckets[t]!
    }
    return b
  }
}
