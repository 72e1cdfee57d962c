import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SeededRandom } from '@swarmstore/core'
import type { CID } from 'multiformats/cid'

/** A fresh temp dir, removed by the returned cleanup. */
export async function tempDir(prefix = 'storage-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

export function randomBytes(seed: number, n: number): Uint8Array {
  return new SeededRandom(seed).bytes(n)
}

/** Yields bytes in pieces of varying sizes (so chunk boundaries fall inside pieces). */
export function* pieces(bytes: Uint8Array, seed: number, maxPiece = 70_000): Generator<Uint8Array> {
  const rng = new SeededRandom(seed)
  let off = 0
  while (off < bytes.length) {
    const n = 1 + rng.int(maxPiece)
    yield bytes.subarray(off, off + n)
    off += n
  }
}

export async function concat(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const p of src) {
    parts.push(p)
    n += p.length
  }
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** A plain in-memory block map (the swarm side of buildFile/readFile). */
export class MemoryBlocks {
  readonly blocks = new Map<string, Uint8Array>()
  gets = 0
  put = async (cid: CID, bytes: Uint8Array): Promise<void> => {
    this.blocks.set(cid.toString(), bytes.slice())
  }
  get = async (cid: CID): Promise<Uint8Array> => {
    this.gets++
    const b = this.blocks.get(cid.toString())
    if (b === undefined) throw new Error(`no block ${cid}`)
    return b
  }
}

export async function expectReject(p: Promise<unknown>, code: string): Promise<Error> {
  try {
    await p
  } catch (err) {
    if ((err as { code?: string }).code !== code) {
      throw new Error(`expected ${code}, got ${(err as { code?: string }).code}: ${(err as Error).message}`)
    }
    return err as Error
  }
  throw new Error(`expected rejection with ${code}, but it resolved`)
}
