/**
 * ReplicaNode: every decision one node makes about chunk replicas, as a deterministic state
 * machine (sans-I/O). The daemon runs it through one adapter over libp2p and its chunk store; the
 * simulator runs the same class over simulated links, disks and time.
 *
 * ## Contract
 *
 * Input — each call passes the current time `now` (ms, any monotonic origin):
 * - the local store: `stored` (a chunk is durable here), `lost` (our copy is gone or corrupt);
 * - peers: `peerHolds` (a peer told us it holds chunks), `lacks` (a peer lacks one);
 * - membership: `memberUp`, `memberDown`;
 * - callers: `put` (an acknowledged write of a chunk), `read` (a verified read), `cancelRead`;
 * - replies: `replied(id, reply)` answers the request or lookup that action `id` asked for —
 *   exactly once per id (a timeout is a reply: `{t:'failed', timeout:true}`);
 * - time: `tick(now)` whenever `nextWakeAt()` has come.
 *
 * Output — `takeActions()` after any input: the requests to send (`send`, `lookup`), the local
 * changes to make (`drop`, `verify-local`), the answers to callers (`put-*`, `read-*`), and
 * `peer-failed` for routing. `nextWakeAt()` is when to call `tick` next (undefined: only on input).
 *
 * Nothing here reads a clock, sets a timer, awaits I/O or draws a random number: given the same
 * inputs it emits the same actions, so a simulator seed replays a run exactly.
 *
 * ## Decisions (where each lives)
 * - put quorum and the uploader's fanout (W or R copies, the holders fill to R): `replica/puts.ts`
 * - read plan, hedging and its budget, latency average, stalled holders, read repair targets:
 *   `replica/reads.ts`
 * - healing — placement, gaps, grace, repair turns, handoff and drop rules: `HealingPlanner`;
 *   fresh co-holder checks, gap rechecks, handoff staggers, ask-before-send, one push in flight at
 *   the repair rate: `replica/healing.ts`
 * - anti-entropy sessions with the nearest members: `replica/audit.ts`
 *
 * ## Invariants (checked by the simulation, packages/replication/test/sim)
 * - A put is acknowledged only after W distinct members reported the chunk durable.
 * - A copy is dropped only when this node is outside the chunk's placement and every placement
 *   member confirmed a durable copy to it.
 * - With healing, an acknowledged chunk keeps a live copy while fewer than R of its holders are
 *   lost at once, and placement converges to the R closest live members once churn stops.
 */
import type { Contact, Key } from '@swarmstore/core'
import type { RangeSummarySource } from './anti-entropy.js'
import { DEFAULT_REPLICAS, DEFAULT_WRITE_QUORUM } from './constants.js'
import { HealingPlanner } from './healing-planner.js'
import { MemberRing } from './member-ring.js'
import { ReplicaAudit } from './replica/audit.js'
import { ReplicaHealing } from './replica/healing.js'
import { Outbox } from './replica/outbox.js'
import { ReplicaPuts } from './replica/puts.js'
import { ReplicaReads } from './replica/reads.js'
import type { ReplicaAction, ReplicaReply } from './replica/types.js'

export type { ReplicaAction, ReplicaReply, ReplicaRequest } from './replica/types.js'

/**
 * A holder waits this long per holder whose repair turn comes before its own before it fills a
 * gap: long enough for the first to work through its part of a dead member's share at the repair
 * rate (a gap filled once, not twice), short next to the audit.
 */
export const REPAIR_STAGGER_MS = 8_000

export interface ReplicaNodeInit {
  self: Contact
  replicas?: number
  writeQuorum?: number
  /** this node takes no copies (capacity 0, a gateway) */
  selfFull?: boolean
  /** bytes per second of repair and handoff pushes from this node */
  repairBytesPerSecond: number
  /** the size pacing assumes for a chunk it was not told the size of; default 1 MiB */
  chunkBytes?: number
  /** grace window before re-replicating around a dead member (see HealingPlanner) */
  graceMs?: number
  staggerMs?: number
  /** anti-entropy sessions this often (needs `index`); 0 or absent = none */
  auditIntervalMs?: number
  index?: RangeSummarySource
  /** members that advertise no free capacity (membership metadata) */
  isAdvertisedFull?: (peerId: string) => boolean
  /** members under suspicion: reads ask them last */
  isSuspect?: (peerId: string) => boolean
  isPinned?: (key: Key) => boolean
  /**
   * The live view, when the caller keeps it itself (a simulation sharing one view among a thousand
   * nodes): memberUp/memberDown then only re-plan. Default: the node's own view, self included.
   */
  view?: MemberRing
}

export interface ReplicaNodeStats {
  /** puts not yet settled (acknowledged at W, still making copies) */
  replicating: number
  reading: number
  underReplicated: number
  hedges: number
  repairsSent: number
  repairBytes: number
  antiEntropy: { sessions: number; requests: number; gapsFound: number }
}

export class ReplicaNode {
  readonly self: Contact
  readonly view: MemberRing
  readonly planner: HealingPlanner
  private readonly out = new Outbox()
  private readonly reads: ReplicaReads
  private readonly puts: ReplicaPuts
  private readonly healing: ReplicaHealing
  private readonly audit: ReplicaAudit | undefined
  private now = 0

  constructor(init: ReplicaNodeInit) {
    const replicas = init.replicas ?? DEFAULT_REPLICAS
    const isAdvertisedFull = init.isAdvertisedFull ?? (() => false)
    const clock = { now: () => this.now }
    this.self = init.self
    this.view = init.view ?? new MemberRing([init.self])
    this.planner = new HealingPlanner({
      self: init.self,
      view: this.view,
      replicas,
      ...(init.graceMs !== undefined ? { graceMs: init.graceMs } : {}),
      staggerMs: init.staggerMs ?? REPAIR_STAGGER_MS,
      isFull: (c) => c.peerId !== init.self.peerId && isAdvertisedFull(c.peerId),
      ...(init.isPinned ? { isPinned: init.isPinned } : {}),
    })
    this.reads = new ReplicaReads(this.out, {
      self: init.self,
      replicas,
      isSuspect: init.isSuspect ?? (() => false),
    })
    this.puts = new ReplicaPuts(this.out, {
      self: init.self,
      replicas,
      writeQuorum: init.writeQuorum ?? DEFAULT_WRITE_QUORUM,
      selfFull: init.selfFull ?? false,
      isAdvertisedFull,
    })
    this.healing = new ReplicaHealing(this.out, {
      self: init.self,
      view: this.view,
      ownsView: init.view === undefined,
      planner: this.planner,
      repairBytesPerSecond: init.repairBytesPerSecond,
      chunkBytes: init.chunkBytes ?? 1 << 20,
      handoffStaggerMs: init.staggerMs ?? REPAIR_STAGGER_MS,
      clock,
    })
    if (init.index !== undefined && (init.auditIntervalMs ?? 0) > 0) {
      this.audit = new ReplicaAudit(this.out, {
        self: init.self,
        view: this.view,
        planner: this.planner,
        replicas,
        index: init.index,
        intervalMs: init.auditIntervalMs ?? 0,
        clock,
        onGaps: (now) => this.healing.requestPlan(now),
      })
    }
  }

  /** Starts the anti-entropy schedule. Register chunks already on disk with `stored` first. */
  start(now: number): void {
    this.at(now)
    this.audit?.start(now)
  }

  /**
   * A chunk is durable here. `fresh` (default): its co-holders are unknown and are asked once
   * storing pauses; `knownHolders` are peers known to hold it too.
   */
  stored(
    key: Key,
    now: number,
    opts: { size?: number; knownHolders?: Iterable<string>; fresh?: boolean } = {},
  ): void {
    this.at(now)
    this.healing.hold(key, now, opts)
  }

  /** Our copy is gone (quarantined as corrupt, deleted, unreadable). */
  lost(key: Key, now: number): void {
    this.at(now)
    this.healing.release(key)
  }

  /** A peer said it holds these (its co-holder check, or its ask before a push). */
  peerHolds(peerId: string, keys: readonly Key[], now: number): void {
    this.at(now)
    this.healing.peerHolds(peerId, keys, now)
  }

  /** A peer lacks a good copy of key. */
  lacks(key: Key, peerId: string, now: number): void {
    this.at(now)
    this.healing.lacks(key, peerId, now)
  }

  /** A member is alive (new, back, restarted, or its metadata changed); `ask` it about its chunks. */
  memberUp(c: Contact, opts: { ask: boolean }, now: number): void {
    this.at(now)
    if (c.peerId === this.self.peerId) return
    this.healing.memberUp(c, opts.ask, now)
  }

  memberDown(c: Contact, now: number): void {
    this.at(now)
    this.healing.memberDown(c, now)
  }

  /** Starts put `op` of key: `fanout` copies from here (W ≤ fanout ≤ R). */
  put(op: number, key: Key, fanout: number, now: number): void {
    this.at(now)
    this.puts.start(op, key, fanout, now)
  }

  /** Starts read `op` of key, first over `local` (the routing table's closest; may be empty). */
  read(op: number, key: Key, local: readonly Contact[], now: number): void {
    this.at(now)
    this.reads.start(op, key, local, now)
  }

  cancelRead(op: number): void {
    this.reads.cancel(op)
  }

  /** The answer to action `id`; false when `id` is unknown (never sent, or answered already). */
  replied(id: number, reply: ReplicaReply, now: number): boolean {
    this.at(now)
    return this.out.reply(id, reply, now)
  }

  tick(now: number): void {
    this.at(now)
    this.reads.tick(now)
    this.audit?.tick(now)
    this.healing.tick(now)
  }

  takeActions(): ReplicaAction[] {
    return this.out.take()
  }

  nextWakeAt(): number | undefined {
    let t: number | undefined
    for (const x of [this.reads.nextWakeAt(), this.healing.nextWakeAt(), this.audit?.nextWakeAt()]) {
      if (x !== undefined && (t === undefined || x < t)) t = x
    }
    return t
  }

  stats(): ReplicaNodeStats {
    return {
      replicating: this.puts.size,
      reading: this.reads.size,
      underReplicated: this.planner.underReplicated(),
      hedges: this.reads.hedges,
      repairsSent: this.healing.repairsSent,
      repairBytes: this.healing.repairBytes,
      antiEntropy: {
        sessions: this.audit?.sessions ?? 0,
        requests: this.audit?.requests ?? 0,
        gapsFound: this.audit?.gaps ?? 0,
      },
    }
  }

  private at(now: number): void {
    if (now > this.now) this.now = now
  }
}
