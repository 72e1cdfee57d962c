/** StoreFs over node:fs: the real disk. */
import { mkdir, open, readdir, readFile, rename, stat, statfs, unlink } from 'node:fs/promises'
import type { StoreFs } from './store-fs.js'

export class NodeFs implements StoreFs {
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
    const fh = await open(path, 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  }

  async available(path: string): Promise<number> {
    const s = await statfs(path)
    return s.bavail * s.bsize
  }
}
