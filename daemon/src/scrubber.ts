import { type ChunkStore, toChunkCid } from '@swarmstore/storage'
import type { Logger } from 'pino'
import type { ReplicaAdapter } from './replica-adapter.js'

export interface ScrubResult {
  checked: number
  corrupt: string[]
  missing: string[]
  /** bad copies replaced from a replica */
  repaired: number
  durationMs: number
}

export interface ScrubberComponents {
  store: Pick<ChunkStore, 'verify'>
  replicas: Pick<ReplicaAdapter, 'get' | 'localCopyBad' | 'restoreLocalCopy'>
  log: Logger
}

export interface ScrubberInit {
  /** how often a scrub runs on its own; 0 = only when asked (`swarmstore scrub`) */
  intervalMs: number
}

/**
 * Scrub: reads every chunk from disk (past the cache) and verifies it; a corrupt or vanished copy
 * is replaced from a replica, since it is ours to hold. One scrub at a time: asking during one
 * answers with its result.
 */
export class Scrubber {
  private readonly store: ScrubberComponents['store']
  private readonly replicas: ScrubberComponents['replicas']
  private readonly log: Logger
  private readonly intervalMs: number
  private timer: NodeJS.Timeout | undefined
  private running: Promise<ScrubResult> | undefined

  constructor(components: ScrubberComponents, init: ScrubberInit) {
    this.store = components.store
    this.replicas = components.replicas
    this.log = components.log
    this.intervalMs = init.intervalMs
  }

  start(): void {
    if (this.intervalMs <= 0) return
    // io-edge
    this.timer = setInterval(
      () => this.scrub().catch((err) => this.log.warn({ err }, 'scrub failed')),
      this.intervalMs,
    )
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  scrub(): Promise<ScrubResult> {
    this.running ??= this.run().finally(() => {
      this.running = undefined
    })
    return this.running
  }

  private async run(): Promise<ScrubResult> {
    const r = await this.store.verify({ concurrency: 2 })
    let repaired = 0
    // each bad copy is counted (chunks_corrupt_total) by localCopyBad
    for (const c of [...r.corrupt, ...r.missing]) {
      const cid = toChunkCid(c)
      this.replicas.localCopyBad(cid, 'scrub')
      try {
        await this.replicas.restoreLocalCopy(cid, await this.replicas.get(cid))
        repaired++
      } catch (err) {
        this.log.warn({ cid: c, err: (err as Error).message }, 'scrub: no good replica found')
      }
    }
    const { checked, corrupt, missing, durationMs } = r
    this.log.info(
      { checked, corrupt: corrupt.length, missing: missing.length, repaired, ms: durationMs },
      'scrub',
    )
    return { checked, corrupt, missing, repaired, durationMs }
  }
}
