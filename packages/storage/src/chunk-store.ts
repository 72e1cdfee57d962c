/**
 * The persistent chunk store: one file per chunk, written flatfs-style (temp file, fsync, rename,
 * fsync of the directory), an in-memory index ordered by keyspace key, per-prefix summaries kept
 * current on every write, verify-on-read with quarantine, a byte-bounded cache, optional
 * compression, a hard quota, pins and GC. See README.md for the layout and the durability promise.
 */
import { dirname, join } from 'node:path'
import { type Clock, type Key, keyForCid, keyToHex, SystemClock } from '@swarmstore/core'
import type { CID } from 'multiformats/cid'
import pLimit from 'p-limit'
import { ByteCache } from './byte-cache.js'
import { type ExportCarOptions, exportCar, type ImportCarResult, importCar } from './car.js'
import { bytesMatchCid, toChunkCid } from './cid.js'
import { type Compression, decompress, maybeCompress } from './compression.js'
import {
  CapacityExceededError,
  ChunkCorruptError,
  ChunkNotFoundError,
  ChunkPinnedError,
  ChunkTooLargeError,
  HashMismatchError,
  StoreClosedError,
  UnknownFormatError,
} from './errors.js'
import { NodeFs } from './fs/node-fs.js'
import { isNotFound, type StoreFs } from './fs/store-fs.js'
import { type IndexEntry, KeyIndex } from './key-index.js'
import { KeyedMutex } from './keyed-mutex.js'
import { chunkFileName, FORMAT_NAME, FORMAT_VERSION, parseChunkFileName, paths, shardName } from './layout.js'
import { MAX_CHUNK_SIZE } from './manifest.js'
import {
  maskPrefix,
  PrefixSummaries,
  type PrefixSummary,
  prefixEnd,
  SUMMARY_BITS,
} from './prefix-summaries.js'

export interface ChunkStoreInit {
  /** Hard quota on bytes stored on disk (after compression). Default: none (the disk's free space). */
  capacityBytes?: number
  /** Memory cache of verified chunks, in bytes (default 32 MiB; 0 disables it). */
  cacheBytes?: number
  /** Per-chunk compression where it pays (default 'none'). */
  compression?: Compression
  /** Largest chunk accepted (default 8 MiB, the largest manifest chunk size). */
  maxChunkBytes?: number
  /** Times verify(); default SystemClock. */
  clock?: Clock
  /** File system; default the real one (tests pass a simulated power-loss file system). */
  fs?: StoreFs
}

export interface PutOptions {
  /**
   * The caller computed `cid` from exactly these bytes, in this process, just now (buildFile's
   * putBlock does): skip the re-hash. Never set it for bytes that came from the network or a file.
   */
  trusted?: boolean
}

export interface ChunkStoreStats {
  chunks: number
  /** Bytes of chunk content (uncompressed). */
  bytes: number
  /** Bytes on disk (after compression); what the quota counts. */
  storedBytes: number
  /** The quota, or null when there is none. */
  capacityBytes: number | null
  /** What can still be stored: quota left, bounded by the disk's free space. */
  freeBytes: number
  /** Chunks ever moved to quarantine (files in quarantine/). */
  quarantined: number
  pinned: number
  cacheBytes: number
}

export interface KeyEntry {
  key: Key
  cid: CID
  size: number
}

export interface VerifyReport {
  checked: number
  /** CIDs found corrupt and quarantined. */
  corrupt: string[]
  /** CIDs whose file had vanished (dropped from the index). */
  missing: string[]
  durationMs: number
}

export interface GcResult {
  deleted: number
  freedBytes: number
}

function checkPrefixBits(prefixBits: number): void {
  if (!Number.isInteger(prefixBits) || prefixBits < 0 || prefixBits > 256) {
    throw new RangeError(`prefixBits ${prefixBits} outside [0, 256]`)
  }
}

/** See ChunkStore.writeSlots. */
const WRITE_SLOTS = 2

export class ChunkStore {
  private readonly index = new KeyIndex()
  private readonly summaries = new PrefixSummaries()
  private readonly locks = new KeyedMutex()
  /**
   * Durable writes in progress at once. Each holds a libuv thread-pool thread through its
   * write, fsync, rename and directory fsync; unbounded, a burst of incoming copies (a repair)
   * filled all 4 threads with fsyncs and a read waited behind them (100–340 ms local reads
   * measured during bench:heal). Two slots leave the other threads to reads.
   */
  private readonly writeSlots = pLimit(WRITE_SLOTS)
  private readonly cache: ByteCache
  private readonly pins = new Set<string>()
  private readonly released = new Set<string>()
  private readonly pending = new Set<Promise<unknown>>()
  private readonly p: ReturnType<typeof paths>
  private readonly capacity: number | null
  private readonly compression: Compression
  private readonly maxChunkBytes: number
  private readonly clock: Clock
  private bytes = 0
  private storedBytes = 0
  private reserved = 0
  private quarantined = 0
  private seq = 0
  private closed = false

  private constructor(
    readonly dir: string,
    private readonly fs: StoreFs,
    init: ChunkStoreInit,
  ) {
    this.p = paths(dir)
    this.capacity = init.capacityBytes ?? null
    if (this.capacity !== null && !(this.capacity >= 0)) throw new RangeError('capacityBytes must be >= 0')
    this.cache = new ByteCache(init.cacheBytes ?? 32 << 20)
    this.compression = init.compression ?? 'none'
    this.maxChunkBytes = init.maxChunkBytes ?? MAX_CHUNK_SIZE
    this.clock = init.clock ?? new SystemClock()
  }

  /**
   * Opens (creating if needed) the store in `dir`: checks the format marker, removes temp debris,
   * makes every directory entry it finds durable, and rebuilds the index and summaries from the
   * file names (no chunk is read).
   */
  static async open(dir: string, init: ChunkStoreInit = {}): Promise<ChunkStore> {
    const store = new ChunkStore(dir, init.fs ?? new NodeFs(), init)
    try {
      await store.load()
    } catch (err) {
      await store.fs.close?.()
      throw err
    }
    return store
  }

  private async load(): Promise<void> {
    const { fs, p } = this
    await fs.mkdir(this.dir)
    // A freshly created data dir is itself only a volatile entry in its parent until that is fsynced.
    await fs.fsyncDir(dirname(this.dir))
    await this.checkFormat()
    for (const d of [p.tmp, p.quarantine, p.pins, p.blocks]) await fs.mkdir(d)
    const shards = new Set(await fs.readdir(p.blocks))
    const all = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
    await inParallel(
      all.filter((s) => !shards.has(s)),
      (s) => fs.mkdir(join(p.blocks, s)),
    )
    // Directories created above (now or by a crashed run) become durable before anything relies on them.
    await fs.fsyncDir(p.blocks)
    await fs.fsyncDir(this.dir)
    // A temp file is a put that never resolved: nobody was promised it, so it goes.
    for (const name of await fs.readdir(p.tmp)) await fs.unlink(join(p.tmp, name))
    await fs.fsyncDir(p.tmp)
    await inParallel(all, (s) => this.loadShard(s))
    for (const name of await fs.readdir(p.pins)) {
      try {
        this.pins.add(keyToHex(keyForCid(toChunkCid(name))))
      } catch {
        // not a pin file of ours; leave it alone
      }
    }
    this.quarantined = (await fs.readdir(p.quarantine)).length
  }

  private async checkFormat(): Promise<void> {
    const { fs, p } = this
    let text: string
    try {
      text = new TextDecoder().decode(await fs.readFile(p.format))
    } catch (err) {
      if (!isNotFound(err)) throw err
      const entries = await fs.readdir(this.dir)
      if (entries.includes('blocks'))
        throw new UnknownFormatError(`${this.dir} has blocks/ but no FORMAT marker`)
      const marker = new TextEncoder().encode(
        `${JSON.stringify({ format: FORMAT_NAME, version: FORMAT_VERSION })}\n`,
      )
      await fs.writeFile(p.formatTmp, marker, { sync: true })
      await fs.rename(p.formatTmp, p.format)
      await fs.fsyncDir(this.dir)
      return
    }
    let parsed: { format?: unknown; version?: unknown }
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new UnknownFormatError(`${p.format} is not JSON`)
    }
    if (parsed.format !== FORMAT_NAME)
      throw new UnknownFormatError(`${p.format} names format ${String(parsed.format)}`)
    if (parsed.version !== FORMAT_VERSION) {
      throw new UnknownFormatError(
        `${this.dir} is format version ${String(parsed.version)}; this code reads version ${FORMAT_VERSION}`,
      )
    }
  }

  private async loadShard(shard: string): Promise<void> {
    const dir = join(this.p.blocks, shard)
    const names = await this.fs.readdir(dir)
    await Promise.all(
      names.map(async (name) => {
        const parsed = parseChunkFileName(name)
        if (parsed === undefined) return
        const key = keyForCid(parsed.cid)
        if (shardName(key) !== shard) return
        const storedSize = await this.fs.size(join(dir, name))
        this.addEntry({
          key,
          keyHex: keyToHex(key),
          cid: parsed.cid,
          size: parsed.size ?? storedSize,
          storedSize,
          encoding: parsed.encoding,
          name,
        })
      }),
    )
    // What we just listed may have been renamed in by a run that died before its directory fsync.
    await this.fs.fsyncDir(dir)
  }

  private addEntry(e: IndexEntry): void {
    if (!this.index.add(e)) return
    this.summaries.add(e.key)
    this.bytes += e.size
    this.storedBytes += e.storedSize
  }

  /** Removes exactly this entry (not a newer one under the same key); true if it was there. */
  private dropEntry(e: IndexEntry): boolean {
    if (this.index.get(e.keyHex) !== e) return false
    this.index.remove(e.keyHex)
    this.summaries.remove(e.key)
    this.bytes -= e.size
    this.storedBytes -= e.storedSize
    this.cache.delete(e.keyHex)
    return true
  }

  private filePath(e: IndexEntry): string {
    return join(this.p.blocks, shardName(e.key), e.name)
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError()
  }

  private track<T>(op: Promise<T>): Promise<T> {
    this.pending.add(op)
    const done = (): void => {
      this.pending.delete(op)
    }
    op.then(done, done)
    return op
  }

  /**
   * Stores a chunk. Resolves only once it is durable (file and directory entry fsynced). Verifies
   * that the bytes hash to the CID. Idempotent; concurrent puts of the same chunk write it once.
   * A put also clears a GC release mark on the chunk (the caller wants it again).
   */
  put(cid: CID | string, bytes: Uint8Array, opts: PutOptions = {}): Promise<void> {
    this.assertOpen()
    return this.track(this.doPut(toChunkCid(cid), bytes, opts.trusted === true))
  }

  private async doPut(cid: CID, bytes: Uint8Array, trusted: boolean): Promise<void> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('put needs a Uint8Array')
    if (bytes.length > this.maxChunkBytes) throw new ChunkTooLargeError(bytes.length, this.maxChunkBytes)
    const key = keyForCid(cid)
    const keyHex = keyToHex(key)
    if (!trusted && !(await bytesMatchCid(cid, bytes))) throw new HashMismatchError(cid.toString())
    await this.locks.run(keyHex, async () => {
      this.released.delete(keyHex)
      if (this.index.get(keyHex) !== undefined) return
      const { encoding, stored } = await maybeCompress(this.compression, bytes)
      this.reserve(stored.length)
      try {
        const name = chunkFileName(cid, encoding, bytes.length)
        const shardDir = join(this.p.blocks, shardName(key))
        const tmp = join(this.p.tmp, `${keyHex}.${this.seq++}`)
        await this.writeSlots(async () => {
          try {
            await this.fs.writeFile(tmp, stored, { sync: true })
            await this.fs.rename(tmp, join(shardDir, name))
          } catch (err) {
            await this.fs.unlink(tmp).catch(() => {})
            throw err
          }
          await this.fs.fsyncDir(shardDir)
        })
        this.addEntry({ key, keyHex, cid, size: bytes.length, storedSize: stored.length, encoding, name })
      } finally {
        this.reserved -= stored.length
      }
    })
  }

  private reserve(n: number): void {
    if (this.capacity !== null) {
      const free = this.capacity - this.storedBytes - this.reserved
      if (n > free) throw new CapacityExceededError(n, Math.max(0, free), this.capacity)
    }
    this.reserved += n
  }

  /**
   * The chunk's bytes, verified against the CID. A chunk that fails verification is quarantined and
   * reported with ChunkCorruptError; a missing one with ChunkNotFoundError. The returned bytes may be
   * shared with the cache: do not modify them.
   *
   * `verify: false` skips the hash (not the size and decompression checks), for a caller whose reader
   * verifies anyway (a peer serving a chunk: every reader hashes what it receives). Such bytes are
   * not cached.
   */
  async get(cid: CID | string, opts: { verify?: boolean } = {}): Promise<Uint8Array> {
    this.assertOpen()
    const c = toChunkCid(cid)
    const keyHex = keyToHex(keyForCid(c))
    const cached = this.cache.get(keyHex)
    if (cached !== undefined) return cached
    const e = this.index.get(keyHex)
    if (e === undefined) throw new ChunkNotFoundError(c.toString())
    if (opts.verify === false) return this.readVerified(e, false)
    const bytes = await this.readVerified(e)
    this.cache.set(keyHex, bytes)
    return bytes
  }

  private async readVerified(e: IndexEntry, hash = true): Promise<Uint8Array> {
    let stored: Uint8Array
    try {
      stored = await this.fs.readFile(this.filePath(e))
    } catch (err) {
      // Deleted under us (or from outside): not found; verify() drops entries whose file vanished.
      if (isNotFound(err)) throw new ChunkNotFoundError(e.cid.toString())
      throw err
    }
    let bytes: Uint8Array
    try {
      bytes = await decompress(e.encoding, stored, e.size)
    } catch (err) {
      await this.quarantine(e)
      throw new ChunkCorruptError(e.cid.toString(), `cannot decompress ${e.encoding}`, { cause: err })
    }
    if (bytes.length !== e.size || (hash && !(await bytesMatchCid(e.cid, bytes)))) {
      await this.quarantine(e)
      throw new ChunkCorruptError(
        e.cid.toString(),
        bytes.length !== e.size ? `${bytes.length} bytes, expected ${e.size}` : 'hash mismatch',
      )
    }
    return bytes
  }

  /** Moves a corrupt chunk aside (kept for inspection) and forgets it, so a replica can replace it. */
  private async quarantine(e: IndexEntry): Promise<void> {
    await this.locks.run(e.keyHex, async () => {
      if (!this.dropEntry(e)) return
      const shardDir = join(this.p.blocks, shardName(e.key))
      try {
        await this.fs.rename(join(shardDir, e.name), join(this.p.quarantine, `${e.name}.${this.seq++}`))
        await this.fs.fsyncDir(this.p.quarantine)
        await this.fs.fsyncDir(shardDir)
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
      this.quarantined++
    })
  }

  has(cid: CID | string): boolean {
    this.assertOpen()
    return this.index.get(keyToHex(keyForCid(toChunkCid(cid)))) !== undefined
  }

  /**
   * Deletes a chunk durably; false if it was not there. A pinned chunk needs { force: true }.
   */
  delete(cid: CID | string, opts: { force?: boolean } = {}): Promise<boolean> {
    this.assertOpen()
    return this.track(this.doDelete(toChunkCid(cid), opts.force ?? false))
  }

  private async doDelete(cid: CID, force: boolean): Promise<boolean> {
    const keyHex = keyToHex(keyForCid(cid))
    return this.locks.run(keyHex, async () => {
      const e = this.index.get(keyHex)
      if (e === undefined) return false
      if (!force && this.pins.has(keyHex)) throw new ChunkPinnedError(cid.toString())
      const shardDir = join(this.p.blocks, shardName(e.key))
      try {
        await this.fs.unlink(join(shardDir, e.name))
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
      await this.fs.fsyncDir(shardDir)
      this.dropEntry(e)
      this.released.delete(keyHex)
      return true
    })
  }

  /** Pins a chunk (present or not yet): GC never removes it. Durable when resolved. */
  pin(cid: CID | string): Promise<void> {
    this.assertOpen()
    const c = toChunkCid(cid)
    const keyHex = keyToHex(keyForCid(c))
    return this.track(
      this.locks.run(`pin:${keyHex}`, async () => {
        if (this.pins.has(keyHex)) return
        await this.fs.writeFile(join(this.p.pins, c.toString()), new Uint8Array(0), { sync: true })
        await this.fs.fsyncDir(this.p.pins)
        this.pins.add(keyHex)
      }),
    )
  }

  unpin(cid: CID | string): Promise<void> {
    this.assertOpen()
    const c = toChunkCid(cid)
    const keyHex = keyToHex(keyForCid(c))
    return this.track(
      this.locks.run(`pin:${keyHex}`, async () => {
        if (!this.pins.has(keyHex)) return
        // The pin file may be under another codec's CID string of the same multihash.
        for (const name of await this.fs.readdir(this.p.pins)) {
          try {
            if (keyToHex(keyForCid(toChunkCid(name))) === keyHex)
              await this.fs.unlink(join(this.p.pins, name))
          } catch (err) {
            if (isNotFound(err)) continue
            if ((err as { code?: string }).code === 'BAD_CID') continue
            throw err
          }
        }
        await this.fs.fsyncDir(this.p.pins)
        this.pins.delete(keyHex)
      }),
    )
  }

  isPinned(cid: CID | string): boolean {
    return this.pins.has(keyToHex(keyForCid(toChunkCid(cid))))
  }

  /**
   * Marks chunks as no longer this node's responsibility (e.g. after a confirmed handoff). gc()
   * deletes marked chunks that are not pinned. Marks live in memory: after a restart the caller's
   * next placement pass marks again. A later put of the chunk clears its mark.
   */
  release(cid: CID | string): void {
    this.assertOpen()
    this.released.add(keyToHex(keyForCid(toChunkCid(cid))))
  }

  async gc(): Promise<GcResult> {
    this.assertOpen()
    let deleted = 0
    let freedBytes = 0
    for (const keyHex of [...this.released]) {
      const e = this.index.get(keyHex)
      if (e === undefined) {
        this.released.delete(keyHex)
        continue
      }
      if (this.pins.has(keyHex)) continue
      const stored = e.storedSize
      if (await this.delete(e.cid)) {
        deleted++
        freedBytes += stored
      }
    }
    return { deleted, freedBytes }
  }

  async stats(): Promise<ChunkStoreStats> {
    this.assertOpen()
    const disk = await this.fs.available(this.dir)
    const quotaLeft =
      this.capacity === null ? Number.POSITIVE_INFINITY : this.capacity - this.storedBytes - this.reserved
    return {
      chunks: this.index.size,
      bytes: this.bytes,
      storedBytes: this.storedBytes,
      capacityBytes: this.capacity,
      freeBytes: Math.max(0, Math.min(quotaLeft, disk)),
      quarantined: this.quarantined,
      pinned: this.pins.size,
      cacheBytes: this.cache.bytes,
    }
  }

  /** Stored chunks with from <= key < to (keyspace keys, core's keyForCid), in key order. */
  async *keys(range: { from?: Uint8Array; to?: Uint8Array } = {}): AsyncGenerator<KeyEntry> {
    this.assertOpen()
    for (const e of this.index.range(range.from, range.to)) yield { key: e.key, cid: e.cid, size: e.size }
  }

  /**
   * Count and XOR of the keys under a prefix (the first prefixBits bits of `prefix`). O(1) up to
   * SUMMARY_BITS bits (kept current on every write), a scan of just that range beyond.
   */
  rangeSummary(prefix: Uint8Array, prefixBits: number): PrefixSummary {
    this.assertOpen()
    checkPrefixBits(prefixBits)
    if (prefixBits <= SUMMARY_BITS) return this.summaries.get(prefix, prefixBits)
    const from = maskPrefix(prefix, prefixBits)
    const xor = new Uint8Array(32)
    let count = 0
    for (const e of this.index.range(from, prefixEnd(prefix, prefixBits))) {
      count++
      for (let i = 0; i < 32; i++) xor[i]! ^= e.key[i]!
    }
    return { prefix: from, prefixBits, count, xor }
  }

  /** The keys under a prefix (keyspace keys), ascending, at most `limit`. Synchronous: the index is in memory. */
  keysUnder(prefix: Uint8Array, prefixBits: number, limit: number): Key[] {
    this.assertOpen()
    checkPrefixBits(prefixBits)
    const out: Key[] = []
    if (limit <= 0) return out
    for (const e of this.index.range(maskPrefix(prefix, prefixBits), prefixEnd(prefix, prefixBits))) {
      out.push(e.key)
      if (out.length >= limit) break
    }
    return out
  }

  /** The summaries of all 2^prefixBits prefixes of that length, in key order (prefixBits <= 12). */
  summariesAt(prefixBits: number): PrefixSummary[] {
    this.assertOpen()
    if (prefixBits > SUMMARY_BITS) throw new RangeError(`prefixBits ${prefixBits} > ${SUMMARY_BITS}`)
    const out: PrefixSummary[] = []
    for (let i = 0; i < 1 << prefixBits; i++) {
      const top = prefixBits === 0 ? 0 : i << (16 - prefixBits)
      const prefix = new Uint8Array(32)
      prefix[0] = top >>> 8
      prefix[1] = top & 0xff
      out.push(this.summaries.get(prefix, prefixBits))
    }
    return out
  }

  /** Reads and verifies every chunk (bypassing the cache); quarantines the corrupt ones. */
  async verify(opts: { concurrency?: number } = {}): Promise<VerifyReport> {
    this.assertOpen()
    const t0 = this.clock.now()
    const report: VerifyReport = { checked: 0, corrupt: [], missing: [], durationMs: 0 }
    const entries = [...this.index.range()]
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const e = entries[next++]!
        if (this.index.get(e.keyHex) !== e) continue
        report.checked++
        try {
          await this.readVerified(e)
        } catch (err) {
          if (err instanceof ChunkCorruptError) report.corrupt.push(e.cid.toString())
          else if (err instanceof ChunkNotFoundError) {
            // A concurrent delete also ends here; only a file that vanished from outside is "missing".
            if (await this.locks.run(e.keyHex, async () => this.dropEntry(e)))
              report.missing.push(e.cid.toString())
          } else throw err
        }
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker))
    report.durationMs = this.clock.now() - t0
    return report
  }

  /**
   * A CAR (v1) stream of the given files (each root's manifest tree and chunks) or, without roots,
   * of every chunk in the store in key order.
   */
  exportCar(opts: ExportCarOptions = {}): AsyncIterable<Uint8Array> {
    this.assertOpen()
    return exportCar(this, opts)
  }

  /**
   * Imports a CAR stream, verifying every block against its CID. All or nothing: on bad input or a
   * full store, the chunks this import added are removed again and the error is thrown.
   */
  importCar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<ImportCarResult> {
    this.assertOpen()
    return importCar(this, source, this.maxChunkBytes)
  }

  /** Waits for operations in flight, then refuses new ones. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.allSettled([...this.pending])
    this.cache.clear()
    await this.fs.close?.()
  }
}

/** Runs fn over items with a bounded number in flight (the open scan touches 256 directories). */
async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>, limit = 16): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}
