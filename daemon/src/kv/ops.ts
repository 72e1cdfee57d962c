/**
 * A client operation forwarded between nodes, and its answer, as they may be trusted: the request
 * is checked for shape here (its bounds are the proposer's to check: it answers `invalid`), the
 * answer for shape and types — a peer's bytes never reach a caller unchecked.
 */
import type { KvAnswer, KvRequest } from '@swarmstore/kv'

/** The request, or why it is malformed. */
export function parseOp(v: unknown): KvRequest | string {
  if (v === null || typeof v !== 'object') return 'operation is not a map'
  const o = v as Record<string, unknown>
  if (typeof o.key !== 'string') return 'key is not a string'
  const key = o.key
  switch (o.t) {
    case 'get':
    case 'delete':
      return { t: o.t, key }
    case 'put':
      return o.value instanceof Uint8Array ? { t: 'put', key, value: o.value } : 'value is not bytes'
    case 'cas':
      if (!(o.value instanceof Uint8Array)) return 'value is not bytes'
      return typeof o.expect === 'number'
        ? { t: 'cas', key, expect: o.expect, value: o.value }
        : 'expect is not a number'
    default:
      return `unknown operation ${JSON.stringify(o.t)}`
  }
}

const VERSIONED = new Set(['ok', 'found', 'notFound', 'conflict'])

/** The answer if it is well-formed, else undefined (counted as no answer). */
export function parseAnswer(v: unknown): KvAnswer | undefined {
  if (v === null || typeof v !== 'object') return undefined
  const o = v as Record<string, unknown>
  if (typeof o.t !== 'string') return undefined
  if (VERSIONED.has(o.t)) {
    if (!Number.isSafeInteger(o.version) || (o.version as number) < 0) return undefined
    const version = o.version as number
    if (o.t !== 'found') return { t: o.t as 'ok' | 'notFound' | 'conflict', version }
    return o.value instanceof Uint8Array ? { t: 'found', value: o.value, version } : undefined
  }
  if (o.t === 'unavailable' && typeof o.reason === 'string' && typeof o.acceptSent === 'boolean') {
    return { t: 'unavailable', reason: o.reason.slice(0, 500), acceptSent: o.acceptSent }
  }
  if (o.t === 'invalid' && typeof o.code === 'string' && typeof o.message === 'string') {
    return { t: 'invalid', code: o.code as never, message: o.message.slice(0, 500) }
  }
  return undefined
}
