/**
 * The on-disk layout of a data dir (see README):
 *
 *   <dir>/FORMAT                  {"format":"swarmstore-chunkstore","version":1}
 *   <dir>/blocks/<hh>/<file>      one file per chunk; hh = first byte of keyForCid(cid), in hex
 *   <dir>/tmp/                    writes in progress (emptied on open)
 *   <dir>/quarantine/<file>.<n>   chunks that failed verification
 *   <dir>/pins/<cid>              one empty file per pin
 *
 * Chunk file names: `<cid>` for chunks stored as is, `<cid>.zstd.<size>` or `<cid>.br.<size>` for
 * compressed ones (size = uncompressed length). The name carries everything the index needs, so
 * open() rebuilds it from readdir and stat without reading a single chunk.
 */
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { toChunkCid } from './cid.js'
import type { Encoding } from './key-index.js'

export const FORMAT_NAME = 'swarmstore-chunkstore'
export const FORMAT_VERSION = 1
export const FORMAT_FILE = 'FORMAT'

export const paths = (dir: string) => ({
  format: join(dir, FORMAT_FILE),
  formatTmp: join(dir, `${FORMAT_FILE}.tmp`),
  blocks: join(dir, 'blocks'),
  tmp: join(dir, 'tmp'),
  quarantine: join(dir, 'quarantine'),
  pins: join(dir, 'pins'),
})

export function shardName(key: Uint8Array): string {
  return key[0]!.toString(16).padStart(2, '0')
}

export function chunkFileName(cid: CID, encoding: Encoding, size: number): string {
  return encoding === 'raw' ? cid.toString() : `${cid.toString()}.${encoding}.${size}`
}

export interface ParsedName {
  cid: CID
  encoding: Encoding
  /** Uncompressed size when the name carries it. */
  size?: number
}

/** Parses a chunk file name; undefined for anything that is not one of ours. */
export function parseChunkFileName(name: string): ParsedName | undefined {
  const parts = name.split('.')
  let cid: CID
  try {
    cid = toChunkCid(parts[0]!)
  } catch {
    return undefined
  }
  if (parts.length === 1) return { cid, encoding: 'raw' }
  if (parts.length === 3 && (parts[1] === 'zstd' || parts[1] === 'br') && /^[0-9]{1,10}$/.test(parts[2]!)) {
    return { cid, encoding: parts[1], size: Number(parts[2]) }
  }
  return undefined
}
