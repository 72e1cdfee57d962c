import { timingSafeEqual } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { basename, isAbsolute } from 'node:path'
import { keyForCid, keyToHex } from '@swarmstore/core'
import {
  BadCidError,
  buildFile,
  CapacityExceededError,
  fileBlocks,
  getManifest,
  readFile,
  toChunkCid,
} from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { BackgroundSync } from './background-sync.js'
import { DirectWriter } from './direct-writer.js'
import { BadRequestError, NotLocalError, NotReadyError, TimeoutError } from './errors.js'

/**
 * Chunks in flight per put / per get. Each chunk's latency is a lookup plus a transfer, so the
 * window, not bandwidth, bounds a single file's throughput; memory is window × chunk size.
 */
const PUT_WINDOW = 24
const GET_WINDOW = 16
/** A progress line goes to the client at most every this many bytes written. */
const WRITE_PROGRESS_EVERY = 4 << 20
/** What a client's temp file holds before the daemon may write it: its nonce, as hex (16 bytes). */
const NONCE_HEX = /^[0-9a-f]{32}$/

/** What the control API needs from the daemon (narrow, so tests can see what it touches). */
export interface ApiBackend {
  token: string
  isReady(): boolean
  log: Logger
  chunkSize: number
  putBlock(cid: CID, bytes: Uint8Array, opts: { wait: 'w' | 'all'; pin: boolean }): Promise<void>
  pinLocal(cid: CID): Promise<void>
  getBlock(cid: CID, signal?: AbortSignal): Promise<Uint8Array>
  /**
   * A data block from getBlock that its consumer is done with (no view of it is used afterwards):
   * its memory may be reused for the next chunk fetched.
   */
  release?(bytes: Uint8Array): void
  holders(cids: CID[]): Promise<Map<string, string[]>>
  status(): Promise<Record<string, unknown>>
  peers(): Promise<unknown[]>
  id(): { peerId: string; addrs: string[] }
  metrics(): Promise<{ contentType: string; body: string }>
  scrub(): Promise<unknown>
}

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

const UNAUTHORIZED_BODY = {
  error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token (read it from <dataDir>/token)' },
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const e = err as Error
  const code = errorCode(err)
  const status = STATUS[code] ?? 500
  if (status === 500) log.error({ err }, 'internal error in control API')
  if (res.headersSent) {
    res.destroy(e)
    return
  }
  sendJson(res, status, { error: { code: PUBLIC_CODE[code] ?? code, message: e.message } })
}

/** An error's code as the API knows it (a key of STATUS), INTERNAL for anything else. */
function errorCode(err: unknown): string {
  if (err instanceof CapacityExceededError) return 'CAPACITY'
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && code in STATUS ? code : 'INTERNAL'
}

/**
 * An answer that comes before the request body was read (a 401 on an upload): read and discard what
 * the client still sends — bounded — so its kernel does not reset the connection and lose our
 * answer; the client stops sending once it sees it.
 */
function drainThenClose(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close')
  let drained = 0
  req.on('data', (c: Buffer) => {
    drained += c.byteLength
    if (drained > 64 * 1024 * 1024) req.destroy()
  })
  req.resume()
}

function intParam(u: URL, name: string, dflt?: number): number | undefined {
  const v = u.searchParams.get(name)
  if (v === null || v === '') return dflt
  if (!/^\d+$/.test(v)) throw new BadRequestError(`${name} must be a non-negative integer`)
  return Number(v)
}

function parseCid(s: string): CID {
  try {
    return toChunkCid(decodeURIComponent(s))
  } catch (err) {
    throw new BadRequestError(err instanceof BadCidError ? err.message : `not a CID: ${s}`)
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number | undefined, what: string): Promise<T> {
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

/**
 * Opens a client's temp file for writing if it proves it was made for this request on this machine
 * (see writeFileTo); NOT_LOCAL otherwise. Every check is on the opened descriptor, not the path.
 */
async function openClientFile(path: string, nonce: string): Promise<FileHandle> {
  let handle: FileHandle
  try {
    handle = await open(path, fsConstants.O_RDWR | fsConstants.O_NOFOLLOW)
  } catch (err) {
    throw new NotLocalError(`cannot open ${path} here: ${(err as Error).message}`)
  }
  try {
    const st = await handle.stat()
    const uid = process.getuid?.()
    if (!st.isFile()) throw new NotLocalError(`${path} is not a regular file`)
    if (uid !== undefined && st.uid !== uid)
      throw new NotLocalError(`${path} is not owned by the daemon's user`)
    if (st.size !== nonce.length) throw new NotLocalError(`${path} does not hold this request's nonce`)
    const got = Buffer.alloc(nonce.length)
    await handle.read(got, 0, got.length, 0)
    if (!timingSafeEqual(got, Buffer.from(nonce))) {
      throw new NotLocalError(`${path} does not hold this request's nonce`)
    }
    return handle
  } catch (err) {
    await handle.close().catch(() => {})
    throw err
  }
}

/**
 * The control API (docs/CONTROL-API.md): HTTP on loopback, bearer token, streaming bodies both
 * ways. Routing is a switch on method and path: a handful of endpoints need no framework.
 */
export function createApiServer(b: ApiBackend): Server {
  const expected = Buffer.from(`Bearer ${b.token}`)
  const authorised = (req: IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '')
    return got.length === expected.length && timingSafeEqual(got, expected)
  }
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost')
    const route = async (): Promise<void> => {
      if (req.method === 'GET' && u.pathname === '/health') {
        return sendJson(res, 200, { ok: true, ready: b.isReady() })
      }
      if (!authorised(req)) {
        drainThenClose(req, res)
        return sendJson(res, 401, UNAUTHORIZED_BODY)
      }
      const m = /^\/v1\/(files|stat)(?:\/([^/]+))?$/.exec(u.pathname)
      const w = /^\/v1\/files\/([^/]+)\/write$/.exec(u.pathname)
      if (req.method === 'POST' && w?.[1]) return writeFileTo(req, res, u, parseCid(w[1]))
      if (req.method === 'POST' && u.pathname === '/v1/files') return putFile(req, res, u)
      if (req.method === 'GET' && m?.[1] === 'files' && m[2]) return getFile(req, res, u, parseCid(m[2]))
      if (req.method === 'GET' && m?.[1] === 'stat' && m[2]) return stat(res, u, parseCid(m[2]))
      if (req.method === 'GET' && u.pathname === '/v1/status') return sendJson(res, 200, await b.status())
      if (req.method === 'GET' && u.pathname === '/v1/peers') return sendJson(res, 200, await b.peers())
      if (req.method === 'GET' && u.pathname === '/v1/id') return sendJson(res, 200, b.id())
      if (req.method === 'POST' && u.pathname === '/v1/scrub') return sendJson(res, 200, await b.scrub())
      if (req.method === 'GET' && u.pathname === '/metrics') {
        const { contentType, body } = await b.metrics()
        res.writeHead(200, { 'content-type': contentType })
        res.end(body)
        return
      }
      return sendJson(res, 404, {
        error: { code: 'BAD_REQUEST', message: `no endpoint ${req.method} ${u.pathname}` },
      })
    }
    route().catch((err) => sendError(res, err, b.log))
  })

  const putFile = async (req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> => {
    const wait = u.searchParams.get('wait') ?? 'w'
    if (wait !== 'w' && wait !== 'all') throw new BadRequestError('wait must be w or all')
    const pinParam = u.searchParams.get('pin') ?? 'false'
    if (pinParam !== 'true' && pinParam !== 'false') throw new BadRequestError('pin must be true or false')
    const pin = pinParam === 'true'
    const timeout = intParam(u, 'timeout')
    if (!b.isReady()) throw new NotReadyError()
    const started = Date.now() // io-edge
    try {
      const built = await withTimeout(
        buildFile(req, (cid, bytes) => b.putBlock(cid, bytes, { wait, pin }), {
          chunkSize: b.chunkSize,
          concurrency: PUT_WINDOW,
        }),
        timeout,
        'put',
      )
      if (pin) await b.pinLocal(built.cid)
      b.log.info(
        { cid: built.cid.toString(), size: built.size, chunks: built.chunks, ms: Date.now() - started, wait },
        'put',
      )
      sendJson(res, 200, { cid: built.cid.toString(), size: built.size, chunks: built.chunks })
    } catch (err) {
      req.resume() // drain what the client still sends so it can read our answer
      throw err
    }
  }

  /** What both ways of reading a file need: its manifest, the range asked for, and a block source that stops when the client goes. */
  const openRead = async (req: IncomingMessage, u: URL, root: CID) => {
    const timeout = intParam(u, 'timeout')
    const ac = new AbortController()
    req.on('close', () => ac.abort(new Error('client went away')))
    const getBlock = (c: CID) => withTimeout(b.getBlock(c, ac.signal), timeout, `fetching ${c}`)
    const manifest = await getManifest(root, getBlock)
    const offset = intParam(u, 'offset', 0)!
    if (offset > manifest.size)
      throw new BadRequestError(`offset ${offset} is past the end (${manifest.size} bytes)`)
    const length = Math.min(intParam(u, 'length', manifest.size - offset)!, manifest.size - offset)
    // the blocks of the range, in order, GET_WINDOW fetched ahead; verified by getBlock
    const blocks = () =>
      readFile(root, getBlock, { offset, length, concurrency: GET_WINDOW, trustBlocks: true })
    return { ac, manifest, length, blocks }
  }

  const getFile = async (req: IncomingMessage, res: ServerResponse, u: URL, root: CID): Promise<void> => {
    const { ac, manifest, length, blocks } = await openRead(req, u, root)
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': length,
      'x-swarmstore-size': manifest.size,
    })
    try {
      for await (const bytes of blocks()) {
        if (!res.write(bytes)) await new Promise<void>((resolve) => res.once('drain', resolve))
        if (ac.signal.aborted) return
      }
      res.end()
    } catch (err) {
      // Midway: the status line is gone; cutting the connection short of content-length tells the client.
      b.log.warn({ cid: root.toString(), err: (err as Error).message }, 'get failed midway')
      res.destroy(err as Error)
    }
  }

  /**
   * The file written by the daemon itself into a temp file the client created on this machine
   * (`get -o` on the daemon's own host): the bytes do not cross the API connection, which costs
   * both processes more CPU than the write (a 256 MiB get: CLI 1.2 CPU-s streaming). Only a file
   * that proves it was made for this request is written: an absolute path named
   * `*.swarmstore-tmp-*`, opened without following a symlink, a regular file owned by the daemon's
   * own user, holding exactly the request's nonce. Anything else is NOT_LOCAL (409) and the client
   * streams instead, as it does from a daemon on another machine. Answer: NDJSON progress lines
   * `{"written":N}`, then `{"done":true,"size":N}` once the data is fsync'd, or `{"error":{…}}`.
   */
  const writeFileTo = async (req: IncomingMessage, res: ServerResponse, u: URL, root: CID): Promise<void> => {
    const path = u.searchParams.get('path') ?? ''
    const nonce = u.searchParams.get('nonce') ?? ''
    if (!NONCE_HEX.test(nonce)) throw new BadRequestError('nonce must be 32 hex digits')
    if (!isAbsolute(path) || !basename(path).includes('.swarmstore-tmp-')) {
      throw new BadRequestError('path must be an absolute path to a *.swarmstore-tmp-* file')
    }
    const handle = await openClientFile(path, nonce)
    try {
      const { ac, manifest, length, blocks } = await openRead(req, u, root)
      await handle.truncate(0)
      res.writeHead(200, {
        'content-type': 'application/x-ndjson',
        'x-swarmstore-size': manifest.size,
        'x-swarmstore-length': length,
      })
      const line = (o: unknown) => res.write(`${JSON.stringify(o)}\n`)
      // past the page cache when the file system allows it (see DirectWriter); else buffered, with
      // writeback started as it goes
      const direct = await DirectWriter.open(handle)
      const sync = new BackgroundSync(handle)
      let written = 0
      let reported = 0
      try {
        for await (const bytes of blocks()) {
          if (ac.signal.aborted) {
            await direct?.abort()
            return
          }
          if (direct) {
            await direct.write(bytes)
            written += bytes.byteLength
          } else {
            for (let o = 0; o < bytes.byteLength; ) {
              const r = await handle.write(bytes, o, bytes.byteLength - o, written)
              o += r.bytesWritten
              written += r.bytesWritten
            }
            sync.wrote(bytes.byteLength)
          }
          // written (or copied into the staging buffer): nothing holds these bytes any more
          b.release?.(bytes)
          if (written - reported >= WRITE_PROGRESS_EVERY) {
            reported = written
            line({ written })
          }
        }
        await direct?.finish()
        await sync.settle()
        await handle.sync()
        line({ done: true, size: written })
        res.end()
      } catch (err) {
        // Midway: the status line is gone; the error goes as the last line, and the client discards the file.
        await direct?.abort()
        await sync.settle().catch(() => {})
        const code = errorCode(err)
        b.log.warn({ cid: root.toString(), err: (err as Error).message }, 'get to a file failed midway')
        line({ error: { code: PUBLIC_CODE[code] ?? code, message: (err as Error).message } })
        res.end()
      }
    } finally {
      await handle.close().catch(() => {})
    }
  }

  const stat = async (res: ServerResponse, u: URL, root: CID): Promise<void> => {
    const timeout = intParam(u, 'timeout')
    const getBlock = (c: CID) => withTimeout(b.getBlock(c), timeout, `fetching ${c}`)
    const manifest = await getManifest(root, getBlock)
    const all: CID[] = []
    for await (const c of fileBlocks(root, getBlock)) all.push(c)
    // sizes of data chunks from the manifests' links
    const sizes = new Map<string, number>()
    const dataCids = all.filter((c) => c.code === 0x55)
    const manifestCids = all.filter((c) => c.code !== 0x55)
    for (const mc of manifestCids) {
      const m = await getManifest(mc, getBlock)
      if (m.depth === 0) for (const l of m.links) sizes.set(l.cid.toString(), l.size)
    }
    const holders = await b.holders(all)
    sendJson(res, 200, {
      cid: root.toString(),
      size: manifest.size,
      chunks: dataCids.map((c) => ({
        cid: c.toString(),
        key: keyToHex(keyForCid(c)),
        size: sizes.get(c.toString()) ?? null,
        holders: holders.get(c.toString()) ?? [],
      })),
      manifests: manifestCids.map((c) => ({ cid: c.toString(), holders: holders.get(c.toString()) ?? [] })),
    })
  }

  // Expect: 100-continue (the CLI sends it on uploads): refuse a wrong token before any body moves.
  server.on('checkContinue', (req, res) => {
    if (!authorised(req)) {
      sendJson(res, 401, UNAUTHORIZED_BODY)
      return
    }
    res.writeContinue()
    server.emit('request', req, res)
  })

  // Uploads can be long; the API never times out a body on its own (the client sets --timeout).
  server.requestTimeout = 0
  server.headersTimeout = 30_000
  return server
}
