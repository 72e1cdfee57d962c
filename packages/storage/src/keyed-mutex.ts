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

/** At most `slots` of the wrapped operations run at once; the rest wait in arrival order. */
export class Semaphore {
  private active = 0
  private readonly waiting: (() => void)[] = []

  constructor(private readonly slots: number) {
    if (!(slots >= 1)) throw new RangeError('a semaphore needs at least one slot')
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.slots) await new Promise<void>((r) => this.waiting.push(r))
    else this.active++
    try {
      return await fn()
    } finally {
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.active--
    }
  }
}
