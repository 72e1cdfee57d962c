import type { ClientRequest, IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { Readable } from 'node:stream'
import type { Connection } from './connection.js'
import { formatDuration } from './duration.js'
import { CliError, ExitCode, exitCodeForDaemonError } from './errors.js'

// node:http through require, not import: the ESM facade of node:http reads every export, and one
// of them (its WebSocket) loads undici, ~40 ms of every CLI command's start-up (cpu-prof of `id`).
const { request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof import('node:http')

export type Query = Record<string, string | number | boolean | undefined>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  query?: Query
  /** Streamed as the request body (chunked); never read into memory whole. */
  body?: Readable
  /** Called with the running count of body bytes handed to the socket. */
  onUploadProgress?: (bytes: number) => void
  /**
   * Deadline for the whole exchange, headers and body. For short JSON answers, where a daemon that
   * has not answered in that time is stuck.
   */
  deadlineMs?: number
  /**
   * Longest silence on the socket. For file bodies, whose total time grows with their size, so only a
   * connection that stops moving is given up on.
   */
  idleTimeoutMs?: number
}

/** A 2xx answer whose body the caller streams; `failure()` says why the body stopped, if the CLI stopped it. */
export interface DaemonResponse {
  res: IncomingMessage
  failure(): Error | undefined
}

/**
 * Every answer of a swarmstore daemon carries this header (docs/CONTROL-API.md): without it the
 * server at `--api` is something else (a web server, a proxy's error page), and the CLI says so
 * instead of printing its body as if it were the daemon's error.
 */
const API_HEADER = 'x-swarmstore-api'

/** The biggest error body read: error JSON is a line, and a wrong server should not make us buffer much. */
const MAX_ERROR_BODY = 64 * 1024
/** The biggest JSON answer read (a peers list of a large swarm fits easily). */
const MAX_JSON_BODY = 64 * 1024 * 1024

/**
 * The control API over node:http: one connection per request (no keep-alive pool that would hold the
 * process open after the command is done), bodies streamed both ways, errors mapped to CliError.
 */
export class DaemonClient {
  readonly connection: Connection

  constructor(connection: Connection) {
    this.connection = connection
  }

  url(path: string, query: Query = {}): URL {
    const url = new URL(path, this.connection.baseUrl)
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value))
    }
    return url
  }

  /** Sends the request; resolves with a 2xx response, rejects with a CliError for anything else. */
  request(path: string, options: RequestOptions = {}): Promise<DaemonResponse> {
    const url = this.url(path, options.query)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.connection.token !== undefined) headers.authorization = `Bearer ${this.connection.token}`
    if (options.body !== undefined) {
      headers['content-type'] = 'application/octet-stream'
      headers.expect = '100-continue'
    }

    return new Promise((resolve, reject) => {
      let failure: Error | undefined
      let settled = false
      // the path as the caller encoded it: URL parsing drops dot segments, so a key-value key `.`
      // or `..` (even as %2E) would otherwise name another path
      const target = path.startsWith('/') && !path.includes('?') ? { path: `${path}${url.search}` } : {}
      const req = httpRequest(url, { method: options.method ?? 'GET', headers, agent: false, ...target })
      const fail = (err: Error): void => {
        failure ??= err
        req.destroy(err)
      }
      const settle = (action: () => void): void => {
        if (settled) return
        settled = true
        clearTimeout(deadline)
        action()
      }

      const deadline =
        options.deadlineMs === undefined
          ? undefined
          : setTimeout(() => fail(this.timeoutError(options.deadlineMs!)), options.deadlineMs)
      if (options.idleTimeoutMs !== undefined) {
        const idle = options.idleTimeoutMs
        req.setTimeout(idle, () => fail(this.timeoutError(idle, 'no data moved for')))
      }

      req.on('error', (err) => settle(() => reject(this.networkError(failure ?? err))))
      req.on('response', (res) => {
        const status = res.statusCode ?? 0
        if (res.headers[API_HEADER] === undefined) {
          res.resume()
          req.destroy()
          settle(() =>
            reject(this.notSwarmstore(`it answered HTTP ${status} without the ${API_HEADER} header`)),
          )
          return
        }
        if (status >= 200 && status < 300) {
          // The deadline keeps running while the caller reads the body; the caller clears nothing.
          settled = true
          res.on('close', () => clearTimeout(deadline))
          resolve({ res, failure: () => failure })
          return
        }
        // An error answer that comes early (a 401 before the upload was read, say) makes the rest of
        // the upload moot: stop reading the input, and close the connection once the answer is read.
        if (options.body !== undefined) {
          options.body.unpipe(req)
          options.body.destroy()
        }
        readBody(res, MAX_ERROR_BODY).then(
          (text) => settle(() => reject(this.daemonError(status, res.statusMessage, text))),
          (err: Error) => settle(() => reject(this.networkError(failure ?? err))),
        )
        res.on('end', () => req.destroy())
      })

      const body = options.body
      if (body === undefined) {
        req.end()
        return
      }
      sendBody(req, body, options.onUploadProgress, fail)
    })
  }

  /** GET (or POST) and parse the JSON answer, all within `deadlineMs`. */
  async json<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(path, options)
    let text: string
    try {
      text = await readBody(response.res, MAX_JSON_BODY)
    } catch (err) {
      throw this.networkError(response.failure() ?? (err as Error))
    }
    try {
      return JSON.parse(text) as T
    } catch {
      throw new CliError(
        'BAD_RESPONSE',
        ExitCode.ERROR,
        `the daemon at ${this.base()} sent something not JSON`,
      )
    }
  }

  private base(): string {
    return this.connection.baseUrl
  }

  private timeoutError(ms: number, words = 'no answer within'): CliError {
    return new CliError(
      'TIMEOUT',
      ExitCode.TIMEOUT,
      `${words} ${formatDuration(ms)} from the daemon at ${this.base()}`,
    )
  }

  private notSwarmstore(why: string): CliError {
    return new CliError(
      'NOT_SWARMSTORE_API',
      ExitCode.DAEMON_NOT_RUNNING,
      `${this.base()} is not a swarmstore API (${why})`,
      { hint: 'point --api (or --data-dir) at the control API of a running `swarmstore daemon`' },
    )
  }

  private networkError(err: Error): CliError {
    if (err instanceof CliError) return err
    const code = (err as NodeJS.ErrnoException).code
    // node's HTTP parser refused the answer: whatever listens there does not speak HTTP
    if (code?.startsWith('HPE_')) return this.notSwarmstore(`its answer is not HTTP: ${err.message}`)
    if (code === 'ECONNREFUSED') {
      return new CliError(
        'DAEMON_NOT_RUNNING',
        ExitCode.DAEMON_NOT_RUNNING,
        `daemon not running at ${this.base()} (connection refused) — ${this.connection.startHint}`,
        { cause: err },
      )
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return new CliError(
        'CONNECTION_CLOSED',
        ExitCode.ERROR,
        `the daemon at ${this.base()} closed the connection`,
        { cause: err },
      )
    }
    return new CliError(
      'NETWORK',
      ExitCode.ERROR,
      `cannot reach the daemon at ${this.base()}: ${err.message}`,
      { cause: err },
    )
  }

  private daemonError(status: number, statusMessage: string | undefined, text: string): CliError {
    let code: string | undefined
    let message: string | undefined
    let details: Record<string, unknown> | undefined
    try {
      const { error, ...rest } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
      if (typeof error?.code === 'string') code = error.code
      if (typeof error?.message === 'string') message = error.message
      if (error !== undefined && Object.keys(rest).length > 0) details = rest
    } catch {
      // Not the daemon's error JSON (a proxy, or something else on the port): report the status line.
    }
    message ??=
      `HTTP ${status} ${statusMessage ?? ''}`.trim() + (text.trim() ? `: ${text.trim().slice(0, 200)}` : '')
    const exitCode = exitCodeForDaemonError(code, status)
    const hint =
      exitCode === ExitCode.UNAUTHORIZED
        ? `the token sent came from ${this.connection.tokenSource}; point --data-dir at the data dir ` +
          `of the daemon at ${this.base()}, or give its token with SWARMSTORE_TOKEN or --token-file`
        : undefined
    return new CliError(code ?? `HTTP_${status}`, exitCode, message, { hint, details })
  }
}

/**
 * Streams an upload once the daemon says go. Expect: 100-continue — the daemon checks the token
 * before we send a byte, so a refusal is an answer, not a reset mid-upload (which can lose the
 * answer). If no interim answer comes within a second (a server that ignores Expect), send anyway,
 * as RFC 9110 allows.
 */
function sendBody(
  req: ClientRequest,
  body: Readable,
  onProgress: ((bytes: number) => void) | undefined,
  fail: (err: Error) => void,
): void {
  let sent = 0
  body.on('error', (err) => {
    const message = `cannot read the input: ${err.message}`
    fail(new CliError('READ_FAILED', ExitCode.ERROR, message, { cause: err }))
  })
  let started = false
  const start = (): void => {
    if (started) return
    started = true
    clearTimeout(fallback)
    // counting starts with the sending: a 'data' listener earlier would let bytes flow away
    body.on('data', (chunk: Buffer) => {
      sent += chunk.length
      onProgress?.(sent)
    })
    body.pipe(req)
  }
  const fallback = setTimeout(start, 1000)
  req.on('continue', start)
  req.on('response', () => clearTimeout(fallback))
}

/** The body as text, refusing more than `limit` bytes. */
export async function readBody(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      res.destroy()
      throw new CliError('BAD_RESPONSE', ExitCode.ERROR, `the daemon's answer is larger than ${limit} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
