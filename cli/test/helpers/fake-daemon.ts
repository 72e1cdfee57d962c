import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const TOKEN = 'test-token-0123456789'

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void

export interface FakeDaemon {
  url: string
  dataDir: string
  /** Every request the server got, with the body it read. */
  requests: { method: string; url: string; authorization: string | undefined; body: Buffer }[]
  close(): Promise<void>
}

/**
 * A node:http server that answers like the daemon's control API does (docs/CONTROL-API.md) for the
 * routes a test gives it, checks the bearer token as the daemon does, and writes `api` and `token`
 * into a fresh data dir. It tests the CLI's side of the contract only; the real daemon is tested
 * with real processes elsewhere.
 */
export async function startFakeDaemon(routes: Record<string, Handler>): Promise<FakeDaemon> {
  const requests: FakeDaemon['requests'] = []
  const server: Server = createServer((req, res) => {
    // what a swarmstore daemon sends on every answer; without it the CLI says "not a swarmstore API"
    res.setHeader('x-swarmstore-api', '1')
    const record = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      // Refused before the body is read, as a daemon should: the CLI must cope with an answer that
      // arrives while it is still uploading.
      requests.push({ ...record, body: Buffer.alloc(0) })
      sendError(res, 401, 'UNAUTHORIZED', 'missing or wrong bearer token')
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ ...record, body })
      const path = new URL(req.url ?? '/', 'http://x').pathname
      const handler = routes[`${req.method} ${path}`]
      if (handler === undefined) sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${path}`)
      else handler(req, res, body)
    })
  })
  // as the daemon: a wrong token on an upload with Expect: 100-continue is refused before the body
  server.on('checkContinue', (req, res) => {
    res.setHeader('x-swarmstore-api', '1')
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body: Buffer.alloc(0),
      })
      sendError(res, 401, 'UNAUTHORIZED', 'missing or wrong bearer token')
      return
    }
    res.writeContinue()
    server.emit('request', req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const dataDir = await mkdtemp(join(tmpdir(), 'swarmstore-cli-test-'))
  await writeFile(join(dataDir, 'api'), `${url}\n`)
  await writeFile(join(dataDir, 'token'), `${TOKEN}\n`, { mode: 0o600 })
  return {
    url,
    dataDir,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } })
}
