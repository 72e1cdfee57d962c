/** Unsigned LEB128 varints, as multiformats and libp2p frame lengths. At most 5 bytes (< 2^35). */
export const MAX_VARINT_BYTES = 5

export function encodeVarint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`)
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/**
 * Decodes a varint at the start of `get(i)`; returns [value, bytesRead], or undefined when more
 * bytes are needed. Throws on a varint longer than MAX_VARINT_BYTES.
 */
export function decodeVarint(length: number, get: (i: number) => number): [number, number] | undefined {
  let value = 0
  let mul = 1
  for (let i = 0; i < Math.min(length, MAX_VARINT_BYTES); i++) {
    const b = get(i)
    value += (b & 0x7f) * mul
    if ((b & 0x80) === 0) return [value, i + 1]
    mul *= 0x80
  }
  if (length >= MAX_VARINT_BYTES) throw new RangeError('varint longer than 5 bytes')
  return undefined
}
