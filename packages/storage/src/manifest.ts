/**
 * File manifests (dag-cbor). A file is a tree: leaves (depth 0) list data chunks, a node at depth d
 * lists manifests of depth d-1, each link carries the byte size of what it points to. The file's
 * CID is the root manifest's CID.
 *
 * Format version 1:
 *   { v: 1, chunkSize, depth, size, links: [[cid, size], ...] }
 * The tree shape is a pure function of (bytes, chunkSize): chunks are exactly chunkSize except the
 * last; each manifest holds at most fanout(chunkSize) links, filled left to right, and a level with
 * a single manifest is the root. So the same bytes give the same CID on any machine.
 *
 * fanout = floor(chunkSize / MAX_LINK_BYTES): a link encodes to at most 52 bytes (CID 36 bytes + tag
 * and headers, size up to 2^53), and we budget 64 so that a full manifest plus its header always
 * stays under the chunk size, which is the rule that lets manifests travel as ordinary chunks.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { cidFromDigest, DAG_CBOR_CODE, RAW_CODE, SHA256_CODE, sha256Sync } from './cid.js'
import { BadManifestError, UnknownFormatError } from './errors.js'

export const MANIFEST_VERSION = 1
export const DEFAULT_CHUNK_SIZE = 1 << 20
export const MIN_CHUNK_SIZE = 1024
export const MAX_CHUNK_SIZE = 8 << 20
export const MAX_LINK_BYTES = 64
/** Depth bound: fanout >= 16 and 2^53 bytes means depth <= 11 ever; anything deeper is hostile. */
export const MAX_DEPTH = 12

export interface ManifestLink {
  cid: CID
  /** Bytes of file content under this link (a data chunk's length, or a subtree's total). */
  size: number
}

export interface Manifest {
  version: number
  chunkSize: number
  /** 0: links are raw data chunks; d > 0: links are manifests of depth d - 1. */
  depth: number
  /** Bytes of file content under this manifest. */
  size: number
  links: ManifestLink[]
}

export function fanoutFor(chunkSize: number): number {
  return Math.floor(chunkSize / MAX_LINK_BYTES)
}

export function assertChunkSize(chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(
      `chunkSize must be an integer in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}], got ${chunkSize}`,
    )
  }
}

/** Most content bytes a subtree of this depth can hold. */
export function maxSubtreeBytes(chunkSize: number, depth: number): number {
  return chunkSize * fanoutFor(chunkSize) ** depth
}

export function encodeManifest(m: Manifest): Uint8Array {
  return dagCbor.encode({
    v: m.version,
    chunkSize: m.chunkSize,
    depth: m.depth,
    size: m.size,
    links: m.links.map((l) => [l.cid, l.size]),
  })
}

export async function manifestBlock(m: Manifest): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = encodeManifest(m)
  return { cid: cidFromDigest(DAG_CBOR_CODE, sha256Sync(bytes)), bytes }
}

/**
 * Decodes and strictly validates a manifest from untrusted bytes: size bound before decoding,
 * exact key set, integer ranges, link CIDs of the right codec, sizes that add up and respect the
 * tree shape. Throws BadManifestError (or UnknownFormatError for a future version).
 */
export function decodeManifest(bytes: Uint8Array): Manifest {
  if (!(bytes instanceof Uint8Array)) throw new BadManifestError('not bytes')
  if (bytes.length > MAX_CHUNK_SIZE)
    throw new BadManifestError(`${bytes.length} bytes exceeds ${MAX_CHUNK_SIZE}`)
  let obj: unknown
  try {
    obj = dagCbor.decode(bytes)
  } catch (err) {
    throw new BadManifestError('not dag-cbor', { cause: err })
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new BadManifestError('not a map')
  const rec = obj as Record<string, unknown>
  if (rec.v !== MANIFEST_VERSION) {
    if (Number.isSafeInteger(rec.v) && (rec.v as number) > MANIFEST_VERSION) {
      throw new UnknownFormatError(`manifest version ${rec.v} (this code reads ${MANIFEST_VERSION})`)
    }
    throw new BadManifestError(`version ${String(rec.v)}`)
  }
  const keys = Object.keys(rec).sort().join(',')
  if (keys !== 'chunkSize,depth,links,size,v') throw new BadManifestError(`unexpected fields ${keys}`)
  const { chunkSize, depth, size, links } = rec
  if (!isInt(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new BadManifestError(`chunkSize ${String(chunkSize)}`)
  }
  if (bytes.length > chunkSize)
    throw new BadManifestError(`manifest of ${bytes.length} bytes exceeds its chunk size`)
  if (!isInt(depth) || depth < 0 || depth > MAX_DEPTH) throw new BadManifestError(`depth ${String(depth)}`)
  if (!isInt(size) || size < 0) throw new BadManifestError(`size ${String(size)}`)
  if (!Array.isArray(links)) throw new BadManifestError('links is not a list')
  const fanout = fanoutFor(chunkSize)
  if (links.length > fanout) throw new BadManifestError(`${links.length} links exceed fan-out ${fanout}`)
  if (depth > 0 && links.length === 0) throw new BadManifestError('an inner manifest without links')
  const childMax = maxSubtreeBytes(chunkSize, depth)
  const out: ManifestLink[] = []
  let total = 0
  for (let i = 0; i < links.length; i++) {
    const l = links[i] as unknown
    if (!Array.isArray(l) || l.length !== 2) throw new BadManifestError(`link ${i} is not [cid, size]`)
    const cid = CID.asCID(l[0])
    const lsize = l[1] as unknown
    if (cid === null) throw new BadManifestError(`link ${i} has no CID`)
    if (cid.version !== 1 || cid.multihash.code !== SHA256_CODE || cid.multihash.digest.length !== 32) {
      throw new BadManifestError(`link ${i} is not a CIDv1 sha2-256`)
    }
    const wantCode = depth === 0 ? RAW_CODE : DAG_CBOR_CODE
    if (cid.code !== wantCode) throw new BadManifestError(`link ${i} has codec 0x${cid.code.toString(16)}`)
    if (!isInt(lsize) || lsize <= 0 || lsize > childMax)
      throw new BadManifestError(`link ${i} size ${String(lsize)}`)
    // Every link but the last is full: the tree is packed left to right.
    const full = maxSubtreeBytes(chunkSize, depth)
    if (i < links.length - 1 && lsize !== full)
      throw new BadManifestError(`link ${i} is not full (${lsize} of ${full})`)
    total += lsize
    out.push({ cid, size: lsize })
  }
  if (total !== size) throw new BadManifestError(`links add up to ${total}, manifest says ${size}`)
  return { version: MANIFEST_VERSION, chunkSize, depth, size, links: out }
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x)
}

/** The CIDs a manifest points to, in file order. */
export function manifestChildren(m: Manifest): CID[] {
  return m.links.map((l) => l.cid)
}
