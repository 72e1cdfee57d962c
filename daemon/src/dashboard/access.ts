import { randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Who may read the dashboard without the bearer token. The contract:
 * - a code is minted with the token (`POST /v1/dashboard/code`), is used at most once, and lives at
 *   most CODE_TTL_MAX_MS; redeeming it makes a session;
 * - a session is a random 128-bit id in an HttpOnly, SameSite=Strict cookie; it expires after
 *   SESSION_TTL_MS and only ever authorises GETs of read-only routes (the server decides which);
 * - both are held in memory: a restart ends every session, and nothing is written to disk.
 * Time comes from `now`, so a test can age a code without waiting.
 */
export const CODE_TTL_MAX_MS = 60_000
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000
/** codes and sessions alive at once: a loop minting codes cannot grow memory without bound */
const MAX_LIVE = 256
export const SESSION_COOKIE = 'swarmstore_dashboard'

export interface DashboardAccessInit {
  /** how long a code lives; at most (and by default) CODE_TTL_MAX_MS */
  codeTtlMs?: number
  now?: () => number
  random?: (bytes: number) => Buffer
}

export class DashboardAccess {
  private readonly codeTtlMs: number
  private readonly now: () => number
  private readonly random: (bytes: number) => Buffer
  /** code → expiry; deleted when redeemed */
  private readonly codes = new Map<string, number>()
  /** session id → expiry */
  private readonly sessions = new Map<string, number>()

  constructor(init: DashboardAccessInit = {}) {
    this.codeTtlMs = Math.min(init.codeTtlMs ?? CODE_TTL_MAX_MS, CODE_TTL_MAX_MS)
    this.now = init.now ?? Date.now // io-edge: the server's clock by default
    this.random = init.random ?? randomBytes
  }

  mintCode(): { code: string; expiresAt: number } {
    this.sweep()
    const code = this.random(16).toString('base64url')
    const expiresAt = this.now() + this.codeTtlMs
    this.codes.set(code, expiresAt)
    return { code, expiresAt }
  }

  /**
   * A session id for a live code, which is spent whether or not it was still in time; undefined for
   * anything else. Compared in constant time against every live code, so the answer's timing says
   * nothing about how much of a guess was right.
   */
  redeem(candidate: string): string | undefined {
    const got = Buffer.from(candidate)
    let match: string | undefined
    for (const code of this.codes.keys()) {
      const want = Buffer.from(code)
      if (want.length === got.length && timingSafeEqual(want, got)) match = code
    }
    if (match === undefined) return undefined
    const expiresAt = this.codes.get(match) ?? 0
    this.codes.delete(match)
    if (this.now() > expiresAt) return undefined
    this.sweep()
    const session = this.random(16).toString('base64url')
    this.sessions.set(session, this.now() + SESSION_TTL_MS)
    return session
  }

  /** Whether a cookie's session id is one we made and has not expired. */
  validSession(id: string | undefined): boolean {
    if (id === undefined) return false
    const got = Buffer.from(id)
    let expiresAt: number | undefined
    for (const [s, exp] of this.sessions) {
      const want = Buffer.from(s)
      if (want.length === got.length && timingSafeEqual(want, got)) expiresAt = exp
    }
    return expiresAt !== undefined && this.now() <= expiresAt
  }

  /** Drops what expired, then the oldest while over MAX_LIVE. */
  private sweep(): void {
    const now = this.now()
    for (const m of [this.codes, this.sessions]) {
      for (const [k, exp] of m) if (exp < now) m.delete(k)
      while (m.size >= MAX_LIVE) m.delete(m.keys().next().value as string)
    }
  }
}

/** The session cookie's value in a Cookie header, if any. */
export function sessionFromCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim()
  }
  return undefined
}

export function sessionCookie(id: string): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}`
}
