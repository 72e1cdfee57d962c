import type { IncomingMessage, ServerResponse } from 'node:http'
import { isIP } from 'node:net'

/**
 * Checks every request makes before any route sees it, against a page in a browser being turned
 * on the API:
 * - DNS rebinding: a hostile page's name re-pointed at 127.0.0.1 reaches us with *its* name in Host.
 *   So Host must name us: an IP literal, `localhost`, or the host the API was told to listen on.
 *   The port is not checked: a container publishes the API on another port (docs/DEPLOY.md), and
 *   a rebinding attacker cannot choose the name part, which is what matters.
 * - cross-site requests: a browser sends Origin on every non-GET; it must be one of those names too
 *   (the CLI sends none). The session exchange asks more: see `sameOrigin`.
 */
export interface RequestGuardInit {
  /** the host part of `--api HOST:PORT` */
  listenHost: string
}

export interface Refusal {
  status: number
  code: string
  message: string
}

export class RequestGuard {
  private readonly listenHost: string

  constructor(init: RequestGuardInit) {
    this.listenHost = unbracket(init.listenHost).toLowerCase()
  }

  /** Why the request is refused, or undefined. */
  check(req: IncomingMessage): Refusal | undefined {
    const host = req.headers.host
    if (host === undefined || !this.ourName(host)) {
      return { status: 421, code: 'BAD_HOST', message: `Host ${host ?? '(none)'} is not this API's address` }
    }
    const origin = req.headers.origin
    if (req.method !== 'GET' && req.method !== 'HEAD' && origin !== undefined && !this.ourOrigin(origin)) {
      return { status: 403, code: 'BAD_ORIGIN', message: `requests from ${origin} are not accepted` }
    }
    return undefined
  }

  /** An Origin that is this very server as the browser reached it (the session exchange). */
  sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin
    return origin !== undefined && req.headers.host !== undefined && origin === `http://${req.headers.host}`
  }

  private ourOrigin(origin: string): boolean {
    try {
      const u = new URL(origin)
      return u.protocol === 'http:' && this.ourName(u.host)
    } catch {
      return false
    }
  }

  private ourName(hostHeader: string): boolean {
    let name: string
    try {
      name = unbracket(new URL(`http://${hostHeader}`).hostname).toLowerCase()
    } catch {
      return false
    }
    return isIP(name) !== 0 || name === 'localhost' || name === this.listenHost
  }
}

function unbracket(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h
}

/**
 * Headers on every answer: the page loads only its own script and style and may not be framed;
 * JSON is never sniffed into something else; no Referer leaves with a link.
 */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader(
    'content-security-policy',
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  )
  res.setHeader('x-content-type-options', 'nosniff')
  res.setHeader('referrer-policy', 'no-referrer')
  res.setHeader('x-frame-options', 'DENY')
}
