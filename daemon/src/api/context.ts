import type { Logger } from 'pino'
import type { BlockReader } from '../block-reader.js'
import type { BlockWriter } from '../block-writer.js'
import type { Holders } from '../holders.js'
import type { Metrics } from '../metrics.js'

/** What the file routes of the control API use (narrow, so a test can see what they touch). */
export interface ApiContext {
  log: Logger
  chunkSize: number
  /** R: `stat` reports it beside each chunk's holders */
  replicas: number
  /** the file counters, by result */
  metrics: Pick<Metrics, 'putsTotal' | 'getsTotal'>
  /** joined the swarm: puts wait for it */
  isReady(): boolean
  reader: Pick<BlockReader, 'getBlock'>
  writer: Pick<BlockWriter, 'putBlock' | 'pin'>
  holders: Pick<Holders, 'find'>
  /**
   * A data block from reader.getBlock that its consumer is done with (no view of it is used
   * afterwards): its memory may be reused for the next chunk fetched.
   */
  release(bytes: Uint8Array): void
  /** told of each file put through this API (the dashboard offers them in its placement view) */
  filePut?(cid: string, size: number): void
}
