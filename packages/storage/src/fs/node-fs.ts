/** StoreFs over node:fs: the real disk. */

import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, readFile, rename, stat, statfs, unlink } from 'node:fs/promises'
import type { StoreFs } from './store-fs.js'

export class NodeFs implements StoreFs {
  /** Directory handles kept open for fsync: saves an open and a close per put (257 at most). */
  private readonly dirs = new Map<string, Promise<FileHandle>>()

  async mkdir(path: string): Promise<void> {
    await mkdir(path, { recursive: true })
  }

  readdir(path: string): Promise<string[]> {
    return readdir(path)
  }

  async writeFile(path: string, data: Uint8Array, opts: { sync: boolean }): Promise<void> {
    const fh = await open(path, 'w', 0o644)
    try {
      await fh.writeFile(data)
      // fsync, not fdatasync: the file is new, its size and allocation are metadata we need back.
      if (opts.sync) await fh.sync()
    } finally {
      await fh.close()
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    const b = await readFile(path)
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
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
