/**
 * Reusable buffers for large frames (a chunk's bytes), so a daemon moving data assembles each chunk
 * in memory it already has instead of a fresh allocation per chunk.
 *
 * Why: a fresh 1 MiB buffer per chunk is new memory for the process whenever the garbage collector
 * has not yet freed the last ones (it frees them in batches), and the kernel zeroes every new page.
 * On a VM that backs guest memory lazily (this one) that zeroing costs far more than the copy:
 * perf of the first 256 MiB get of a fresh gateway daemon put 20% of its samples in clear_page,
 * over half of them under the frame assembly, against ~0 in a second get.
 *
 * Ownership: `take()` hands out a view of a pooled buffer; whoever holds the last use of it may
 * `release()` it, and only code that knows no other view is alive may. A buffer never released is
 * simply garbage-collected, so releasing is optional; a release of a view that is not the pool's,
 * or of one already released, does nothing.
 */
export class BufferPool {
  /** bytes per pooled buffer */
  readonly size: number
  private readonly maxFree: number
  private readonly free: Uint8Array[] = []
  /** every buffer handed out and not yet released, by its ArrayBuffer */
  private readonly out = new WeakMap<ArrayBufferLike, Uint8Array>()
  private used = false
  private readonly sweeper: NodeJS.Timeout

  /**
   * @param size bytes per buffer; `take(n)` for larger n allocates outside the pool
   * @param maxFree buffers kept for reuse at most (memory kept after a burst: size × maxFree)
   * @param idleMs free buffers unused for that long are dropped (an idle daemon keeps none)
   */
  constructor(size: number, maxFree: number, idleMs = 30_000) {
    this.size = size
    this.maxFree = maxFree
    const sweep = () => {
      if (!this.used) this.free.length = 0
      this.used = false
    }
    // a real timer: it only drops idle memory and decides nothing
    this.sweeper = setInterval(sweep, idleMs) // io-edge
    this.sweeper.unref()
  }

  /** A view of n bytes (contents undefined). */
  take(n: number): Uint8Array {
    if (n > this.size) return new Uint8Array(n)
    this.used = true
    const full = this.free.pop() ?? new Uint8Array(this.size)
    this.out.set(full.buffer, full)
    return full.subarray(0, n)
  }

  /** Gives the buffer behind `view` back; the caller must hold no view of it afterwards. */
  release(view: Uint8Array): void {
    const full = this.out.get(view.buffer)
    if (full === undefined) return
    this.out.delete(view.buffer)
    if (this.free.length < this.maxFree) this.free.push(full)
  }

  /** Buffers waiting for reuse. */
  get freeCount(): number {
    return this.free.length
  }

  close(): void {
    clearInterval(this.sweeper)
    this.free.length = 0
  }
}
