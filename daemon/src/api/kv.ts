/**
 * The key-value routes of the control API (docs/CONTROL-API.md, issue 21): each request becomes one
 * `KvService` call and its `KvAnswer` becomes the HTTP answer. Nothing about the register is decided
 * here; the only checks are the ones that let a request be refused before its body is read (the key,
 * `?expect`, the value's size), with the same codes the KV layer uses.
 *
 * Errors keep the API's shape, `{"error":{"code","message"}}`, with the answer's extra facts beside
 * it: `"version"` on a 404 or 409 (the key's counter, so a client can retry a cas at once) and
 * `"indeterminate"` on a write's 503 (true: the write may still take effect).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkExpect, checkKey, type KvAnswer, KvValueTooLargeError, MAX_VALUE_BYTES } from '@swarmstore/kv'
import type { Logger } from 'pino'
import { BadRequestError } from '../errors.js'
import type { KvService } from '../kv/service.js'
import { sendJson } from './http.js'

/** What the routes use: the service, absent when this daemon runs no KV engine. */
export interface KvApi {
  log: Logger
  kv?: KvService | undefined
}

type KvOp = 'put' | 'cas' | 'get' | 'delete'

const MiB = 1 << 20

/** The answers each operation can give besides unavailable and invalid; anything else is a bug. */
const EXPECTED: Record<KvOp, readonly KvAnswer['t'][]> = {
  put: ['ok'],
  cas: ['ok', 'conflict'],
  get: ['found', 'notFound'],
  delete: ['ok', 'notFound'],
}

const KEY_PATH = /^\/v1\/kv\/keys\/([^/]+)$/

/**
 * The percent-encoded key of a `/v1/kv/keys/{key}` request, or undefined for any other path. Read
 * from the raw request target, not the parsed URL: URL parsing removes dot segments, so the keys
 * `.` and `..` (even sent as `%2E`) would otherwise name another path.
 */
export function kvKeySegment(req: IncomingMessage, u: URL): string | undefined {
  const target = req.url ?? ''
  const path = target.startsWith('/') ? target.split('?', 1)[0]! : u.pathname
  return KEY_PATH.exec(path)?.[1]
}

/** `PUT /v1/kv/keys/{key}[?expect=N]`: the body (raw bytes, at most 1 MiB) becomes the value. */
export async function putKvKey(
  api: KvApi,
  req: IncomingMessage,
  res: ServerResponse,
  u: URL,
  segment: string,
): Promise<void> {
  if (api.kv === undefined) return sendBeforeBody(req, res, absent(true))
  const refuse = (answer: Invalid) => sendBeforeBody(req, res, refusal(answer))
  const key = decodeKey(segment)
  if (typeof key !== 'string') return refuse(key)
  const expectText = u.searchParams.get('expect')
  const expect = expectText === null ? undefined : parseExpect(expectText)
  if (typeof expect === 'object') return refuse(expect)
  const value = await readValue(req)
  if (!(value instanceof Uint8Array)) return refuse(value)
  if (expect === undefined) send(res, reply(api, 'put', key, await api.kv.put(key, value)))
  else send(res, reply(api, 'cas', key, await api.kv.cas(key, expect, value)))
}

/** `GET /v1/kv/keys/{key}`: the value's raw bytes, its version in `X-Swarmstore-Version`. */
export async function getKvKey(api: KvApi, res: ServerResponse, segment: string): Promise<void> {
  if (api.kv === undefined) return send(res, absent(false))
  const key = decodeKey(segment)
  if (typeof key !== 'string') return send(res, reply(api, 'get', '', key))
  send(res, reply(api, 'get', key, await api.kv.get(key)))
}

/** `DELETE /v1/kv/keys/{key}`: leaves a tombstone at the next version. */
export async function deleteKvKey(api: KvApi, res: ServerResponse, segment: string): Promise<void> {
  if (api.kv === undefined) return send(res, absent(true))
  const key = decodeKey(segment)
  if (typeof key !== 'string') return send(res, reply(api, 'delete', '', key))
  send(res, reply(api, 'delete', key, await api.kv.delete(key)))
}

/** `GET /v1/kv/groups`: the ranges of the keyspace and their groups, as this node knows them. */
export function getKvGroups(api: KvApi, res: ServerResponse): void {
  send(res, api.kv === undefined ? absent(false) : { status: 200, json: api.kv.groups() })
}

type Invalid = Extract<KvAnswer, { t: 'invalid' }>

function invalid(err: { code: Invalid['code']; message: string }): Invalid {
  return { t: 'invalid', code: err.code, message: err.message }
}

/** The key a path segment names, or why it names none. */
function decodeKey(segment: string): string | Invalid {
  let key: string
  try {
    key = decodeURIComponent(segment)
  } catch {
    // decodeURIComponent refuses percent-escapes that are not UTF-8 (a surrogate's among them)
    return {
      t: 'invalid',
      code: 'ERR_KV_KEY_NOT_UTF8',
      message: 'key is not valid UTF-8 once percent-decoded',
    }
  }
  const error = checkKey(key)
  return error === undefined ? key : invalid(error)
}

/** `?expect=N`: N written in decimal digits, a safe integer (checkExpect says which). */
function parseExpect(text: string): number | Invalid {
  const value = /^\d+$/.test(text) ? Number(text) : text
  const error = checkExpect(value)
  return error === undefined ? (value as number) : invalid(error)
}

/**
 * The request body, or a refusal as soon as it passes MAX_VALUE_BYTES (by its content-length, or
 * by what arrived): a larger value is never buffered. The caller discards the rest (sendBeforeBody).
 */
function readValue(req: IncomingMessage): Promise<Uint8Array | Invalid> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_VALUE_BYTES) return Promise.resolve(invalid(new KvValueTooLargeError(declared)))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const stop = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
      req.off('error', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength
      if (size <= MAX_VALUE_BYTES) chunks.push(chunk)
      else {
        stop()
        req.pause()
        resolve(invalid(new KvValueTooLargeError(size)))
      }
    }
    const onEnd = (): void => {
      stop()
      resolve(Buffer.concat(chunks, size))
    }
    const onClose = (): void => {
      stop()
      reject(new BadRequestError('the request body ended before it was complete'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
    req.on('error', onClose)
  })
}

/** What a refused request may still send before its connection is cut. */
const MAX_DISCARD = 64 * MiB

type JsonReply = { status: number; json: object }
type Reply = JsonReply | { status: 200; value: Uint8Array; version: number }

function send(res: ServerResponse, r: Reply): void {
  if ('json' in r) {
    sendJson(res, r.status, r.json)
    return
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': r.value.byteLength,
    'x-swarmstore-version': String(r.version),
  })
  res.end(r.value)
}

/**
 * An answer before the body was read. It goes on the wire whole at once (the client stops
 * sending when it sees it), but the response is ended only once the client has stopped sending or
 * closed, the rest of the body read and thrown away meanwhile, bounded. Ending it at once lets
 * node close the connection (the CLI asks for `connection: close`) on a client in mid-upload: the
 * reset can make its kernel drop our answer unread (a CLI piping 30 MB from stdin got EPIPE
 * instead of the 413, 2 times in 8).
 */
function sendBeforeBody(req: IncomingMessage, res: ServerResponse, r: JsonReply): void {
  const text = JSON.stringify(r.json)
  res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.write(text)
  let discarded = 0
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength
    if (discarded > MAX_DISCARD) req.destroy()
  })
  req.once('end', () => res.end())
  req.once('close', () => res.end())
  req.resume()
}

function absent(write: boolean): JsonReply {
  const error = { code: 'UNAVAILABLE', message: 'this daemon runs no key-value store' }
  return { status: 503, json: write ? { error, indeterminate: false } : { error } }
}

function refusal(answer: Invalid): JsonReply {
  const status =
    answer.code === 'ERR_KV_VALUE_TOO_LARGE' ? 413 : answer.code === 'ERR_KV_RANGE_FULL' ? 507 : 400
  return { status, json: { error: { code: answer.code, message: answer.message } } }
}

/** An answer of the service (or a refusal made here, in the same shape) as HTTP. */
function reply(api: KvApi, op: KvOp, key: string, answer: KvAnswer): Reply {
  const error = (status: number, code: string, message: string, extra: object = {}): Reply => ({
    status,
    json: { error: { code, message }, ...extra },
  })
  if (answer.t !== 'invalid' && answer.t !== 'unavailable' && !EXPECTED[op].includes(answer.t)) {
    api.log.error({ op, answer: answer.t }, 'KV service gave an answer its operation cannot give')
    return error(500, 'INTERNAL', `the key-value service answered ${answer.t} to a ${op}`)
  }
  const quoted = JSON.stringify(key)
  switch (answer.t) {
    case 'invalid':
      return refusal(answer)
    case 'unavailable':
      return error(
        503,
        'UNAVAILABLE',
        answer.reason,
        op === 'get' ? {} : { indeterminate: answer.acceptSent },
      )
    case 'found':
      return { status: 200, value: answer.value, version: answer.version }
    case 'notFound':
      return error(404, 'NOT_FOUND', `no key ${quoted} (its version counter is ${answer.version})`, {
        version: answer.version,
      })
    case 'conflict':
      return error(409, 'CONFLICT', `key ${quoted} is at version ${answer.version}, not the one expected`, {
        version: answer.version,
      })
    case 'ok':
      return { status: 200, json: { key, version: answer.version } }
  }
}
