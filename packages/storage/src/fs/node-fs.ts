/** StoreFs over node:fs: the real disk. */

import { constants as fsConstants } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, readFile, rename, stat, statfs, unlink } from 'node:fs/promises'
import { alignedBuffer, alignUp, writeAligned } from './direct-io.js'
import type { StoreFs } from './store-fs.js'

/** Bytes per O_DIRECT read or write: each staging buffer (a default chunk fits in one). */
const STAGE_BYTES = 1 << 20
/** Staging buffers kept for reuse: the chunk store's 2 durable writes and a few reads at once. */
const MAX_FREE_STAGES = 8
const O_DIRECT_CREATE =
  fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_DIRECT
const O_DIRECT_READ = fsConstants.O_RDONLY | fsConstants.O_DIRECT

export interface NodeFsOptions {
  /**
   * Read and write files past the page cache (O_DIRECT) where the file system allows it (default
   * true; refused, e.g. EINVAL on open, it falls back to buffered I/O for good). Why: a chunk is
   * written once and read rarely, and buffered I/O first has to find page-cache pages for it,
   * which on a VM that lazily backs guest memory (this one) costs more than the copy: in
   * bench:swarm's 256 MiB put, 16% of all CPU (five daemons on two cores) was the kernel copying
   * into new page-cache pages, and a get read from disk through the cache cost its holders
   * 1.11–1.53 CPU-s against 0.91–1.03 with O_DIRECT (2 interleaved pairs). Durability is the same (files are fsynced); what is lost is the
   * kernel's cache of chunks read again (the store keeps its own byte cache of verified reads).
   */
  direct?: boolean
}

export class NodeFs implements StoreFs {
  /** Directory handles kept open for fsync: saves an open and a close per put (257 at most). */
  private readonly dirs = new Map<string, Promise<FileHandle>>()
  /** O_DIRECT: undefined until the first open shows whether this file system takes it. */
  private direct: boolean | undefined
  /** aligned staging buffers not in use */
  private readonly stages: Buffer[] = []

  constructor(opts: NodeFsOptions = {}) {
    if (opts.direct === false) this.direct = false
  }

  async mkdir(path: string): Promise<void> {
    await mkdir(path, { recursive: true })
  }

  readdir(path: string): Promise<string[]> {
    return readdir(path)
  }

  async writeFile(path: string, data: Uint8Array, opts: { sync: boolean }): Promise<void> {
    const fh = await this.openDirect(path, O_DIRECT_CREATE)
    if (fh !== undefined && (await this.writeDirect(fh, data))) {
      try {
        // fsync, not fdatasync: the file is new, its size and allocation are metadata we need back.
        if (opts.sync) await fh.sync()
      } finally {
        await fh.close()
      }
      return
    }
    await fh?.close()
    await this.writeBuffered(path, data, opts)
  }

  private async writeBuffered(path: string, data: Uint8Array, opts: { sync: boolean }): Promise<void> {
    const fh = await open(path, 'w', 0o644)
    try {
      await fh.writeFile(data)
      if (opts.sync) await fh.sync()
    } finally {
      await fh.close()
    }
  }

  /** The file opened with O_DIRECT; undefined when O_DIRECT is off or the file system refuses it. */
  private async openDirect(path: string, flags: number): Promise<FileHandle | undefined> {
    if (this.direct === false) return undefined
    try {
      return await open(path, flags, 0o644)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
      this.direct = false
      return undefined
    }
  }

  /** A staging buffer, aligned by probing `fh` when none is free; undefined: no O_DIRECT after all. */
  private stage(fh: FileHandle, probe: 'read' | 'write'): Buffer | undefined {
    const b = this.stages.pop() ?? alignedBuffer(fh.fd, STAGE_BYTES, probe)
    this.direct = b !== undefined
    return b
  }

  private unstage(b: Buffer | undefined): void {
    if (b !== undefined && this.stages.length < MAX_FREE_STAGES) this.stages.push(b)
  }

  /**
   * Writes through a staging buffer, block-aligned; the last block is padded with zeros and the
   * file then cut to its length. False (nothing of the data written) when no aligned buffer works.
   */
  private async writeDirect(fh: FileHandle, data: Uint8Array): Promise<boolean> {
    const stage = this.stage(fh, 'write')
    if (stage === undefined) return false
    try {
      for (let o = 0; o < data.byteLength; o += STAGE_BYTES) {
        const n = Math.min(STAGE_BYTES, data.byteLength - o)
        stage.set(data.subarray(o, o + n))
        const padded = alignUp(n)
        stage.fill(0, n, padded)
        await writeAligned(fh, stage, padded, o)
      }
      // the padding, and the alignment probe's block when the data is shorter, cut off
      await fh.truncate(data.byteLength)
      return true
    } finally {
      this.unstage(stage)
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    const fh = await this.openDirect(path, O_DIRECT_READ)
    if (fh !== undefined) {
      try {
        const r = await this.readDirect(fh)
        if (r !== undefined) return r
      } finally {
        await fh.close()
      }
    }
    const b = await readFile(path)
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
  }

  /** The whole file, read block-aligned into a staging buffer and copied out; undefined as writeDirect. */
  private async readDirect(fh: FileHandle): Promise<Uint8Array | undefined> {
    const size = (await fh.stat()).size
    // An empty file reads as 0 bytes at any alignment: nothing to read, and nothing to probe with.
    if (size === 0) return new Uint8Array(0)
    const stage = this.stage(fh, 'read')
    if (stage === undefined) return undefined
    try {
      const out = Buffer.allocUnsafe(size)
      let got = 0
      while (got < size) {
        // whole blocks from an aligned offset; the file's last block comes back short
        const want = Math.min(STAGE_BYTES, alignUp(size - got))
        const r = await fh.read(stage, 0, want, got)
        const n = Math.min(r.bytesRead, size - got)
        if (n <= 0) break
        out.set(stage.subarray(0, n), got)
        got += n
        if (n < want) break
      }
      // short of the size it had (cut meanwhile, or a partial read): the buffered read says what is there
      if (got !== size) return undefined
      return new Uint8Array(out.buffer, out.byteOffset, size)
    } finally {
      this.unstage(stage)
    }
  }

  async size(path: string): Promise<number> {
    return (await stat(path)).size
  }

  rename(from: string, to: string): Promise<void> {
    return rename(from, to)
  }

  unlink(path: string): Promise<void> {
    return unlink(path)
  }

  async fsyncDir(path: string): Promise<void> {
    let h = this.dirs.get(path)
    if (h === undefined) {
      h = open(path, 'r')
      this.dirs.set(path, h)
      h.catch(() => this.dirs.delete(path))
    }
    await (await h).sync()
  }

  async close(): Promise<void> {
    const handles = [...this.dirs.values()]
    this.dirs.clear()
    await Promise.allSettled(handles.map(async (h) => (await h).close()))
  }

  async available(path: string): Promise<number> {
    const s = await statfs(path)
    return s.bavail * s.bsize
  }
}
