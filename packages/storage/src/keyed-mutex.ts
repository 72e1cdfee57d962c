/**
 * Serialises operations per key (a chunk's put, delete and quarantine), so that two concurrent puts
 * of the same chunk write it once and a delete cannot interleave with a put of the same key.
 * Different keys run fully in parallel.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>()

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key)
    let release!: () => void
    const mine = new Promise<void>((r) => {
      release = r
    })
    const tail = prev === undefined ? mine : prev.then(() => mine)
    this.tails.set(key, tail)
    if (prev !== undefined) await prev
    try {
      return await fn()
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
