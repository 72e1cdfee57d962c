/**
 * Input bounds, checked before anything changes: on the proposer before a request leaves, and
 * again on the acceptor for whatever arrives from the wire.
 */
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './constants.js'
import {
  KvBadExpectError,
  type KvInputError,
  KvKeyNotUtf8Error,
  KvKeyTooLongError,
  KvMalformedMessageError,
  KvValueTooLargeError,
} from './errors.js'

/** The UTF-8 length of s, or undefined when s holds a lone surrogate (no UTF-8 encodes it). */
export function utf8Length(s: string): number | undefined {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1)
      if (!(d >= 0xdc00 && d <= 0xdfff)) return undefined
      n += 4
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) return undefined
    else n += 3
  }
  return n
}

export function checkKey(key: unknown): KvInputError | undefined {
  if (typeof key !== 'string') return new KvKeyNotUtf8Error()
  // a UTF-16 unit is at most 3 bytes of UTF-8: short keys skip the count
  if (key.length * 3 <= MAX_KEY_BYTES && utf8Length(key) !== undefined) return undefined
  const n = utf8Length(key)
  if (n === undefined) return new KvKeyNotUtf8Error()
  return n > MAX_KEY_BYTES ? new KvKeyTooLongError(n) : undefined
}

export function checkValue(value: unknown): KvInputError | undefined {
  if (!(value instanceof Uint8Array)) return new KvMalformedMessageError('value is not bytes')
  return value.byteLength > MAX_VALUE_BYTES ? new KvValueTooLargeError(value.byteLength) : undefined
}

export function checkExpect(expect: unknown): KvInputError | undefined {
  return Number.isSafeInteger(expect) && (expect as number) >= 0 ? undefined : new KvBadExpectError(expect)
}
