import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseCid, sendJson } from '../api/http.js'
import { BadRequestError } from '../errors.js'
import type { ReplicaAdapter } from '../replica-adapter.js'
import { DashboardAccess, sessionCookie, sessionFromCookie } from './access.js'
import { type Asset, DEFAULT_WEB_DIR, loadAssets } from './assets.js'
import { DashboardFeed, type DashboardFeedComponents, type DashboardFeedInit } from './feed.js'
import { filePlacement, keyspaceShare, type PlacementComponents } from './placement.js'
import type { RequestGuard } from './request-guard.js'

export type DashboardComponents = Omit<DashboardFeedComponents, 'replicas'> &
  Omit<PlacementComponents, 'replicas'> & { replicas: Pick<ReplicaAdapter, 'stats' | 'closest'> }

export interface DashboardInit extends DashboardFeedInit {
  /** a code's lifetime, ≤ 60 s; default: SWARMSTORE_DASHBOARD_CODE_TTL_MS (tests) or 60 s */
  codeTtlMs?: number
  /** where the built page is; default daemon/dist/web */
  webDir?: string
}

/** Routes a session cookie may GET: reads only, and not file contents. */
const VIEWER_ROUTES = /^\/v1\/(status|peers|id|stat\/[^/]+|dashboard\/(events|placement(\/[^/]+)?))$/
const MAX_EXCHANGE_BODY = 1024

/**
 * The dashboard (docs/DASHBOARD.md): its page and assets, the code-for-cookie exchange, and the
 * read-only routes behind the token or a session. The API server asks it first for the routes
 * that need no token, then whether a request without the token is a viewer's.
 */
export class Dashboard {
  readonly access: DashboardAccess
  readonly feed: DashboardFeed
  private readonly c: DashboardComponents
  private readonly r: number
  private readonly webDir: string
  private assets = new Map<string, Asset>()

  constructor(components: DashboardComponents, init: DashboardInit) {
    this.c = components
    this.r = init.replicas
    this.webDir = init.webDir ?? DEFAULT_WEB_DIR
    const envTtl = Number(process.env.SWARMSTORE_DASHBOARD_CODE_TTL_MS) // io-edge: tests shorten it
    this.access = new DashboardAccess({ codeTtlMs: init.codeTtlMs ?? (envTtl > 0 ? envTtl : undefined) })
    this.feed = new DashboardFeed(components, init)
  }

  async start(): Promise<void> {
    this.assets = await loadAssets(this.webDir)
    this.feed.start()
  }

  stop(): void {
    this.feed.stop()
  }

  /** The page, its assets and the exchange (no token needed); false: not one of these. */
  servePublic(req: IncomingMessage, res: ServerResponse, u: URL, guard: RequestGuard | undefined): boolean {
    if (req.method === 'GET' && (u.pathname === '/' || u.pathname.startsWith('/dashboard/'))) {
      this.serveAsset(res, u.pathname)
      return true
    }
    if (req.method === 'POST' && u.pathname === '/v1/dashboard/session') {
      this.exchange(req, res, guard).catch((err: Error) => {
        if (res.headersSent) res.destroy()
        else sendJson(res, 400, { error: { code: 'BAD_REQUEST', message: err.message } })
      })
      return true
    }
    return false
  }

  /** A GET of a read-only route carrying a live session cookie. */
  isViewer(req: IncomingMessage, u: URL): boolean {
    return (
      req.method === 'GET' &&
      VIEWER_ROUTES.test(u.pathname) &&
      this.access.validSession(sessionFromCookie(req.headers.cookie))
    )
  }

  /** `/v1/dashboard/*` behind the token (or, for GETs, a session); false: no such route. */
  async route(req: IncomingMessage, res: ServerResponse, u: URL): Promise<boolean> {
    if (req.method === 'POST' && u.pathname === '/v1/dashboard/code') {
      sendJson(res, 200, this.access.mintCode())
      return true
    }
    if (req.method === 'GET' && u.pathname === '/v1/dashboard/events') {
      if (!(await this.feed.subscribe(res)))
        sendJson(res, 503, { error: { code: 'UNAVAILABLE', message: 'too many dashboards open' } })
      return true
    }
    const p = /^\/v1\/dashboard\/placement(?:\/([^/]+))?$/.exec(u.pathname)
    if (req.method === 'GET' && p) {
      const share = keyspaceShare(this.c.self, this.c.liveMembers(), this.r)
      const file = p[1] ? await filePlacement(this.c, parseCid(p[1]), this.r) : null
      sendJson(res, 200, { replicas: this.r, share, file })
      return true
    }
    return false
  }

  private serveAsset(res: ServerResponse, path: string): void {
    const a = this.assets.get(path)
    if (a === undefined) {
      const built = this.assets.size > 0
      sendJson(res, built ? 404 : 503, {
        error: built
          ? { code: 'NOT_FOUND', message: `no dashboard file ${path}` }
          : { code: 'UNAVAILABLE', message: 'the dashboard is not built: run `npm run build`' },
      })
      return
    }
    res.writeHead(200, {
      'content-type': a.type,
      'content-length': a.body.byteLength,
      'cache-control': 'no-cache',
    })
    res.end(a.body)
  }

  /**
   * `POST /v1/dashboard/session` `{"code"}` from the page itself (same Origin): a live code becomes
   * a session cookie; the code is spent either way.
   */
  private async exchange(
    req: IncomingMessage,
    res: ServerResponse,
    guard: RequestGuard | undefined,
  ): Promise<void> {
    if (guard !== undefined && !guard.sameOrigin(req)) {
      req.resume()
      return sendJson(res, 403, {
        error: { code: 'BAD_ORIGIN', message: 'the code is exchanged by the page only' },
      })
    }
    const code = await readCode(req)
    const session = this.access.redeem(code)
    if (session === undefined) {
      return sendJson(res, 401, {
        error: {
          code: 'UNAUTHORIZED',
          message: 'code unknown, used or expired: run `swarmstore dashboard` again',
        },
      })
    }
    res.setHeader('set-cookie', sessionCookie(session))
    sendJson(res, 200, { ok: true })
  }
}

async function readCode(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) {
    text += chunk
    if (text.length > MAX_EXCHANGE_BODY) throw new BadRequestError('body too large')
  }
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code
    return typeof code === 'string' ? code : ''
  } catch {
    return ''
  }
}
