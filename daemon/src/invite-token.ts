/**
 * The join token `swarmstore invite` prints and `swarmstore join` reads: what a new node must agree
 * on with the swarm (name, R, W, chunk size, and the pre-shared key of a private swarm) and where to
 * reach it. `ssi1.` + base64url(JSON): one word to paste, versioned by its prefix.
 *
 * What it guarantees and what not: `expiresAt` is checked by `join`, which refuses a token past it.
 * Nothing on the swarm's side checks it: a swarm key copied out of a token stays valid until the
 * swarm's key is changed. A token that carries a key is a secret for as long as that key is in use.
 */
import { BadConfigError } from './errors.js'

export const INVITE_PREFIX = 'ssi1.'
/** Far more than any real token (a key is ~100 bytes, an address ~100): a bound on what is parsed. */
const MAX_TOKEN_CHARS = 16 * 1024

export interface InviteToken {
  swarm: string
  /** multiaddrs with /p2p/<id>, of the inviting node first */
  bootstrap: string[]
  replicas: number
  writeQuorum: number
  chunkSize: number
  /** the pnet swarm key file's text; absent for a public swarm */
  swarmKey?: string
  /** ISO time after which `join` refuses the token; absent = no limit */
  expiresAt?: string
}

export function encodeInvite(invite: InviteToken): string {
  return INVITE_PREFIX + Buffer.from(JSON.stringify(invite)).toString('base64url')
}

/** Parses and checks a token; a bad or expired one is a BadConfigError saying which and what to do. */
export function decodeInvite(text: string, now: number): InviteToken {
  const token = text.trim()
  if (!token.startsWith(INVITE_PREFIX) || token.length > MAX_TOKEN_CHARS) {
    throw new BadConfigError(
      `not a join token (one starts with ${INVITE_PREFIX}; get one with \`swarmstore invite\` on a member)`,
    )
  }
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(token.slice(INVITE_PREFIX.length), 'base64url').toString('utf8'))
  } catch {
    throw new BadConfigError('the join token is damaged (not base64url JSON): copy it again, whole')
  }
  const invite = checkShape(raw)
  if (invite.expiresAt !== undefined && Date.parse(invite.expiresAt) <= now) {
    throw new BadConfigError(
      `the join token expired at ${invite.expiresAt}; ask a member for a new one (\`swarmstore invite\`)`,
    )
  }
  return invite
}

function checkShape(raw: unknown): InviteToken {
  const o = (raw ?? {}) as Record<string, unknown>
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0
  const ok =
    typeof o.swarm === 'string' &&
    Array.isArray(o.bootstrap) &&
    o.bootstrap.length > 0 &&
    o.bootstrap.every((a) => typeof a === 'string') &&
    int(o.replicas) &&
    int(o.writeQuorum) &&
    int(o.chunkSize) &&
    (o.swarmKey === undefined || typeof o.swarmKey === 'string') &&
    (o.expiresAt === undefined || (typeof o.expiresAt === 'string' && !Number.isNaN(Date.parse(o.expiresAt))))
  if (!ok) throw new BadConfigError('the join token is damaged (fields missing or of the wrong type)')
  return o as unknown as InviteToken
}
