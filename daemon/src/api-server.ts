import { timingSafeEqual } from 'node:crypto'
import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { ApiContext } from './api/context.js'
import {
  drainThenClose,
  errorCode,
  intParam,
  parseCid,
  publicCode,
  sendError,
  sendJson,
  UNAUTHORIZED_BODY,
} from './api/http.js'
import { deleteKvKey, getKvGroups, getKvKey, kvKeySegment, putKvKey } from './api/kv.js'
import { leaveSwarm } from './api/leave.js'
import { putFile } from './api/put-file.js'
import { getFile } from './api/read-file.js'
import { stat } from './api/stat.js'
import { writeFileTo } from './api/write-file.js'
import type { Dashboard } from './dashboard/dashboard.js'
import { type Refusal, RequestGuard, setSecurityHeaders } from './dashboard/request-guard.js'
import { PortInUseError } from './errors.js'
import type { Handoff } from './handoff.js'
import type { Invites } from './invites.js'
import type { KvService } from './kv/service.js'
import type { NodeStatus } from './node-status.js'
import type { Scrubber } from './scrubber.js'
import type { StopRequests } from './stop-requests.js'

/** Requests in flight when the daemon stops get this long to finish before their connections close. */
const IN_FLIGHT_GRACE_MS = 5_000

export interface ApiServerComponents extends Omit<ApiContext, 'chunkSize' | 'replicas'> {
  scrubber: Pick<Scrubber, 'scrub'>
  status: Pick<NodeStatus, 'status' | 'peers' | 'id' | 'metrics'>
  invites: Pick<Invites, 'create'>
  /** where `POST /v1/stop` and the end of `POST /v1/leave` go */
  stopRequests: Pick<StopRequests, 'request'>
  /** the chunk handoff of `POST /v1/leave` */
  handoff: Pick<Handoff, 'check' | 'run'>
  /** the key-value store; absent, its routes answer 503 */
  kv?: KvService
  /** the page and its routes; absent, `/` is a 404 like any unknown path */
  dashboard?: Pick<Dashboard, 'servePublic' | 'isViewer' | 'route' | 'feed'>
}

export interface ApiServerInit {
  /** `host:port` to listen on */
  listen: string
  /** the data dir: the API's URL is written to `<dataDir>/api` for the CLI */
  dataDir: string
  /** the bearer token every request but /health must carry */
  token: string
  chunkSize: number
  /** R, reported by stat */
  replicas: number
}

/** Everything a request is answered from. */
type Api = ApiContext &
  Pick<
    ApiServerComponents,
    'scrubber' | 'status' | 'invites' | 'kv' | 'stopRequests' | 'handoff' | 'dashboard'
  >

/**
 * The control API (docs/CONTROL-API.md): HTTP on loopback, bearer token, streaming bodies both
 * ways. It listens on start (and writes its URL to `<dataDir>/api`), and closes every connection
 * on stop.
 */
export class ApiServer {
  private readonly api: Api
  private readonly listen: string
  private readonly dataDir: string
  private readonly token: string
  private server: Server | undefined
  /** `http://host:port`, once started */
  url = ''

  constructor(components: ApiServerComponents, init: ApiServerInit) {
    this.api = { ...components, chunkSize: init.chunkSize, replicas: init.replicas }
    const dashboard = components.dashboard
    if (dashboard) this.api.filePut = (cid, size) => dashboard.feed.recordPut(cid, size)
    this.listen = init.listen
    this.dataDir = init.dataDir
    this.token = init.token
  }

  async start(): Promise<void> {
    const host = this.listen.slice(0, this.listen.lastIndexOf(':'))
    const server = createApiServer(this.api, this.token, new RequestGuard({ listenHost: host }))
    const port = Number(this.listen.slice(this.listen.lastIndexOf(':') + 1))
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new PortInUseError('--api', this.listen, `${host}:0`) : err),
      )
      server.listen(port, host, () => resolve())
    })
    this.server = server
    const addr = server.address() as AddressInfo
    this.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
    try {
      await writeAtomic(join(this.dataDir, 'api'), this.url + '\n')
    } catch (err) {
      await this.stop() // a failed start is not stopped by the list: nothing is left listening
      throw err
    }
  }

  /**
   * Stops taking requests, gives those in flight IN_FLIGHT_GRACE_MS to finish (then closes their
   * connections: the client sees the connection drop), and removes the api file if it is ours.
   */
  async stop(): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    this.api.dashboard?.feed.closeClients() // event streams never end on their own
    const apiFile = join(this.dataDir, 'api')
    if ((await readFile(apiFile, 'utf8').catch(() => '')).trim() === this.url)
      await unlink(apiFile).catch(() => {})
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), IN_FLIGHT_GRACE_MS)
      server.close(() => {
        clearTimeout(force)
        resolve()
      })
      server.closeIdleConnections()
    })
  }
}

async function writeAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, text, { mode })
  await rename(tmp, file)
}

/** On every answer: how a client tells a swarmstore daemon from another server at the address it was given. */
export const API_HEADER = 'x-swarmstore-api'

/**
 * The HTTP server: the Host and Origin checks (with a guard), authentication — the bearer token, or
 * for the dashboard's read-only GETs its session cookie — then one named handler per route.
 */
export function createApiServer(api: Api, token: string, guard?: RequestGuard): Server {
  const expected = Buffer.from(`Bearer ${token}`)
  const authorised = (req: IncomingMessage): boolean => {
    const got = Buffer.from(req.headers.authorization ?? '')
    return got.length === expected.length && timingSafeEqual(got, expected)
  }
  const server = createServer((req, res) => {
    res.setHeader(API_HEADER, '1')
    setSecurityHeaders(res)
    const refused = guard?.check(req)
    if (refused) return refuse(req, res, refused)
    const u = new URL(req.url ?? '/', 'http://localhost')
    if (req.method === 'GET' && u.pathname === '/health') {
      return sendJson(res, 200, { ok: true, ready: api.isReady() })
    }
    if (api.dashboard?.servePublic(req, res, u, guard)) return
    if (!authorised(req) && !api.dashboard?.isViewer(req, u)) {
      drainThenClose(req, res)
      return sendJson(res, 401, UNAUTHORIZED_BODY)
    }
    route(api, req, res, u).catch((err) => sendError(res, err, api.log))
  })
  // Expect: 100-continue (the CLI sends it on uploads): refuse a wrong token before any body moves.
  server.on('checkContinue', (req, res) => {
    res.setHeader(API_HEADER, '1')
    setSecurityHeaders(res)
    const refused = guard?.check(req)
    if (refused) return refuse(req, res, refused)
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

function refuse(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
  drainThenClose(req, res)
  sendJson(res, r.status, { error: { code: r.code, message: r.message } })
}

/**
 * A file request that fails before its answer starts, counted under the code the client is told; the
 * handlers count their own successes and the failures that come after the status line.
 */
async function countFailure(counter: FileCounter, handle: () => Promise<void>): Promise<void> {
  try {
    await handle()
  } catch (err) {
    counter.inc({ result: publicCode(errorCode(err)) })
    throw err
  }
}

type FileCounter = ApiContext['metrics']['putsTotal']

/** Routing is a switch on method and path: a handful of endpoints need no framework. */
async function route(api: Api, req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
  const m = /^\/v1\/(files|stat)(?:\/([^/]+))?$/.exec(u.pathname)
  const w = /^\/v1\/files\/([^/]+)\/write$/.exec(u.pathname)
  if (req.method === 'POST' && w?.[1])
    return countFailure(api.metrics.getsTotal, () => writeFileTo(api, req, res, u, parseCid(w[1]!)))
  if (req.method === 'POST' && u.pathname === '/v1/files')
    return countFailure(api.metrics.putsTotal, () => putFile(api, req, res, u))
  if (req.method === 'GET' && m?.[1] === 'files' && m[2])
    return countFailure(api.metrics.getsTotal, () => getFile(api, req, res, u, parseCid(m[2]!)))
  if (req.method === 'GET' && m?.[1] === 'stat' && m[2]) return stat(api, res, u, parseCid(m[2]))
  const k = kvKeySegment(req, u)
  if (req.method === 'PUT' && k) return putKvKey(api, req, res, u, k)
  if (req.method === 'GET' && k) return getKvKey(api, res, k)
  if (req.method === 'DELETE' && k) return deleteKvKey(api, res, k)
  if (req.method === 'GET' && u.pathname === '/v1/kv/groups') return getKvGroups(api, res)
  if (req.method === 'GET' && u.pathname === '/v1/status')
    return sendJson(res, 200, await api.status.status())
  if (req.method === 'GET' && u.pathname === '/v1/peers') return sendJson(res, 200, await api.status.peers())
  if (req.method === 'GET' && u.pathname === '/v1/id') return sendJson(res, 200, api.status.id())
  if (req.method === 'POST' && u.pathname === '/v1/invite') {
    const expires = intParam(u, 'expires')
    return sendJson(res, 200, await api.invites.create(expires ? Date.now() + expires : undefined)) // io-edge
  }
  if (u.pathname.startsWith('/v1/dashboard/') && (await api.dashboard?.route(req, res, u))) return
  if (req.method === 'POST' && u.pathname === '/v1/stop') return requestStop(api, res)
  if (req.method === 'POST' && u.pathname === '/v1/leave') return leaveSwarm(api, req, res)
  if (req.method === 'POST' && u.pathname === '/v1/scrub')
    return sendJson(res, 200, await api.scrubber.scrub())
  if (req.method === 'GET' && u.pathname === '/metrics') {
    const { contentType, body } = await api.status.metrics()
    res.writeHead(200, { 'content-type': contentType })
    res.end(body)
    return
  }
  return sendJson(res, 404, {
    error: { code: 'BAD_REQUEST', message: `no endpoint ${req.method} ${u.pathname}` },
  })
}

/** `POST /v1/stop`: answers 202 with our pid, then asks the owner to stop us (a restart). */
function requestStop(api: Api, res: ServerResponse): void {
  // once the answer is out: the stop closes this very connection
  res.once('finish', () => api.stopRequests.request('restart'))
  sendJson(res, 202, { pid: process.pid, mode: 'restart' })
}
