/**
 * Backup as CAR v1 (@ipld/car): export a file's blocks (or the whole store) and import them back,
 * verified. Import is all or nothing: the chunks an import added are removed again when it fails.
 */
import { CarBlockIterator, CarWriter } from '@ipld/car'
import type { CID } from 'multiformats/cid'
import { assertChunkCid } from './cid.js'
import { BadCarError } from './errors.js'
import { MAX_CHUNK_SIZE } from './manifest.js'
import { fileBlocks, type GetBlock } from './read-file.js'

export interface ExportCarOptions {
  /** Files to export (root manifest CIDs). Default: every chunk in the store, with no roots. */
  roots?: CID[]
}

export interface ImportCarResult {
  roots: CID[]
  /** Blocks read from the CAR. */
  blocks: number
  /** Blocks that were not in the store before. */
  added: number
}

/** The part of a ChunkStore that backup needs. */
export interface CarStore {
  get: GetBlock
  has(cid: CID): boolean
  put(cid: CID, bytes: Uint8Array): Promise<void>
  delete(cid: CID, opts: { force: boolean }): Promise<boolean>
  keys(): AsyncIterable<{ cid: CID }>
}

export async function* exportCar(store: CarStore, opts: ExportCarOptions): AsyncGenerator<Uint8Array> {
  const roots = opts.roots ?? []
  const { writer, out } = CarWriter.create(roots)
  const produce = (async () => {
    try {
      if (roots.length === 0) {
        for await (const { cid } of store.keys()) await writer.put({ cid, bytes: await store.get(cid) })
      } else {
        const seen = new Set<string>()
        for (const root of roots) {
          for await (const cid of fileBlocks(root, (c) => store.get(c))) {
            const s = cid.toString()
            if (seen.has(s)) continue
            seen.add(s)
            await writer.put({ cid, bytes: await store.get(cid) })
          }
        }
      }
    } finally {
      await writer.close()
    }
  })()
  let failed: unknown
  produce.catch((err) => {
    failed = err
  })
  // writer.put resolves only when `out` has consumed the bytes: the export streams in constant memory.
  for await (const bytes of out) yield bytes
  await produce.catch(() => {})
  if (failed !== undefined) throw failed
}

export async function importCar(
  store: CarStore,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxBlockBytes = MAX_CHUNK_SIZE,
): Promise<ImportCarResult> {
  // A section holds a CID (at most a few dozen bytes for the CIDs we accept) and the block.
  const maxFrameBytes = maxBlockBytes + 128
  const added: CID[] = []
  let blocks = 0
  let roots: CID[] = []
  try {
    let it: CarBlockIterator
    try {
      it = await CarBlockIterator.fromIterable(boundFrames(source, maxFrameBytes))
      roots = await it.getRoots()
      for (const r of roots) assertChunkCid(r)
    } catch (err) {
      if (err instanceof BadCarError) throw err
      throw new BadCarError('unreadable header', { cause: err })
    }
    const iter = it[Symbol.asyncIterator]()
    for (;;) {
      let next: IteratorResult<{ cid: CID; bytes: Uint8Array }>
      try {
        next = await iter.next()
      } catch (err) {
        if (err instanceof BadCarError) throw err
        throw new BadCarError(`unreadable block after ${blocks} blocks`, { cause: err })
      }
      if (next.done === true) break
      const { cid, bytes } = next.value
      blocks++
      const existed = safeHas(store, cid)
      try {
        await store.put(cid, bytes)
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'HASH_MISMATCH' || code === 'BAD_CID' || code === 'CHUNK_TOO_LARGE') {
          throw new BadCarError(`block ${blocks} (${cid}) rejected: ${(err as Error).message}`, {
            cause: err,
          })
        }
        throw err
      }
      if (!existed) added.push(cid)
    }
    return { roots, blocks, added: added.length }
  } catch (err) {
    for (const cid of added) await store.delete(cid, { force: true }).catch(() => {})
    throw err
  }
}

function safeHas(store: CarStore, cid: CID): boolean {
  try {
    return store.has(cid)
  } catch {
    return false
  }
}

/**
 * Passes CAR v1 bytes through while checking every varint-framed section length (header and
 * blocks) against a bound, before the CAR reader buffers that many bytes: a hostile length cannot
 * make the import allocate more than one chunk's worth.
 */
async function* boundFrames(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxFrameBytes: number,
): AsyncGenerator<Uint8Array> {
  let need = 0 // bytes left in the current section
  let len = 0
  let shift = 0
  for await (const piece of source) {
    let i = 0
    while (i < piece.length) {
      if (need > 0) {
        const n = Math.min(need, piece.length - i)
        need -= n
        i += n
        continue
      }
      const byte = piece[i++]!
      len += (byte & 0x7f) * 2 ** shift
      shift += 7
      if ((byte & 0x80) === 0) {
        if (len > maxFrameBytes) throw new BadCarError(`a section of ${len} bytes exceeds ${maxFrameBytes}`)
        need = len
        len = 0
        shift = 0
      } else if (shift > 49) throw new BadCarError('a section length varint is too long')
    }
    yield piece
  }
}
