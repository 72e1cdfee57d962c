/**
 * Turns a byte stream into chunks plus a manifest tree, handing every block to `putBlock` (the
 * local store, or the swarm). Streaming: at most `concurrency` chunks in flight plus one being
 * filled, and one open manifest per tree level.
 */
import type { CID } from 'multiformats/cid'
import { chunkFile } from './chunker.js'
import { rawCid } from './cid.js'
import {
  assertChunkSize,
  DEFAULT_CHUNK_SIZE,
  fanoutFor,
  MANIFEST_VERSION,
  type ManifestLink,
  manifestBlock,
} from './manifest.js'

export type PutBlock = (cid: CID, bytes: Uint8Array) => Promise<void>

export interface BuildFileOptions {
  /** Bytes per chunk (default 1 MiB). Part of the file's identity: it is recorded in the manifest. */
  chunkSize?: number
  /** Data chunks hashed and put in parallel (default 8). */
  concurrency?: number
  /** Called after each data chunk is put, with the running byte count (for progress bars). */
  onProgress?: (bytesDone: number) => void
}

export interface BuiltFile {
  /** The root manifest's CID: the file's CID. */
  cid: CID
  /** File size in bytes. */
  size: number
  /** Number of data chunks. */
  chunks: number
  /** Number of manifest blocks. */
  manifests: number
}

export async function buildFile(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  putBlock: PutBlock,
  opts: BuildFileOptions = {},
): Promise<BuiltFile> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE
  assertChunkSize(chunkSize)
  const concurrency = Math.max(1, opts.concurrency ?? 8)
  const tree = new TreeBuilder(chunkSize, putBlock)
  // Puts complete in any order and a new one starts as soon as any finishes (not the oldest): one
  // slow fsync must not stall the pipeline. Links are fed to the tree in file order; a finished
  // put keeps only its link (CID and size), so memory stays at `concurrency` chunks.
  const done = new Map<number, ManifestLink>()
  const running = new Set<Promise<void>>()
  let failure: { err: unknown } | undefined
  let chunks = 0
  let linked = 0
  let bytesDone = 0
  const drain = async (): Promise<void> => {
    for (let link = done.get(linked); link !== undefined; link = done.get(linked)) {
      done.delete(linked++)
      bytesDone += link.size
      opts.onProgress?.(bytesDone)
      await tree.add(link)
    }
  }
  for await (const chunk of chunkFile(source, { chunkSize })) {
    const seq = chunks++
    const task: Promise<void> = (async () => {
      const cid = await rawCid(chunk)
      await putBlock(cid, chunk)
      done.set(seq, { cid, size: chunk.length })
    })().then(
      () => {
        running.delete(task)
      },
      (err: unknown) => {
        running.delete(task)
        failure ??= { err }
      },
    )
    running.add(task)
    while (running.size >= concurrency && failure === undefined) await Promise.race(running)
    if (failure !== undefined) break
    await drain()
  }
  // Let every put in flight finish (or fail) before reporting, so nothing runs on after us.
  await Promise.all(running)
  if (failure !== undefined) throw failure.err
  await drain()
  const root = await tree.finish()
  return { cid: root.cid, size: root.size, chunks, manifests: tree.manifests }
}

/** Builds the packed manifest tree level by level as links arrive in file order. */
class TreeBuilder {
  private readonly levels: ManifestLink[][] = [[]]
  private readonly fanout: number
  manifests = 0

  constructor(
    private readonly chunkSize: number,
    private readonly putBlock: PutBlock,
  ) {
    this.fanout = fanoutFor(chunkSize)
  }

  async add(link: ManifestLink, level = 0): Promise<void> {
    if (this.levels[level] === undefined) this.levels[level] = []
    const list = this.levels[level]!
    list.push(link)
    if (list.length === this.fanout) {
      this.levels[level] = []
      await this.add(await this.flush(list, level), level + 1)
    }
  }

  async finish(): Promise<ManifestLink> {
    for (let level = 0; ; level++) {
      const list = this.levels[level]!
      if (level === this.levels.length - 1) {
        // The top level: a single manifest above the leaves is the root; otherwise one more
        // manifest closes the tree (at level 0 this includes the empty file).
        if (level > 0 && list.length === 1) return list[0]!
        return this.flush(list, level)
      }
      if (list.length > 0) {
        this.levels[level] = []
        await this.add(await this.flush(list, level), level + 1)
      }
    }
  }

  private async flush(links: ManifestLink[], depth: number): Promise<ManifestLink> {
    const size = links.reduce((s, l) => s + l.size, 0)
    const { cid, bytes } = await manifestBlock({
      version: MANIFEST_VERSION,
      chunkSize: this.chunkSize,
      depth,
      size,
      links,
    })
    await this.putBlock(cid, bytes)
    this.manifests++
    return { cid, size }
  }
}
