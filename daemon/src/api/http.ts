import type { IncomingMessage, ServerResponse } from 'node:http'
import { BadCidError, CapacityExceededError, toChunkCid } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { BadRequestError, TimeoutError } from '../errors.js'

/** HTTP status of each error code the API knows. */
const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  BAD_CID: 400,
  BAD_RANGE: 400,
  BAD_MANIFEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CHUNK_NOT_FOUND: 404,
  INSUFFICIENT_REPLICAS: 503,
  NOT_READY: 503,
  UNAVAILABLE: 503,
  CAPACITY: 507,
  CAPACITY_EXCEEDED: 507,
  TIMEOUT: 504,
  NOT_LOCAL: 409,
}
const PUBLIC_CODE: Record<string, string> = {
  BAD_CID: 'BAD_REQUEST',
  BAD_RANGE: 'BAD_REQUEST',
  BAD_MANIFEST: 'BAD_REQUEST',
  CHUNK_NOT_FOUND: 'NOT_FOUND',
  CAPACITY_EXCEEDED: 'CAPACITY',
}

export const UNAUTHORIZED_BODY = {
  error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token (read it from <dataDir>/token)' },
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const e = err as Error
  const code = errorCode(err)
  const status = STATUS[code] ?? 500
  if (clientWentAway(res, err)) {
    // the client's choice (Ctrl-C, a killed script), not our fault: nothing to answer, no alarm
    log.info({ reason: e?.message }, 'client disconnected mid-request')
    res.destroy()
    return
  }
  if (status === 500) log.error({ err }, 'internal error in control API')
  if (res.headersSent) {
    res.destroy(e)
    return
  }
  sendJson(res, status, { error: { code: publicCode(code), message: e.message } })
}

/** Whether the request failed because its client closed the connection before the answer. */
function clientWentAway(res: ServerResponse, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const reset = code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE'
  return reset && (res.req.destroyed || res.socket === null || res.socket.destroyed)
}

/** An error's code as the API knows it (a key of STATUS), INTERNAL for anything else. */
export function errorCode(err: unknown): string {
  if (err instanceof CapacityExceededError) return 'CAPACITY'
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && code in STATUS ? code : 'INTERNAL'
}

/** The code a client sees (internal distinctions folded into the documented ones). */
export function publicCode(code: string): string {
  return PUBLIC_CODE[code] ?? code
}

/**
 * An answer that comes before the request body was read (a 401 on an upload): read and discard what
 * the client still sends — bounded — so its kernel does not reset the connection and lose our
 * answer; the client stops sending once it sees it.
 */
export function drainThenClose(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close')
  let drained = 0
  req.on('data', (c: Buffer) => {
    drained += c.byteLength
    if (drained > 64 * 1024 * 1024) req.destroy()
  })
  req.resume()
}

export function intParam(u: URL, name: string, dflt?: number): number | undefined {
  const v = u.searchParams.get(name)
  if (v === null || v === '') return dflt
  if (!/^\d+$/.test(v)) throw new BadRequestError(`${name} must be a non-negative integer`)
  return Number(v)
}

export function parseCid(s: string): CID {
  try {
    return toChunkCid(decodeURIComponent(s))
  } catch (err) {
    throw new BadRequestError(err instanceof BadCidError ? err.message : `not a CID: ${s}`)
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number | undefined, what: string): Promise<T> {
  if (ms === undefined) return p
  let t: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${ms} ms`)), ms) // io-edge
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(t)
  }
}
