/**
 * Tunables, defaulting to HashiCorp memberlist's LAN profile (DefaultLANConfig). Every field is
 * optional in MembershipInit; README.md documents the profile and how the derived timeouts scale.
 */

export interface MembershipTimings {
  /** Time between probe rounds (memberlist ProbeInterval). Default 1000 ms. */
  probeIntervalMs: number
  /** Wait for a direct ack before trying indirect probes (ProbeTimeout). Default 500 ms. */
  probeTimeoutMs: number
  /** Members asked to probe indirectly (IndirectChecks). Default 3. */
  indirectChecks: number
  /** Suspicion timeout multiplier (SuspicionMult): min = mult × max(1, log10 n) × probeInterval. Default 4. */
  suspicionMult: number
  /** Max suspicion timeout = this × min, used while no one confirms (SuspicionMaxTimeoutMult). Default 6. */
  suspicionMaxTimeoutMult: number
  /** Retransmits of one update = mult × ceil(log10(n + 1)) (RetransmitMult). Default 4. */
  retransmitMult: number
  /** Gossip tick while updates are queued (GossipInterval). Default 200 ms. 0 disables the tick. */
  gossipIntervalMs: number
  /** Members gossiped to per tick (GossipNodes). Default 3. */
  gossipNodes: number
  /** Full-state push/pull with a random member (PushPullInterval), scaled up above 32 members. Default 30 s. */
  pushPullIntervalMs: number
  /** Push/pull with a random dead (not left) member, so partitions heal. Default 10 s. 0 disables. */
  reconnectIntervalMs: number
  /** Dead/left members are forgotten after this (then they may rejoin as new). Default 1 h. */
  deadRetentionMs: number
  /** Lifeguard: local health score is capped at this minus 1 (AwarenessMaxMultiplier). Default 8. */
  awarenessMaxMultiplier: number
  /** Updates piggybacked per message (≤ MAX_UPDATES_PER_MESSAGE). Default 16. */
  maxPiggyback: number
  /** Timeout of a push/pull (sync) request (memberlist TCPTimeout is 10 s). Default 5000 ms. */
  syncTimeoutMs: number
  /** Members a leave is announced to directly, besides gossip. Default 3. */
  leaveFanout: number
  /** Longest wait for the leave announcement's acks. Default 2000 ms. */
  leaveTimeoutMs: number
  /** Members (any state) we keep at most; beyond it, unknown members are ignored. Default 10 000. */
  maxMembers: number
}

/** memberlist DefaultLANConfig values (and our choices where memberlist has no equivalent). */
export const LAN_PROFILE: Readonly<MembershipTimings> = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  pushPullIntervalMs: 30_000,
  reconnectIntervalMs: 10_000,
  deadRetentionMs: 3_600_000,
  awarenessMaxMultiplier: 8,
  maxPiggyback: 16,
  syncTimeoutMs: 5000,
  leaveFanout: 3,
  leaveTimeoutMs: 2000,
  maxMembers: 10_000,
})

/** min suspicion timeout for a swarm of n members (memberlist suspicionTimeout). */
export function suspicionTimeoutMs(t: MembershipTimings, n: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)))
  return Math.round(t.suspicionMult * nodeScale * t.probeIntervalMs)
}

/** How many times each update is piggybacked (memberlist retransmitLimit). */
export function retransmitLimit(t: MembershipTimings, n: number): number {
  return t.retransmitMult * Math.ceil(Math.log10(n + 1))
}

/** Push/pull interval grows with log2(n) above 32 members, so sync traffic stays flat (pushPullScale). */
export function pushPullIntervalMs(t: MembershipTimings, n: number): number {
  if (n <= 32) return t.pushPullIntervalMs
  const mult = Math.ceil(Math.log2(n) - Math.log2(32)) + 1
  return t.pushPullIntervalMs * mult
}
