/**
 * A durable append-only log of opaque records in one file: the KV acceptor's write-ahead file.
 *
 * File layout: 8 magic bytes `SWKVLOG1`, then frames `u32 LE length ‖ u32 LE crc ‖ payload`. The
 * crc is CRC-32 (`zlib.crc32`) over the 4 length bytes and then the payload, not over the payload
 * alone: after a crash some file systems show a file longer than its written data, the gap as zeros; a
 * zeroed frame (length 0, crc32('') = 0) would otherwise replay as a phantom empty record.
 *
 * Guarantees:
 * - `append` resolves only after its frames are written and fdatasync'd, so a record it acknowledged
 *   survives a process kill and a power loss (given a disk that honours flushes).
 * - Appends (and compactions) run one at a time in call order; replay returns a prefix of that order.
 * - A torn tail (an append that never resolved) is cut off at open; new appends go after the last
 *   intact record, where the next replay will find them.
 *
 * Not guaranteed / not done:
 * - No directory fsync per append: the file's directory entry is made durable once, when open
 *   creates the file or compact renames a new one in; appends only change the file's data and size.
 * - One writer: nothing stops two processes (or two RecordLogs) appending to the same path.
 * - Records are at most `maxRecordBytes`; open reads the whole file into memory (so under 2 GiB —
 *   compact well before), and returns copies of the records.
 * - A corrupt record in the middle (bit rot, a misdirected write) is indistinguishable from a torn
 *   tail: it is cut off with every record after it, although those were acknowledged. `repaired`
 *   says that bytes were dropped; a caller for whom lost acknowledged state matters (an acceptor's
 *   promises) must treat repaired > 0 as possible amnesia, not only as a clean crash.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { crc32 } from 'node:zlib'
import {
  RecordLogClosedError,
  RecordLogFailedError,
  RecordLogForeignError,
  RecordTooLargeError,
} from './errors.js'

/** The file's first 8 bytes; anything else at the path is refused, never repaired. */
export const RECORD_LOG_MAGIC: Uint8Array = new TextEncoder().encode('SWKVLOG1')
/**
 * Far above a KV record (values are at most 1 MiB); the bound only stops a corrupt length from
 * allocating gigabytes or swallowing the records after it.
 */
export const DEFAULT_MAX_RECORD_BYTES = 72 * 1024 * 1024
const FRAME_HEAD = 8

export interface RecordLogInit {
  /** The log file; its directory must exist. A `<path>.tmp` beside it is used by open and compact. */
  path: string
  /**
   * Largest record accepted (default 72 MiB). On replay a longer length is corruption and the log
   * is cut there, so reopen with the same or a larger value than the log was written with: lowering
   * it would truncate records that were acknowledged.
   */
  maxRecordBytes?: number
}

export class RecordLog {
  private fh: FileHandle
  private end: number
  /** The tail of the operation queue; never rejects (each operation's caller sees its own error). */
  private queue: Promise<void> = Promise.resolve()
  private closing: Promise<void> | undefined
  /** Set when a write, fsync or rename may have half-happened; from then on every call rejects. */
  private failure: { cause: unknown } | undefined

  private constructor(
    private readonly path: string,
    private readonly maxRecordBytes: number,
    fh: FileHandle,
    end: number,
  ) {
    this.fh = fh
    this.end = end
  }

  /**
   * Opens (creating if absent) and replays the file. A torn or corrupt tail is cut off and fsynced
   * before returning: left in place, it would sit between the last good record and the next append,
   * and the next replay would stop at it and lose everything appended after this open.
   */
  static async open(
    init: RecordLogInit,
  ): Promise<{ log: RecordLog; records: Uint8Array[]; repaired: number }> {
    const max = init.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES
    if (!Number.isInteger(max) || max < 0 || max > 0xffff_ffff) {
      throw new RangeError(`maxRecordBytes must be an integer in [0, 2^32), got ${max}`)
    }
    await rm(tempPath(init.path), { force: true }) // debris of a create or compact cut short by a crash
    const fh = await openOrCreate(init.path)
    try {
      const buf = await fh.readFile()
      const { records, end } = replay(
        new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
        max,
        init.path,
      )
      if (end < buf.byteLength) {
        await fh.truncate(end)
        await fh.sync()
      }
      return { log: new RecordLog(init.path, max, fh, end), records, repaired: buf.byteLength - end }
    } catch (err) {
      await fh.close()
      throw err
    }
  }

  /**
   * Appends `records` with one write and one fdatasync, resolving when they are durable. One sync
   * per call, not per record, is the point: the fsync dominates the cost, so a caller doing group
   * commit passes a whole batch and pays once. fdatasync, not fsync: only the data and the file size
   * must reach the disk, not timestamps.
   */
  async append(records: readonly Uint8Array[]): Promise<void> {
    if (this.closing !== undefined) throw new RecordLogClosedError()
    const frames = encodeFrames(records, this.maxRecordBytes)
    return this.enqueue(() => this.write(frames))
  }

  /**
   * Atomically replaces the file's contents with exactly `live` (temp file, fdatasync, rename over,
   * fsync the directory) and continues appending to the new file. Runs after the appends already
   * queued; appends issued meanwhile go after it. If it fails before the rename, the old file is
   * untouched and the log stays usable; after the rename, it is failed like a bad append.
   */
  async compact(live: readonly Uint8Array[]): Promise<void> {
    if (this.closing !== undefined) throw new RecordLogClosedError()
    const bytes = encodeFrames(live, this.maxRecordBytes, RECORD_LOG_MAGIC)
    return this.enqueue(() => this.replace(bytes))
  }

  /** Bytes in the file now, header included (durable ones: an append in flight is not counted yet). */
  get size(): number {
    return this.end
  }

  /** Waits for queued appends and compactions, then closes the file. Later calls reject. */
  close(): Promise<void> {
    this.closing ??= this.queue.then(() => this.fh.close())
    return this.closing
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      if (this.failure !== undefined) throw new RecordLogFailedError(this.failure)
      return op()
    })
    this.queue = run.catch(() => {})
    return run
  }

  /**
   * After a failed write or fsync the log is failed for good rather than retried: the kernel may
   * already have dropped the dirty pages and marked them clean, so a second fsync can succeed while
   * the data is gone (PostgreSQL's "fsyncgate", 2018). Only rereading the file after a reopen is safe.
   */
  private async write(frames: Uint8Array): Promise<void> {
    if (frames.length === 0) return
    try {
      await writeAll(this.fh, frames, this.end)
      await this.fh.datasync()
    } catch (err) {
      this.failure = { cause: err }
      throw err
    }
    this.end += frames.length
  }

  private async replace(bytes: Uint8Array): Promise<void> {
    const tmp = tempPath(this.path)
    await writeTemp(tmp, bytes)
    try {
      await installFile(tmp, this.path)
      const fh = await open(this.path, 'r+')
      const old = this.fh
      this.fh = fh
      this.end = bytes.length
      // The old inode is unlinked and was fully synced: an error closing it loses nothing.
      await old.close().catch(() => {})
    } catch (err) {
      this.failure = { cause: err }
      throw err
    }
  }
}

function tempPath(path: string): string {
  return `${path}.tmp`
}

/**
 * Opens the log read-write. An absent file is created with just the header, atomically (temp file
 * and rename): a crash cannot leave a torn header that the next open would refuse as foreign.
 */
async function openOrCreate(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await writeTemp(tempPath(path), RECORD_LOG_MAGIC)
  await installFile(tempPath(path), path)
  return open(path, 'r+')
}

/** Writes and fdatasyncs a fresh file; on failure removes it (nothing else has seen it). */
async function writeTemp(tmp: string, bytes: Uint8Array): Promise<void> {
  try {
    const fh = await open(tmp, 'w')
    try {
      await writeAll(fh, bytes, 0)
      await fh.datasync()
    } finally {
      await fh.close()
    }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw err
  }
}

/** Renames `tmp` over `path` and fsyncs the directory, so the new name survives a power loss. */
async function installFile(tmp: string, path: string): Promise<void> {
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done)
    done += bytesWritten
  }
}

function frameCrc(lengthBytes: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthBytes))
}

/** `head` followed by one frame per record, in one buffer (so the append is one write). */
function encodeFrames(records: readonly Uint8Array[], max: number, head?: Uint8Array): Uint8Array {
  let total = head?.length ?? 0
  for (const r of records) {
    if (r.length > max) throw new RecordTooLargeError(r.length, max)
    total += FRAME_HEAD + r.length
  }
  const out = new Uint8Array(total)
  if (head !== undefined) out.set(head)
  const view = new DataView(out.buffer)
  let off = head?.length ?? 0
  for (const r of records) {
    view.setUint32(off, r.length, true)
    view.setUint32(off + 4, frameCrc(out.subarray(off, off + 4), r), true)
    out.set(r, off + FRAME_HEAD)
    off += FRAME_HEAD + r.length
  }
  return out
}

/** The intact records (copied out of `file`) and the offset just past the last of them. */
function replay(file: Uint8Array, max: number, path: string): { records: Uint8Array[]; end: number } {
  if (file.length < RECORD_LOG_MAGIC.length || RECORD_LOG_MAGIC.some((b, i) => file[i] !== b)) {
    throw new RecordLogForeignError(path)
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const records: Uint8Array[] = []
  let off = RECORD_LOG_MAGIC.length
  for (let len = frameAt(file, view, off, max); len >= 0; len = frameAt(file, view, off, max)) {
    records.push(file.slice(off + FRAME_HEAD, off + FRAME_HEAD + len))
    off += FRAME_HEAD + len
  }
  return { records, end: off }
}

/** The payload length of the intact frame at `off`, or -1 where the log ends (cleanly, torn or corrupt). */
function frameAt(file: Uint8Array, view: DataView, off: number, max: number): number {
  if (file.length - off < FRAME_HEAD) return -1
  const len = view.getUint32(off, true)
  if (len > max || file.length - off - FRAME_HEAD < len) return -1
  const payload = file.subarray(off + FRAME_HEAD, off + FRAME_HEAD + len)
  return frameCrc(file.subarray(off, off + 4), payload) === view.getUint32(off + 4, true) ? len : -1
}
