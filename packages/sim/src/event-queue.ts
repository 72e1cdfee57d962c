/**
 * The simulator's agenda: a binary min-heap ordered by (time, insertion sequence). The sequence
 * number breaks ties so that two events at the same virtual time always run in the order they were
 * scheduled — the root of "same seed ⇒ identical run".
 */
export interface SimEvent {
  readonly time: number
  readonly seq: number
  fn: (() => void) | null
}

export class EventQueue {
  private readonly heap: SimEvent[] = []
  private nextSeq = 0

  get size(): number {
    return this.heap.length
  }

  push(time: number, fn: () => void): SimEvent {
    const ev: SimEvent = { time, seq: this.nextSeq++, fn }
    const h = this.heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = h[p]!
      if (!before(ev, parent)) break
      h[i] = parent
      i = p
    }
    h[i] = ev
    return ev
  }

  peek(): SimEvent | undefined {
    return this.heap[0]
  }

  pop(): SimEvent | undefined {
    const h = this.heap
    const top = h[0]
    if (top === undefined) return undefined
    const last = h.pop()!
    if (h.length > 0) {
      let i = 0
      const n = h.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const c = r < n && before(h[r]!, h[l]!) ? r : l
        if (!before(h[c]!, last)) break
        h[i] = h[c]!
        i = c
      }
      h[i] = last
    }
    return top
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}
