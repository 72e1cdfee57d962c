/**
 * Checks the reads of the loaded phase against the writes the load process issued, per key, as a
 * register (no deletes): only what is certain to be wrong counts. A read of write w is stale if
 * some write w' was acknowledged before the read began and began after w was acknowledged (so
 * every linearization puts w' between w and the read). A "not found" is wrong if any write of the
 * key was acknowledged before the read began. A write that was not acknowledged (error, timeout)
 * may or may not have happened, so it can be read at any later time and never makes a read stale.
 * Times are `performance.now()` of the one process that issues every operation.
 */

interface Write {
  start: number
  /** when it was acknowledged; Infinity if it never was */
  end: number
}

export type ReadVerdict = 'ok' | 'stale' | 'never-written' | 'lost'

export class RegisterCheck {
  private readonly writes = new Map<string, Map<number, Write>>()

  beginWrite(key: string, seq: number, start: number): void {
    let m = this.writes.get(key)
    if (m === undefined) {
      m = new Map()
      this.writes.set(key, m)
    }
    m.set(seq, { start, end: Number.POSITIVE_INFINITY })
  }

  acknowledged(key: string, seq: number, end: number): void {
    const w = this.writes.get(key)?.get(seq)
    if (w !== undefined) w.end = end
  }

  /** A read over [start, end] that returned write `seq`, or nothing (undefined: 404). */
  checkRead(key: string, seq: number | undefined, start: number, end: number): ReadVerdict {
    const ws = this.writes.get(key)
    if (seq === undefined) {
      for (const w of ws?.values() ?? []) if (w.end < start) return 'lost'
      return 'ok'
    }
    const w = ws?.get(seq)
    if (w === undefined || w.start > end) return 'never-written'
    for (const o of ws!.values()) if (o.start > w.end && o.end < start) return 'stale'
    return 'ok'
  }
}
