/**
 * The plain-data vocabulary of membership. Every message is a JSON-compatible object (strings,
 * finite numbers, booleans, arrays, plain objects), so an adapter can put it on any wire; inbound
 * data must pass `validateMessage` (or `decodeMessage`) before it reaches the state machine.
 */

/** A member's identity: the libp2p peer id string in the daemon, a node id in the simulator. */
export type MemberId = string

/**
 * alive: answering probes. suspect: missed a probe (direct and indirect); it may refute.
 * dead: the suspicion timed out. left: announced a graceful leave.
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left'

/**
 * Incarnations order a member's own statements about itself. Compared lexicographically:
 * a higher `epoch` (chosen by the caller at process start, e.g. its start time in ms, or a counter
 * it persists) beats any counter of an earlier epoch, so a restarted member is never ignored as
 * dead even if it forgot its counter. `counter` is bumped to refute a suspicion and on a metadata
 * change.
 */
export interface Incarnation {
  readonly epoch: number
  readonly counter: number
}

/** What a member advertises about itself; bounded (see limits.ts). */
export interface MemberMeta {
  /** Multiaddrs (strings) to dial the member at. */
  readonly addrs: readonly string[]
  /** Free storage capacity in bytes (replication skips full nodes). */
  readonly capacityFree: number
  /** Swarm settings the member runs with (e.g. { r: '3', w: '2', chunkSize: '1048576' }). */
  readonly settings: Readonly<Record<string, string>>
  /** Software version, e.g. '0.1.0'. */
  readonly version: string
}

/** One gossiped fact: "member `id` is in `state` at `incarnation`". */
export interface MemberUpdate {
  readonly id: MemberId
  readonly state: MemberState
  readonly incarnation: Incarnation
  /** Present with `alive` (and in full-state sync for every state we know it for). */
  readonly meta?: MemberMeta
  /** For `suspect`/`dead`: who accused (Lifeguard counts independent suspicions). */
  readonly from?: MemberId
}

/** Direct probe. The receiver answers `ack` if it is `target`, else `nack` (misdirected). */
export interface PingMessage {
  readonly type: 'ping'
  readonly target: MemberId
  readonly updates: readonly MemberUpdate[]
}

/** Ask the receiver to probe `target` for us within `timeoutMs`; it answers `ack` or `nack`. */
export interface PingReqMessage {
  readonly type: 'ping-req'
  readonly target: MemberId
  readonly timeoutMs: number
  readonly updates: readonly MemberUpdate[]
}

export interface AckMessage {
  readonly type: 'ack'
  readonly updates: readonly MemberUpdate[]
}

/** Lifeguard: the intermediary is alive but the target did not answer it in time. */
export interface NackMessage {
  readonly type: 'nack'
  readonly updates: readonly MemberUpdate[]
}

/** Push-pull: the requester sends its full state; the reply (also `sync`) carries the receiver's. */
export interface SyncMessage {
  readonly type: 'sync'
  /** True on the first contact of a joining member. */
  readonly join: boolean
  readonly members: readonly MemberUpdate[]
}

/** Pure dissemination (gossip tick, leave announcement); answered with `ack`. */
export interface GossipMessage {
  readonly type: 'gossip'
  readonly updates: readonly MemberUpdate[]
}

export type MembershipMessage =
  | PingMessage
  | PingReqMessage
  | AckMessage
  | NackMessage
  | SyncMessage
  | GossipMessage

/**
 * What the state machine needs from the network: one request, one reply, within a deadline.
 * The adapter (libp2p stream, simulator) frames, bounds and times out; it rejects (with any
 * error) when there is no valid reply within `timeoutMs`, a whole number of milliseconds ≥ 1 (so
 * an adapter can hand it to `AbortSignal.timeout`, which refuses fractions). The peer identity of inbound messages
 * comes from the transport (the authenticated remote peer), never from the message.
 */
export interface MembershipNetwork {
  request(to: MemberId, msg: MembershipMessage, timeoutMs: number): Promise<MembershipMessage>
}

/** A snapshot of one member as this node sees it. */
export interface MemberInfo {
  readonly id: MemberId
  readonly state: MemberState
  readonly incarnation: Incarnation
  readonly meta: MemberMeta
  /** Clock time of the last state change. */
  readonly since: number
}

export type MembershipEventType = 'alive' | 'suspect' | 'dead' | 'left' | 'updated'

/**
 * alive: a member is new, or came back (refuted a suspicion, rejoined after dead/left).
 * suspect: it missed probes; it is still a member. dead: the suspicion timed out.
 * left: it announced a graceful leave. updated: an alive member changed its metadata or restarted.
 */
export interface MembershipEvent {
  readonly type: MembershipEventType
  readonly member: MemberInfo
}

export type MembershipListener = (event: MembershipEvent) => void

/** The routing table's liveness seam. */
export interface LivenessSeam {
  onAlive(peerId: MemberId): void
  onDead(peerId: MemberId): void
}
