/**
 * A least-recently-used cache of verified chunk bytes, bounded by total bytes (not entries), in
 * front of the disk. Map iteration order is insertion order, so re-inserting on a hit makes the
 * first entry the least recently used one.
 */
export class ByteCache {
  private readonly map = new Map<string, Uint8Array>()
  private used = 0

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.used
  }

  get(k: string): Uint8Array | undefined {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.map.set(k, v)
    }
    return v
  }

  set(k: string, v: Uint8Array): void {
    // A single entry may take at most a quarter of the cache, so one huge chunk cannot flush it.
    if (v.length > this.maxBytes / 4) return
    this.delete(k)
    this.map.set(k, v)
    this.used += v.length
    for (const [ok, ov] of this.map) {
      if (this.used <= this.maxBytes) break
      this.map.delete(ok)
      this.used -= ov.length
    }
  }

  delete(k: string): void {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.used -= v.length
    }
  }

  clear(): void {
    this.map.clear()
    this.used = 0
  }
}
