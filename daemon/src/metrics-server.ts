import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { NodeStatus } from './node-status.js'

export interface MetricsServerComponents {
  status: Pick<NodeStatus, 'metrics'>
}

export interface MetricsServerInit {
  /** `host:port` to serve `GET /metrics` on without a token; null = no such listener (the default) */
  listen: string | null
}

/**
 * A read-only listener for Prometheus: `GET /metrics` and nothing else, no token. Apart from the
 * control API so a scraper never holds the admin token (which can put, read and scrub); what it
 * exposes is counts and sizes, no CID, key or peer address. Bind it to an address only the scraper
 * reaches: anyone who reaches it reads the numbers.
 */
export class MetricsServer {
  private readonly status: MetricsServerComponents['status']
  private readonly listen: string | null
  private server: Server | undefined
  /** `http://host:port`, once started (empty when not configured) */
  url = ''

  constructor(components: MetricsServerComponents, init: MetricsServerInit) {
    this.status = components.status
    this.listen = init.listen
  }

  async start(): Promise<void> {
    if (this.listen === null) return
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n')
        return
      }
      this.status.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      )
    })
    server.headersTimeout = 10_000
    server.requestTimeout = 30_000
    const i = this.listen.lastIndexOf(':')
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(Number(this.listen!.slice(i + 1)), this.listen!.slice(0, i).replace(/^\[|\]$/g, ''), () =>
        resolve(),
      )
    })
    this.server = server
    const addr = server.address() as AddressInfo
    this.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
  }

  async stop(): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
