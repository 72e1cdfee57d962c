/**
 * Fixed-size chunking of a byte stream. Holds at most one chunk being filled, whatever the size of
 * the input pieces, so a 50 GiB file streams through in constant memory.
 */
import { assertChunkSize, DEFAULT_CHUNK_SIZE } from './manifest.js'

export interface ChunkOptions {
  /** Bytes per chunk (default 1 MiB); every chunk but the last is exactly this long. */
  chunkSize?: number
}

export async function* chunkFile(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: ChunkOptions = {},
): AsyncGenerator<Uint8Array> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE
  assertChunkSize(chunkSize)
  let buf = new Uint8Array(chunkSize)
  let filled = 0
  for await (const piece of source) {
    let off = 0
    while (off < piece.length) {
      const n = Math.min(chunkSize - filled, piece.length - off)
      buf.set(piece.subarray(off, off + n), filled)
      filled += n
      off += n
      if (filled === chunkSize) {
        // A fresh buffer per chunk: the consumer may keep it (in flight to disk or the network).
        yield buf
        buf = new Uint8Array(chunkSize)
        filled = 0
      }
    }
  }
  if (filled > 0) yield buf.subarray(0, filled)
}
