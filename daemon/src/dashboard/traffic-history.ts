import { TRAFFIC_CLASSES, type TrafficTotals } from '../metrics.js'

/** One second of traffic: bytes/s by direction and class, e.g. `putIn`, `repairOut`. */
export interface TrafficSample {
  /** the sample's time (ms since the epoch) */
  t: number
  rates: Record<string, number>
  underReplicated: number
}

/**
 * A fixed ring of the last `capacity` samples (900 at one a second: 15 minutes), made from the
 * running byte totals: each sample is the difference from the previous totals over the time
 * between them. Memory is bounded by `capacity` whatever the traffic.
 */
export class TrafficHistory {
  private readonly ring: (TrafficSample | undefined)[]
  private next = 0
  private last: { t: number; totals: TrafficTotals } | undefined

  constructor(readonly capacity = 900) {
    this.ring = new Array(capacity)
  }

  /** Records the totals as of `t`; the first call only sets the baseline. */
  add(t: number, totals: TrafficTotals, underReplicated: number): TrafficSample | undefined {
    const copy = { in: { ...totals.in }, out: { ...totals.out } }
    const prev = this.last
    this.last = { t, totals: copy }
    if (prev === undefined || t <= prev.t) return undefined
    const seconds = (t - prev.t) / 1000
    const rates: Record<string, number> = {}
    for (const dir of ['in', 'out'] as const) {
      for (const c of TRAFFIC_CLASSES) {
        rates[`${c}${dir === 'in' ? 'In' : 'Out'}`] = Math.round(
          (copy[dir][c] - prev.totals[dir][c]) / seconds,
        )
      }
    }
    const sample = { t, rates, underReplicated }
    this.ring[this.next] = sample
    this.next = (this.next + 1) % this.capacity
    return sample
  }

  /** Oldest first. */
  samples(): TrafficSample[] {
    const out: TrafficSample[] = []
    for (let i = 0; i < this.capacity; i++) {
      const s = this.ring[(this.next + i) % this.capacity]
      if (s !== undefined) out.push(s)
    }
    return out
  }
}

/** Membership changes worth a mark on the time axis, kept for the same 15 minutes (and at most 500). */
export interface MemberEventMark {
  t: number
  type: 'alive' | 'suspect' | 'dead' | 'left'
  peer: string
}

export class EventMarks {
  private marks: MemberEventMark[] = []

  constructor(
    private readonly keepMs = 15 * 60_000,
    private readonly max = 500,
  ) {}

  add(mark: MemberEventMark): void {
    this.marks.push(mark)
    if (this.marks.length > this.max) this.marks.splice(0, this.marks.length - this.max)
  }

  recent(now: number): MemberEventMark[] {
    const from = now - this.keepMs
    if (this.marks.length > 0 && this.marks[0]!.t < from) this.marks = this.marks.filter((m) => m.t >= from)
    return this.marks
  }
}
