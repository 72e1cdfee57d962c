/**
 * A simulated file system with POSIX durability rules, for power-loss tests. Every file has
 * volatile data and durable data (made equal by an fsync of the file); every directory has volatile
 * entries and durable entries (made equal by an fsync of the directory). A power cut keeps only the
 * durable state: in 'discard' mode exactly that; in 'torn' mode each not-yet-durable change may
 * also have reached the disk, partly (a random prefix of unsynced file data; any subset of unsynced
 * directory entries), as real disks and file systems allow.
 *
 * The cut is scheduled by counting operation steps (`cutAfter(n)`), so a seed replays it. Operations
 * in progress at the cut, and any later calls from the old store instance, fail with EIO.
 */
import { posix } from 'node:path'
import { SeededRandom } from '@swarmstore/core'
import type { StoreFs } from '../../src/fs/store-fs.js'

class FileNode {
  readonly kind = 'file'
  data = new Uint8Array(0)
  durable = new Uint8Array(0)
}

class DirNode {
  readonly kind = 'dir'
  entries = new Map<string, FileNode | DirNode>()
  durable = new Map<string, FileNode | DirNode>()
}

function fsError(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code })
}

/** The simulated disk: survives power cuts; mount() gives the file system of one boot. */
export class SimDisk {
  root = new DirNode()
  readonly rng: SeededRandom
  epoch = 0
  stepsLeft = Number.POSITIVE_INFINITY
  cuts = 0

  constructor(
    seed: number,
    readonly mode: 'discard' | 'torn' = 'discard',
  ) {
    this.rng = new SeededRandom(seed)
  }

  /** The file system of the current boot. Handles of earlier boots fail every call with EIO. */
  mount(): PowerLossFs {
    return new PowerLossFs(this, this.epoch)
  }

  /** The power fails after n more operation steps. */
  cutAfter(n: number): void {
    this.stepsLeft = n
  }

  powerCut(): void {
    this.epoch++
    this.cuts++
    this.stepsLeft = Number.POSITIVE_INFINITY
    const seen = new Set<object>()
    const visit = (dir: DirNode): void => {
      if (seen.has(dir)) return
      seen.add(dir)
      const next = new Map(dir.durable)
      if (this.mode === 'torn') {
        for (const [name, node] of dir.entries)
          if (next.get(name) !== node && this.rng.next() < 0.5) next.set(name, node)
        for (const name of dir.durable.keys())
          if (!dir.entries.has(name) && this.rng.next() < 0.5) next.delete(name)
      }
      dir.entries = next
      dir.durable = new Map(next)
      for (const node of next.values()) {
        if (node.kind === 'dir') visit(node)
        else if (!seen.has(node)) {
          seen.add(node)
          if (this.mode === 'torn' && !sameBytes(node.data, node.durable) && this.rng.next() < 0.5) {
            node.data = node.data.slice(0, this.rng.int(node.data.length + 1))
          } else node.data = node.durable
          node.durable = node.data
        }
      }
    }
    visit(this.root)
  }
}

export class PowerLossFs implements StoreFs {
  constructor(
    private readonly disk: SimDisk,
    private readonly boot: number,
  ) {}

  private get root(): DirNode {
    return this.disk.root
  }

  /** One step of an operation: yields to other operations, and is where the power may fail. */
  private async step(path: string): Promise<void> {
    await new Promise<void>((r) => setImmediate(r))
    if (this.boot !== this.disk.epoch) throw fsError('EIO', path)
    if (--this.disk.stepsLeft <= 0) {
      this.disk.powerCut()
      throw fsError('EIO', path)
    }
  }

  private lookup(path: string): FileNode | DirNode | undefined {
    let node: FileNode | DirNode = this.root
    for (const part of posix.normalize(path).split('/').filter(Boolean)) {
      if (node.kind !== 'dir') return undefined
      const child: FileNode | DirNode | undefined = node.entries.get(part)
      if (child === undefined) return undefined
      node = child
    }
    return node
  }

  private parentOf(path: string): { dir: DirNode; name: string } {
    const parent = this.lookup(posix.dirname(path))
    if (parent === undefined || parent.kind !== 'dir') throw fsError('ENOENT', path)
    return { dir: parent, name: posix.basename(path) }
  }

  async mkdir(path: string): Promise<void> {
    let node = this.root
    for (const part of posix.normalize(path).split('/').filter(Boolean)) {
      let child = node.entries.get(part)
      if (child === undefined) {
        await this.step(path)
        child = new DirNode()
        node.entries.set(part, child)
      }
      if (child.kind !== 'dir') throw fsError('ENOTDIR', path)
      node = child
    }
  }

  async readdir(path: string): Promise<string[]> {
    await this.step(path)
    const d = this.lookup(path)
    if (d === undefined) throw fsError('ENOENT', path)
    if (d.kind !== 'dir') throw fsError('ENOTDIR', path)
    return [...d.entries.keys()]
  }

  async writeFile(path: string, data: Uint8Array, opts: { sync: boolean }): Promise<void> {
    await this.step(path)
    const { dir, name } = this.parentOf(path)
    let f = dir.entries.get(name)
    if (f === undefined) {
      f = new FileNode()
      dir.entries.set(name, f)
    }
    if (f.kind !== 'file') throw fsError('EISDIR', path)
    f.data = new Uint8Array(0)
    // Written in two halves with a step between: a cut can see a half-written file.
    const half = data.length >> 1
    await this.step(path)
    f.data = data.slice(0, half)
    await this.step(path)
    f.data = data.slice()
    if (opts.sync) {
      await this.step(path)
      f.durable = f.data
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    await this.step(path)
    const f = this.lookup(path)
    if (f === undefined) throw fsError('ENOENT', path)
    if (f.kind !== 'file') throw fsError('EISDIR', path)
    return f.data.slice()
  }

  async size(path: string): Promise<number> {
    await this.step(path)
    const f = this.lookup(path)
    if (f === undefined) throw fsError('ENOENT', path)
    if (f.kind !== 'file') throw fsError('EISDIR', path)
    return f.data.length
  }

  async rename(from: string, to: string): Promise<void> {
    await this.step(from)
    const a = this.parentOf(from)
    const b = this.parentOf(to)
    const node = a.dir.entries.get(a.name)
    if (node === undefined) throw fsError('ENOENT', from)
    a.dir.entries.delete(a.name)
    b.dir.entries.set(b.name, node)
  }

  async unlink(path: string): Promise<void> {
    await this.step(path)
    const { dir, name } = this.parentOf(path)
    if (!dir.entries.has(name)) throw fsError('ENOENT', path)
    dir.entries.delete(name)
  }

  async fsyncDir(path: string): Promise<void> {
    await this.step(path)
    const d = this.lookup(path)
    if (d === undefined || d.kind !== 'dir') throw fsError('ENOENT', path)
    d.durable = new Map(d.entries)
  }

  async available(): Promise<number> {
    return 1 << 40
  }

  /** Names under a directory (for assertions), without advancing the clock of steps. */
  list(path: string): string[] {
    const d = this.lookup(path)
    return d?.kind === 'dir' ? [...d.entries.keys()] : []
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
