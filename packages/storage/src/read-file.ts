/**
 * Reads a file back from its root CID through `getBlock` (the local store, or the swarm), in order,
 * optionally only a byte range. Subtrees outside the range are never fetched. At most
 * `concurrency` data chunks are in flight, so memory stays at a few chunks whatever the file size.
 * Every block is checked against its CID and its manifest link here (unless trustBlocks says that
 * getBlock already did): the bytes may come from an untrusted peer.
 */
import type { CID } from 'multiformats/cid'
import { bytesMatchCid, DAG_CBOR_CODE, toChunkCid } from './cid.js'
import { BadManifestError, BadRangeError, HashMismatchError } from './errors.js'
import { decodeManifest, type Manifest } from './manifest.js'

export type GetBlock = (cid: CID) => Promise<Uint8Array>

export interface ReadFileOptions {
  /** First byte to return (default 0). */
  offset?: number
  /** Bytes to return (default: to the end of the file; clamped to it). */
  length?: number
  /** Data chunks fetched ahead in parallel (default 8). */
  concurrency?: number
  /**
   * getBlock already verifies every block against its CID (ChunkStore.get does): skip the second
   * SHA-256 of data chunks here. Leave false for blocks from the network. Manifests are always hashed.
   */
  trustBlocks?: boolean
}

/** Fetches and validates a manifest block. */
export async function getManifest(cid: CID, getBlock: GetBlock): Promise<Manifest> {
  if (cid.code !== DAG_CBOR_CODE) throw new BadManifestError(`${cid} is not a dag-cbor manifest CID`)
  const bytes = await getBlock(cid)
  if (!(await bytesMatchCid(cid, bytes))) throw new HashMismatchError(cid.toString())
  return decodeManifest(bytes)
}

interface Piece {
  cid: CID
  size: number
  /** Slice of the chunk to return. */
  start: number
  end: number
}

/** The data chunks overlapping [from, to), in order, fetching only manifests on that path. */
async function* piecesInRange(
  m: Manifest,
  base: number,
  from: number,
  to: number,
  getBlock: GetBlock,
): AsyncGenerator<Piece> {
  let pos = base
  for (const link of m.links) {
    const lo = pos
    const hi = pos + link.size
    pos = hi
    if (hi <= from) continue
    if (lo >= to) return
    if (m.depth === 0) {
      yield { cid: link.cid, size: link.size, start: Math.max(from, lo) - lo, end: Math.min(to, hi) - lo }
    } else {
      const child = await getManifest(link.cid, getBlock)
      if (child.depth !== m.depth - 1 || child.size !== link.size || child.chunkSize !== m.chunkSize) {
        throw new BadManifestError(`child ${link.cid} does not fit its parent (depth, size or chunk size)`)
      }
      yield* piecesInRange(child, lo, from, to, getBlock)
    }
  }
}

export async function* readFile(
  root: CID | string,
  getBlock: GetBlock,
  opts: ReadFileOptions = {},
): AsyncGenerator<Uint8Array> {
  const rootCid = toChunkCid(root)
  const m = await getManifest(rootCid, getBlock)
  const offset = opts.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > m.size) {
    throw new BadRangeError(`offset ${offset} outside a file of ${m.size} bytes`)
  }
  const length = opts.length ?? m.size - offset
  if (!Number.isSafeInteger(length) || length < 0) throw new BadRangeError(`length ${length}`)
  const to = Math.min(m.size, offset + length)
  if (to === offset) return
  const concurrency = Math.max(1, opts.concurrency ?? 8)

  const fetch = async (p: Piece): Promise<Uint8Array> => {
    const bytes = await getBlock(p.cid)
    if (bytes.length !== p.size || (opts.trustBlocks !== true && !(await bytesMatchCid(p.cid, bytes)))) {
      throw new HashMismatchError(p.cid.toString())
    }
    return p.start === 0 && p.end === bytes.length ? bytes : bytes.subarray(p.start, p.end)
  }
  // Up to `concurrency` fetches in flight, and up to 2x that fetched ahead of the consumer: a new
  // fetch starts as soon as any finishes, so one slow read (a cold disk, a slow peer) does not
  // idle the others while the output waits for it in order.
  const pieces = piecesInRange(m, 0, offset, to, getBlock)
  const window: Promise<Uint8Array>[] = []
  let inFlight = 0
  let exhausted = false
  let wake = (): void => {}
  let completion = new Promise<void>((r) => {
    wake = r
  })
  const finished = (): void => {
    inFlight--
    const w = wake
    completion = new Promise<void>((r) => {
      wake = r
    })
    w()
  }
  try {
    for (;;) {
      while (!exhausted && inFlight < concurrency && window.length < 2 * concurrency) {
        const next = await pieces.next()
        if (next.done === true) {
          exhausted = true
          break
        }
        inFlight++
        const f = fetch(next.value)
        f.then(finished, finished)
        f.catch(() => {}) // reported when its turn comes; avoids an unhandled rejection meanwhile
        window.push(f)
      }
      const head = window[0]
      if (head === undefined) return
      const headDone = await Promise.race([
        head.then(
          () => true,
          () => true,
        ),
        completion.then(() => false),
      ])
      if (headDone) {
        window.shift()
        yield await head
      }
    }
  } finally {
    await Promise.allSettled(window)
  }
}

/** Every block of a file (manifests first, then their children, depth first, in file order). */
export async function* fileBlocks(root: CID | string, getBlock: GetBlock): AsyncGenerator<CID> {
  const rootCid = toChunkCid(root)
  const walk = async function* (cid: CID): AsyncGenerator<CID> {
    const m = await getManifest(cid, getBlock)
    yield cid
    for (const l of m.links) {
      if (m.depth === 0) yield l.cid
      else yield* walk(l.cid)
    }
  }
  yield* walk(rootCid)
}
