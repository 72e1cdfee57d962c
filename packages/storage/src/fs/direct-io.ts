/**
 * O_DIRECT helpers: reads and writes that bypass the page cache. O_DIRECT needs the buffer's
 * address, the length and the file offset aligned to the device's logical block; Node does not
 * tell a buffer's address, so the aligned offset inside a buffer is found by trying (a misaligned
 * O_DIRECT read or write fails with EINVAL before touching the file).
 */
import { readSync, writeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'

/** The alignment used for O_DIRECT buffers, lengths and offsets (a page; any logical block divides it). */
export const DIRECT_ALIGN = 4096

/**
 * A buffer of `size` bytes (a multiple of DIRECT_ALIGN) whose address is aligned for O_DIRECT on
 * `fd` (opened with O_DIRECT), found by reading or writing one block at file offset 0 of `fd`. To
 * probe by writing, the file must not hold data there yet; to probe by reading, it must not be
 * empty (an empty file reads as 0 bytes at any alignment, so a read of 0 bytes proves nothing).
 * Synchronous: a misaligned attempt fails in the syscall at once, and up to 256 of them through
 * the thread pool would cost more than the one that succeeds. Undefined when no offset works or
 * the attempt fails otherwise (EOPNOTSUPP on some FUSE file systems, …): no O_DIRECT here.
 */
export function alignedBuffer(fd: number, size: number, probe: 'read' | 'write'): Buffer | undefined {
  const raw = Buffer.allocUnsafeSlow(size + DIRECT_ALIGN)
  raw.fill(0, 0, 2 * DIRECT_ALIGN)
  // malloc hands out 16-byte aligned memory; a block-aligned address is at one of these offsets
  for (let off = 0; off < DIRECT_ALIGN; off += 16) {
    try {
      if (probe === 'write') writeSync(fd, raw, off, DIRECT_ALIGN, 0)
      else if (readSync(fd, raw, off, DIRECT_ALIGN, 0) === 0) return undefined
      return raw.subarray(off, off + size)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') return undefined
    }
  }
  return undefined
}

/** Rounds n up to a multiple of DIRECT_ALIGN. */
export function alignUp(n: number): number {
  return Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN
}

/**
 * Writes `length` bytes of an aligned buffer at `position` of a file opened with O_DIRECT (both
 * block multiples). A short write that leaves the next offset off a block is an error: O_DIRECT
 * could not continue from there.
 */
export async function writeAligned(
  fd: FileHandle,
  buf: Uint8Array,
  length: number,
  position: number,
): Promise<void> {
  for (let o = 0; o < length; ) {
    const r = await fd.write(buf, o, length - o, position + o)
    if (r.bytesWritten <= 0 || r.bytesWritten % 512 !== 0)
      throw new Error(`short direct write (${r.bytesWritten} B)`)
    o += r.bytesWritten
  }
}
