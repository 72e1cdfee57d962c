/**
 * Optional per-chunk compression with node:zlib (zstd or brotli) on libuv's thread pool. A chunk is
 * stored compressed only where it pays (at least 10% smaller). Incompressible data (media, already
 * compressed or encrypted files, which is most of what people store) is detected quickly by
 * compressing a 64 KiB sample at the fastest level first.
 */
import { promisify } from 'node:util'
import * as zlib from 'node:zlib'
import type { Encoding } from './key-index.js'

export type Compression = 'none' | 'zstd' | 'brotli'

const zstdCompress = promisify(zlib.zstdCompress)
const zstdDecompress = promisify(zlib.zstdDecompress)
const brotliCompress = promisify(zlib.brotliCompress)
const brotliDecompress = promisify(zlib.brotliDecompress)

const SAMPLE_BYTES = 64 * 1024
const MIN_BYTES = 4096
/** Stored compressed only when it saves at least this share. */
const PAYS = 0.9

// chunkSize = the whole buffer: node:zlib's one-shot helpers otherwise work in 16 KiB steps, each a
// round trip to the thread pool (measured: zstd reads of 1 MiB chunks ran 4x slower that way).
async function compressWith(kind: 'zstd' | 'brotli', bytes: Uint8Array, fast: boolean): Promise<Uint8Array> {
  const chunkSize = Math.max(64 * 1024, bytes.length + 1024)
  if (kind === 'zstd') {
    // Level 1: zstd's fast end still stores text-like data at about a third, at several times the
    // speed of level 3; the point is disk space without making puts CPU-bound.
    return zstdCompress(bytes, { chunkSize, params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } })
  }
  return brotliCompress(bytes, {
    chunkSize,
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: fast ? 1 : 4,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  })
}

/** The bytes to store and their encoding. */
export async function maybeCompress(
  kind: Compression,
  bytes: Uint8Array,
): Promise<{ encoding: Encoding; stored: Uint8Array }> {
  if (kind === 'none' || bytes.length < MIN_BYTES) return { encoding: 'raw', stored: bytes }
  const sample = bytes.subarray(0, Math.min(SAMPLE_BYTES, bytes.length))
  const probe = await compressWith(kind, sample, true)
  if (probe.length > sample.length * PAYS) return { encoding: 'raw', stored: bytes }
  const out = await compressWith(kind, bytes, false)
  if (out.length > bytes.length * PAYS) return { encoding: 'raw', stored: bytes }
  return {
    encoding: kind === 'zstd' ? 'zstd' : 'br',
    stored: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
  }
}

/** Decompresses with the output bounded by the known chunk size (a corrupt file cannot balloon). */
export async function decompress(encoding: Encoding, stored: Uint8Array, size: number): Promise<Uint8Array> {
  if (encoding === 'raw') return stored
  const opts = { maxOutputLength: Math.max(1, size), chunkSize: Math.max(64 * 1024, size) }
  const out = encoding === 'zstd' ? await zstdDecompress(stored, opts) : await brotliDecompress(stored, opts)
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}
