/**
 * Group commit: one write (one fsync) for every change that arrived while the previous write was
 * on disk. Changes are gathered in the open batch (a slot changed twice is written once, with its
 * latest record); the open batch goes to disk the moment no other is being written, so an idle
 * acceptor writes at once and a busy one writes in batches as large as its disk is slow.
 *
 * Every reply waits here until the state it shows is durable: a reply to a change waits for the
 * batch holding that change; a reply that changes nothing but reads a slot whose latest change is
 * not yet durable waits for that change's batch. Batches are written one at a time, in order, so a
 * batch durable means every earlier batch is too.
 */
export class GroupCommit<R, Out> {
  private open = new Map<string, R>()
  private openBatch = 1
  private writing: { batch: number; slots: string[] } | undefined
  private readonly held = new Map<number, Out[]>()
  /** slot → the batch holding its latest change, while that batch is not durable */
  private readonly pendingIn = new Map<string, number>()

  constructor(
    private readonly write: (batch: number, records: R[]) => void,
    private readonly release: (out: Out) => void,
  ) {}

  /** `slot` is now `record`; `out` (if any) is released once that is durable. */
  change(slot: string, record: R, out?: Out): void {
    this.open.set(slot, record)
    this.pendingIn.set(slot, this.openBatch)
    if (out !== undefined) this.hold(this.openBatch, out)
  }

  /**
   * `out` shows these slots as they are: released once their latest changes are durable (now if
   * they are). Batches become durable in order, so it waits for the latest batch among them.
   */
  after(slots: string | readonly string[], out: Out): void {
    let batch: number | undefined
    for (const slot of typeof slots === 'string' ? [slots] : slots) {
      const b = this.pendingIn.get(slot)
      if (b !== undefined && (batch === undefined || b > batch)) batch = b
    }
    if (batch === undefined) this.release(out)
    else this.hold(batch, out)
  }

  /** Starts writing the open batch if nothing is being written. */
  flush(): void {
    if (this.writing !== undefined || this.open.size === 0) return
    const batch = this.openBatch++
    const records = [...this.open.values()]
    this.writing = { batch, slots: [...this.open.keys()] }
    this.open = new Map()
    this.write(batch, records)
  }

  /** The write of `batch` is durable: its replies go, and the next batch starts. False if unknown. */
  persisted(batch: number): boolean {
    const w = this.writing
    if (w === undefined || w.batch !== batch) return false
    this.writing = undefined
    for (const slot of w.slots) if (this.pendingIn.get(slot) === batch) this.pendingIn.delete(slot)
    const out = this.held.get(batch) ?? []
    this.held.delete(batch)
    for (const o of out) this.release(o)
    this.flush()
    return true
  }

  /** Whether `slot` has a change not yet durable. */
  pending(slot: string): boolean {
    return this.pendingIn.has(slot)
  }

  /** The batch being written, if any. */
  get inFlight(): number | undefined {
    return this.writing?.batch
  }

  /** Replies waiting for a write. */
  get waiting(): number {
    let n = 0
    for (const list of this.held.values()) n += list.length
    return n
  }

  private hold(batch: number, out: Out): void {
    const list = this.held.get(batch)
    if (list) list.push(out)
    else this.held.set(batch, [out])
  }
}
