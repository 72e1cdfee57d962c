/**
 * Backup as CAR v1 (@ipld/car): export a file's blocks (or the whole store) and import them back,
 * verified. Import is all or nothing: the chunks an import added are removed again when it fails.
 */
import { CarBlockIterator, CarWriter } from '@ipld/car'
import type { CID } from 'multiformats/cid'
import { assertChunkCid } from './cid.js'
import { BadCarError } from './errors.js'
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
): Promise<ImportCarResult> {
  const added: CID[] = []
  let blocks = 0
  let roots: CID[] = []
  try {
    let it: CarBlockIterator
    try {
      it = await CarBlockIterator.fromIterable(toAsync(source))
      roots = await it.getRoots()
      for (const r of roots) assertChunkCid(r)
    } catch (err) {
      throw new BadCarError('unreadable header', { cause: err })
    }
    const iter = it[Symbol.asyncIterator]()
    for (;;) {
      let next: IteratorResult<{ cid: CID; bytes: Uint8Array }>
      try {
        next = await iter.next()
      } catch (err) {
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

async function* toAsync(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  for await (const b of source) yield b
}
