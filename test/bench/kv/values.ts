/**
 * Self-describing values for the loaded phase: the first bytes name the key and a write number,
 * the rest is a fill derived from them. A get's answer then says which write it returned, and any
 * corrupted, truncated or other key's bytes show up, without the reader keeping every value.
 */
import { createHash } from 'node:crypto'

export function valueFor(key: string, seq: number, bytes: number): Buffer {
  const head = Buffer.from(`${key}\n${seq}\n`)
  const fill = createHash('sha256').update(head).digest()
  const out = Buffer.alloc(bytes)
  head.copy(out)
  for (let o = head.length; o < bytes; o += fill.length) fill.copy(out, o)
  return out
}

/** The write number of `body` if it is exactly a value written for `key` (any size); else undefined. */
export function seqOf(key: string, body: Buffer): number | undefined {
  const lines = body.subarray(0, 256).toString('latin1').split('\n')
  if (lines.length < 3 || lines[0] !== key || !/^\d+$/.test(lines[1]!)) return undefined
  const seq = Number(lines[1])
  return body.equals(valueFor(key, seq, body.byteLength)) ? seq : undefined
}
