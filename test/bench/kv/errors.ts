/** What bench:kv counts as an error (issue 21): non-2xx answers, no answer within 2 s, wrong values. */
export interface ErrorCounts {
  /** answers other than 2xx (other than a 404 that is the right answer) */
  non2xx: number
  /** not answered within 2 s */
  timeouts: number
  /** no HTTP answer at all (connection refused or reset) */
  failed: number
  /** bytes other than those written, a stale or lost value, or a version other than the write's */
  wrong: number
}

export const noErrors = (): ErrorCounts => ({ non2xx: 0, timeouts: 0, failed: 0, wrong: 0 })

export const errorTotal = (e: ErrorCounts) => e.non2xx + e.timeouts + e.failed + e.wrong

/** Counts errors and keeps the first few, worded, for the report. */
export class ErrorLog {
  readonly counts = noErrors()
  readonly first: string[] = []

  add(kind: keyof ErrorCounts, detail: string): void {
    this.counts[kind]++
    if (this.first.length < 10) this.first.push(detail)
  }
}
