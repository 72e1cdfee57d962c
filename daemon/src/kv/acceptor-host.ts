import { join } from 'node:path'
import {
  type AcceptorAction,
  type AcceptorRecord,
  type GroupConfig,
  KvAcceptor,
  type KvReply,
} from '@swarmstore/kv'
import { RecordLog } from '@swarmstore/storage'
import type { Logger } from 'pino'
import { decodeKv, encodeKv } from './codec.js'

/** The write-ahead file is rewritten with only its live records once it is this large … */
const COMPACT_MIN_BYTES = 64 * 1024 * 1024
/** … and this many times the live records' size after the previous rewrite. */
const COMPACT_GROWTH = 4

export interface AcceptorHostComponents {
  log: Logger
}

export interface AcceptorHostInit {
  /** this node's peer id: the acceptor's member id */
  id: string
  dataDir: string
}

/**
 * The KvAcceptor on this node, on its write-ahead file: every `persist` batch becomes one append
 * (one write, one fdatasync — group commit: requests arriving meanwhile form the next batch) and
 * only then are its replies released. On start the file is replayed into a new acceptor (a torn
 * tail is cut: no reply depended on it) and rewritten with just the live records.
 *
 * A failed write is a crash of the acceptor: it answers nothing more (every pending and later
 * request fails) until the daemon restarts and rebuilds it from the file.
 */
export class AcceptorHost {
  private readonly log: Logger
  private readonly id: string
  private readonly path: string
  private wal: RecordLog | undefined
  private acceptor: KvAcceptor | undefined
  private readonly waiting = new Map<number, (reply: KvReply) => void>()
  private nextRequest = 1
  private failed: Error | undefined
  private liveBytes = 0
  private compacting = false
  private stopped = false

  constructor(components: AcceptorHostComponents, init: AcceptorHostInit) {
    this.log = components.log
    this.id = init.id
    this.path = join(init.dataDir, 'kv-acceptor.log')
  }

  async start(): Promise<void> {
    const { log, records, repaired } = await RecordLog.open({ path: this.path })
    if (repaired > 0) this.log.warn({ bytes: repaired }, 'kv write-ahead file: torn tail cut off')
    const restore = records.map((r) => decodeKv(r) as AcceptorRecord)
    this.acceptor = new KvAcceptor({ id: this.id, restore })
    this.wal = log
    await this.compact()
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const resolve of this.waiting.values()) resolve({ t: 'behind', epoch: 0 })
    this.waiting.clear()
    await this.wal?.close()
  }

  get kv(): KvAcceptor {
    if (this.acceptor === undefined) throw new Error('the acceptor host is not started')
    return this.acceptor
  }

  /** A request from a proposer or mover (here or remote); the reply comes once its state is durable. */
  request(msg: unknown): Promise<KvReply> {
    // stopped or failed: nothing more is written, and no reply may show unwritten state
    if (this.failed || this.stopped) return Promise.resolve({ t: 'behind', epoch: 0 })
    const id = this.nextRequest++
    const reply = new Promise<KvReply>((resolve) => this.waiting.set(id, resolve))
    this.kv.receive(id, msg, performance.now())
    this.pump()
    return reply
  }

  /** Genesis: this node founds every range it does not hold yet under `config`. */
  found(ranges: Iterable<number>, config: (range: number) => GroupConfig): number {
    let n = 0
    for (const r of ranges) if (this.kv.found(r, config(r))) n++
    this.pump()
    return n
  }

  private pump(): void {
    for (const a of this.kv.takeActions()) this.execute(a)
  }

  private execute(a: AcceptorAction): void {
    if (a.type === 'reply') {
      const resolve = this.waiting.get(a.id)
      this.waiting.delete(a.id)
      resolve?.(a.reply)
      return
    }
    const bytes = a.records.map(encodeKv)
    this.wal!.append(bytes).then(
      () => {
        this.kv.persisted(a.batch, performance.now())
        this.pump()
        this.maybeCompact()
      },
      (err: Error) => this.crash(err),
    )
  }

  private crash(err: Error): void {
    this.failed = err
    if (this.stopped) return // the file closed under a batch at shutdown: nothing was answered from it
    this.log.error({ err }, 'kv write-ahead file: write failed; the acceptor stops answering until restart')
    for (const resolve of this.waiting.values()) resolve({ t: 'behind', epoch: 0 })
    this.waiting.clear()
  }

  private maybeCompact(): void {
    const size = this.wal!.size
    if (this.compacting || size < COMPACT_MIN_BYTES || size < COMPACT_GROWTH * this.liveBytes) return
    this.compacting = true
    this.compact().then(
      () => {
        this.compacting = false
      },
      (err: Error) => this.crash(err),
    )
  }

  private async compact(): Promise<void> {
    const live = [...this.kv.records()].map(encodeKv)
    this.liveBytes = live.reduce((n, b) => n + b.byteLength, 0)
    await this.wal!.compact(live)
  }
}
