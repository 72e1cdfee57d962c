import { RoutingBusyError, RoutingStoppedError } from '../errors.js'

/** Runs at most `concurrency` tasks at once; at most `maxQueued` wait, beyond that callers get ROUTING_BUSY. */
export class LookupLimiter {
  private running = 0
  private readonly queue: { run: () => void; reject: (e: Error) => void }[] = []

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  get active(): number {
    return this.running
  }

  get queued(): number {
    return this.queue.length
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++
        task()
          .then(resolve, reject)
          .finally(() => {
            this.running--
            this.queue.shift()?.run()
          })
      }
      if (this.running < this.concurrency) start()
      else if (this.queue.length >= this.maxQueued)
        reject(new RoutingBusyError(`${this.queue.length} lookups already queued`))
      else this.queue.push({ run: start, reject })
    })
  }

  /** Rejects everything still waiting (used by stop()). */
  clear(): void {
    for (const q of this.queue.splice(0)) q.reject(new RoutingStoppedError())
  }
}
