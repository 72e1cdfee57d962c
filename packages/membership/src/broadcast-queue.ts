/**
 * Piggyback dissemination with bounded retransmits: each update is sent at most `limit` times
 * (λ·log n, see config.ts) and the least-sent updates go first. A newer update about a member
 * replaces the queued one, so the queue holds at most one entry per member.
 */
import type { MemberId, MemberUpdate } from './types.js'

interface Entry {
  update: MemberUpdate
  transmits: number
  /** Insertion order, to break ties deterministically (newest first). */
  seq: number
}

export class BroadcastQueue {
  private readonly entries = new Map<MemberId, Entry>()
  private seq = 0

  get size(): number {
    return this.entries.size
  }

  enqueue(update: MemberUpdate): void {
    this.entries.set(update.id, { update, transmits: 0, seq: this.seq++ })
  }

  /** Takes up to `max` updates for one message, counting a transmit on each. */
  take(max: number, limit: number, exclude?: MemberId): MemberUpdate[] {
    if (this.entries.size === 0 || max <= 0) return []
    const chosen = [...this.entries.values()]
      .filter((e) => e.update.id !== exclude)
      .sort((a, b) => a.transmits - b.transmits || b.seq - a.seq)
      .slice(0, max)
    for (const e of chosen) {
      e.transmits++
      if (e.transmits >= limit) this.entries.delete(e.update.id)
    }
    return chosen.map((e) => e.update)
  }

  has(id: MemberId): boolean {
    return this.entries.has(id)
  }

  clear(): void {
    this.entries.clear()
  }
}
