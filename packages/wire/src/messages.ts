/**
 * Every message of the peer protocols, defined once: its TypeScript type, its encoder and its
 * validator live here and nowhere else. A message on the wire is one frame whose payload is
 *
 *   varint(headerLength) ‖ dag-cbor(header) ‖ data
 *
 * where `data` (a chunk's bytes) is present only on `put` and `block`, so 1 MiB of chunk is never
 * re-encoded as CBOR. Decoding checks the header length against MAX_HEADER_BYTES before decoding
 * and validates the exact shape; anything else is a BadMessageError.
 */
import * as cbor from '@ipld/dag-cbor'
import { boundAddrs, KEY_BYTES } from '@swarmstore/core'
import { BadMessageError } from './errors.js'
import { encodeFrame } from './framing.js'
import { PROTOCOL_MINOR } from './protocols.js'
import { decodeVarint, encodeVarint } from './varint.js'

/** A header never needs more than this (a `has` of MAX_HAS_CIDS CIDs is ~40 KiB). */
export const MAX_HEADER_BYTES = 64 * 1024
/** At most this many contacts in a `nodes` reply (k). */
export const MAX_NODES = 20
/** At most this many CIDs in one `has`. */
export const MAX_HAS_CIDS = 1024
/** At most this many key ranges in one `sum` (summaries and key lists together). */
export const MAX_SUM_RANGES = 256
/** At most this many keys in one `sums` reply (they travel in the data part, 32 bytes each). */
export const MAX_SUM_KEYS = 16_384
const MAX_CID_BYTES = 64
const MAX_PEER_ID_CHARS = 128
const MAX_TEXT = 512

/** Swarm-wide settings every request carries; a receiver that disagrees answers SETTINGS_MISMATCH. */
export interface Settings {
  /** replication factor R */
  r: number
  /** chunk size in bytes */
  cs: number
}

export interface RequestBase extends Settings {
  /** minor protocol version of the sender */
  v: number
  /** addresses the sender wants to be dialled at (bounded) */
  addrs: string[]
}

export type Request =
  | (RequestBase & { t: 'find'; target: Uint8Array })
  | (RequestBase & { t: 'ping' })
  | (RequestBase & { t: 'put'; cid: Uint8Array; data: Uint8Array })
  | (RequestBase & { t: 'get'; cid: Uint8Array })
  /**
   * Which of these the peer holds. `held` (minor ≥ 1): the asker holds every one of them itself,
   * so the answerer may count it as a holder (a claim about itself, like a `have` answer).
   */
  | (RequestBase & { t: 'has'; cids: Uint8Array[]; held?: true })
  /**
   * Anti-entropy: the (count, XOR) summary of the keys this peer holds under each of `ranges`,
   * and the keys themselves under each of `keyRanges` (each list truncated to `limit`).
   */
  | (RequestBase & { t: 'sum'; ranges: KeyRange[]; keyRanges: KeyRange[]; limit: number })
  /**
   * Key-value protocol (issue 21): `data` is one dag-cbor message of @swarmstore/kv's protocol,
   * validated by its parsers (the frame bound applies to the whole message).
   */
  | (RequestBase & { t: 'kv'; data: Uint8Array })

/** The keys whose first `bits` bits equal those of `key` (32 bytes). */
export interface KeyRange {
  key: Uint8Array
  bits: number
}

export interface WireSummary {
  count: number
  /** XOR of the keys (32 bytes) */
  xor: Uint8Array
}

export interface WirePeer {
  id: string
  addrs: string[]
}

export type RefuseReason = 'not-responsible' | 'no-capacity' | 'bad-chunk'

export type Reply =
  | { t: 'nodes'; peers: WirePeer[] }
  | { t: 'pong' }
  | { t: 'stored' }
  | { t: 'refused'; reason: RefuseReason; msg: string }
  | { t: 'block'; data: Uint8Array }
  | { t: 'missing' }
  | { t: 'have'; have: boolean[] }
  /** `keys[i]`: the keys under keyRanges[i], ascending (in the frame: counts in the header, keys as data) */
  | { t: 'sums'; sums: WireSummary[]; keys: Uint8Array[][] }
  | { t: 'err'; code: string; msg: string }
  /** A key-value reply: `data` is one dag-cbor message, validated by @swarmstore/kv's parsers. */
  | { t: 'kv'; data: Uint8Array }

export type RequestType = Request['t']
export type ReplyType = Reply['t']

type Header = Record<string, unknown>

function encode(header: Header, data?: Uint8Array) {
  const h = cbor.encode(header)
  return data === undefined
    ? encodeFrame(encodeVarint(h.byteLength), h)
    : encodeFrame(encodeVarint(h.byteLength), h, data)
}

/** One frame (as a Uint8ArrayList, ready for `stream.send`). */
export function encodeRequest(req: Request) {
  const { data, ...header } = req as Request & { data?: Uint8Array }
  return encode(header, data)
}

export function encodeReply(reply: Reply) {
  if (reply.t === 'sums') {
    // keys as data: 32 raw bytes each, the per-range counts in the header
    const n = reply.keys.reduce((a, l) => a + l.length, 0)
    const data = new Uint8Array(n * KEY_BYTES)
    let o = 0
    for (const l of reply.keys) for (const k of l) data.set(k, o++ * KEY_BYTES)
    return encode(
      {
        t: 'sums',
        sums: reply.sums.map((x) => ({ c: x.count, x: x.xor })),
        kc: reply.keys.map((l) => l.length),
      },
      data,
    )
  }
  const { data, ...header } = reply as Reply & { data?: Uint8Array }
  return encode(header, data)
}

/** Fields common to every request, from our settings. */
export function requestBase(settings: Settings, addrs: readonly string[]): RequestBase {
  return { v: PROTOCOL_MINOR, r: settings.r, cs: settings.cs, addrs: boundAddrs(addrs) }
}

function split(payload: Uint8Array): { header: Header; data: Uint8Array } {
  let hdr: [number, number] | undefined
  try {
    hdr = decodeVarint(payload.byteLength, (i) => payload[i]!)
  } catch (err) {
    throw new BadMessageError('bad header length', { cause: err })
  }
  if (hdr === undefined) throw new BadMessageError('truncated header length')
  const [len, used] = hdr
  if (len > MAX_HEADER_BYTES) throw new BadMessageError(`header of ${len} bytes exceeds ${MAX_HEADER_BYTES}`)
  if (used + len > payload.byteLength) throw new BadMessageError('truncated header')
  let header: unknown
  try {
    header = cbor.decode(payload.subarray(used, used + len))
  } catch (err) {
    throw new BadMessageError('header is not valid dag-cbor', { cause: err })
  }
  if (
    header === null ||
    typeof header !== 'object' ||
    Array.isArray(header) ||
    header instanceof Uint8Array
  ) {
    throw new BadMessageError('header is not a map')
  }
  return { header: header as Header, data: payload.subarray(used + len) }
}

// --- field checks -------------------------------------------------------------------------------

function fail(what: string): never {
  throw new BadMessageError(what)
}

function onlyKeys(h: Header, allowed: readonly string[]): void {
  for (const k of Object.keys(h)) if (!allowed.includes(k)) fail(`unexpected field ${JSON.stringify(k)}`)
}

function uint(h: Header, k: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = h[k]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
    fail(`field ${k} must be an integer`)
  return v
}

function bytes(v: unknown, what: string, max: number, exact?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${what} must be bytes`)
  if (v.byteLength > max) fail(`${what} is too long`)
  if (exact !== undefined && v.byteLength !== exact) fail(`${what} must be ${exact} bytes`)
  return v
}

function text(v: unknown, what: string, max = MAX_TEXT): string {
  if (typeof v !== 'string' || v.length > max) fail(`${what} must be a string of at most ${max} chars`)
  return v
}

function addrList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length > 64) fail(`${what} must be a list of at most 64 addresses`)
  for (const a of v) text(a, `${what} entry`)
  return boundAddrs(v as string[])
}

function noData(data: Uint8Array, t: string): void {
  if (data.byteLength !== 0) fail(`${t} carries no data`)
}

const BASE = ['t', 'v', 'r', 'cs', 'addrs'] as const

function keyRanges(v: unknown, what: string): KeyRange[] {
  if (!Array.isArray(v) || v.length > MAX_SUM_RANGES) fail(`${what} must be a list of ≤ ${MAX_SUM_RANGES}`)
  return v.map((r) => {
    if (r === null || typeof r !== 'object' || Array.isArray(r) || r instanceof Uint8Array)
      fail(`${what} entry must be a map`)
    const m = r as Header
    onlyKeys(m, ['key', 'bits'])
    return { key: bytes(m.key, 'range key', KEY_BYTES, KEY_BYTES), bits: uint(m, 'bits', KEY_BYTES * 8) }
  })
}

/** Validates an untrusted request frame. Unknown `t` and any shape error → BadMessageError. */
export function decodeRequest(payload: Uint8Array): Request {
  const { header: h, data } = split(payload)
  const t = h.t
  const base: RequestBase = {
    v: uint(h, 'v', 0xffff),
    r: uint(h, 'r', 64),
    cs: uint(h, 'cs', 2 ** 31),
    addrs: addrList(h.addrs, 'addrs'),
  }
  switch (t) {
    case 'find':
      onlyKeys(h, [...BASE, 'target'])
      noData(data, t)
      return { ...base, t, target: bytes(h.target, 'target', KEY_BYTES, KEY_BYTES) }
    case 'ping':
      onlyKeys(h, BASE)
      noData(data, t)
      return { ...base, t }
    case 'put':
      onlyKeys(h, [...BASE, 'cid'])
      return { ...base, t, cid: bytes(h.cid, 'cid', MAX_CID_BYTES), data }
    case 'get':
      onlyKeys(h, [...BASE, 'cid'])
      noData(data, t)
      return { ...base, t, cid: bytes(h.cid, 'cid', MAX_CID_BYTES) }
    case 'has': {
      onlyKeys(h, [...BASE, 'cids', 'held'])
      noData(data, t)
      const cids = h.cids
      if (!Array.isArray(cids) || cids.length > MAX_HAS_CIDS) fail(`cids must be a list of ≤ ${MAX_HAS_CIDS}`)
      if (h.held !== undefined && h.held !== true) fail('held must be true when present')
      return {
        ...base,
        t,
        cids: cids.map((c) => bytes(c, 'cid', MAX_CID_BYTES)),
        ...(h.held === true ? { held: true as const } : {}),
      }
    }
    case 'sum': {
      onlyKeys(h, [...BASE, 'ranges', 'keyRanges', 'limit'])
      noData(data, t)
      const ranges = keyRanges(h.ranges, 'ranges')
      const kr = keyRanges(h.keyRanges, 'keyRanges')
      if (ranges.length + kr.length > MAX_SUM_RANGES) fail(`at most ${MAX_SUM_RANGES} ranges in all`)
      return { ...base, t, ranges, keyRanges: kr, limit: uint(h, 'limit', MAX_SUM_KEYS) }
    }
    case 'kv':
      onlyKeys(h, BASE)
      return { ...base, t, data }
    default:
      return fail(`unknown request type ${JSON.stringify(t)}`)
  }
}

const REFUSE_REASONS: readonly RefuseReason[] = ['not-responsible', 'no-capacity', 'bad-chunk']

/** Validates an untrusted reply frame. */
export function decodeReply(payload: Uint8Array): Reply {
  const { header: h, data } = split(payload)
  const t = h.t
  switch (t) {
    case 'nodes': {
      onlyKeys(h, ['t', 'peers'])
      noData(data, t)
      const peers = h.peers
      if (!Array.isArray(peers)) fail('peers must be a list')
      // Longer replies are truncated to k (the routing rule), not rejected.
      const out: WirePeer[] = []
      for (const p of peers.slice(0, MAX_NODES)) {
        if (p === null || typeof p !== 'object' || Array.isArray(p)) fail('peer must be a map')
        const rec = p as Header
        onlyKeys(rec, ['id', 'addrs'])
        out.push({ id: text(rec.id, 'peer id', MAX_PEER_ID_CHARS), addrs: addrList(rec.addrs, 'peer addrs') })
      }
      return { t, peers: out }
    }
    case 'pong':
    case 'stored':
    case 'missing':
      onlyKeys(h, ['t'])
      noData(data, t)
      return { t }
    case 'refused': {
      onlyKeys(h, ['t', 'reason', 'msg'])
      noData(data, t)
      const reason = h.reason as RefuseReason
      if (!REFUSE_REASONS.includes(reason)) fail('unknown refusal reason')
      return { t, reason, msg: text(h.msg, 'msg') }
    }
    case 'block':
    case 'kv':
      onlyKeys(h, ['t'])
      return { t, data }
    case 'have': {
      onlyKeys(h, ['t', 'have'])
      noData(data, t)
      const have = h.have
      if (!Array.isArray(have) || have.length > MAX_HAS_CIDS || !have.every((x) => typeof x === 'boolean')) {
        fail('have must be a list of booleans')
      }
      return { t, have: have as boolean[] }
    }
    case 'sums': {
      onlyKeys(h, ['t', 'sums', 'kc'])
      const sums = h.sums
      const kc = h.kc
      if (!Array.isArray(sums) || sums.length > MAX_SUM_RANGES) fail('sums must be a list')
      if (!Array.isArray(kc) || kc.length > MAX_SUM_RANGES) fail('kc must be a list')
      const out = sums.map((x) => {
        if (x === null || typeof x !== 'object' || Array.isArray(x) || x instanceof Uint8Array)
          fail('summary must be a map')
        const m = x as Header
        onlyKeys(m, ['c', 'x'])
        return { count: uint(m, 'c'), xor: bytes(m.x, 'xor', KEY_BYTES, KEY_BYTES) }
      })
      let total = 0
      for (const c of kc) {
        if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) fail('kc must be counts')
        total += c
      }
      if (total > MAX_SUM_KEYS || data.byteLength !== total * KEY_BYTES)
        fail('keys do not match their counts')
      const keys: Uint8Array[][] = []
      let o = 0
      for (const c of kc as number[]) {
        const l: Uint8Array[] = []
        for (let i = 0; i < c; i++, o++) l.push(data.slice(o * KEY_BYTES, (o + 1) * KEY_BYTES))
        keys.push(l)
      }
      return { t, sums: out, keys }
    }
    case 'err':
      onlyKeys(h, ['t', 'code', 'msg'])
      noData(data, t)
      return { t, code: text(h.code, 'code', 64), msg: text(h.msg, 'msg') }
    default:
      return fail(`unknown reply type ${JSON.stringify(t)}`)
  }
}

/** The largest frame a receiver accepts: one chunk plus its header, no larger. */
export function maxFrameBytes(chunkSize: number): number {
  return chunkSize + MAX_HEADER_BYTES + 16
}
