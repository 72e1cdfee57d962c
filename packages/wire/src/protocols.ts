import { BadSwarmNameError } from './errors.js'

/**
 * Protocol ids carry the swarm's name and a major version only: libp2p matches ids exactly, so a
 * daemon of another swarm (or another major) never even negotiates a stream with us. Minor
 * changes are negotiated inside messages (the `v` field of every request).
 */
export const PROTOCOL_MAJOR = 1
/**
 * Minor version of the message schemas, sent in every request. 1: `has` may carry `held` (send
 * it only to a peer whose requests said v ≥ 1; a v0 peer refuses unknown fields).
 */
export const PROTOCOL_MINOR = 1

export const DEFAULT_SWARM = 'swarmstore-default'

const SWARM_RE = /^[a-z0-9_-]{1,32}$/

export function assertSwarmName(name: string): void {
  if (!SWARM_RE.test(name)) throw new BadSwarmNameError(name)
}

export type ProtocolName = 'kad' | 'chunk' | 'kv'

export function protocolId(swarm: string, name: ProtocolName): string {
  assertSwarmName(swarm)
  return `/swarmstore/${swarm}/${name}/${PROTOCOL_MAJOR}`
}

/**
 * The session variant of a protocol: the same messages and framing, but a stream carries a series
 * of request/reply exchanges (one at a time) instead of exactly one, so a busy pair of peers does
 * not pay a stream opening, a protocol negotiation and a fresh flow-control window per request.
 * A peer that does not know it is asked on the one-request protocol instead.
 */
export function sessionProtocolId(protocol: string): string {
  // /swarmstore/<swarm>/<name>/<major> → /swarmstore/<swarm>/<name>-session/<major>
  const i = protocol.lastIndexOf('/')
  return `${protocol.slice(0, i)}-session${protocol.slice(i)}`
}
