/**
 * SWIM membership with the Lifeguard extensions, as a deterministic state machine: it is given
 * time (Clock), randomness (Random) and a request/response network, and it is handed inbound
 * messages through `handle(from, msg)`. Nothing here touches sockets or real timers, so the same
 * code runs in the daemon and, seeded, in the simulator.
 *
 * Rules (SWIM §4–5, memberlist state.go, Lifeguard §IV):
 * - An update about a member wins if its incarnation is higher; at equal incarnation
 *   dead/left > suspect > alive. Only the member itself raises its incarnation (refutation,
 *   metadata change); a restart starts a higher epoch.
 * - A suspect update about ourselves is refuted at once by a higher incarnation.
 * - A member is declared dead by whoever's suspicion timer fires first; the timer starts long
 *   (max) and shrinks towards min = suspicionMult × max(1, log10 n) × probeInterval as
 *   independent members confirm the suspicion.
 * - A full-state sync never kills directly: a remote "dead" only makes us suspect, so the member
 *   gets a chance to refute (memberlist mergeState).
 */
import type { Clock, Random, TimerHandle } from '@swarmstore/core'
import { AWAY_SETTING, awayMsOf, MAX_AWAY_MS } from './away.js'
import { BroadcastQueue } from './broadcast-queue.js'
import {
  LAN_PROFILE,
  type MembershipTimings,
  pushPullIntervalMs,
  retransmitLimit,
  suspicionTimeoutMs,
} from './config.js'
import { InvalidMembershipMessageError, JoinFailedError, MembershipStoppedError } from './errors.js'
import { compareIncarnation, incarnationAbove } from './incarnation.js'
import { MAX_INFLIGHT_PING_REQS, MAX_SYNC_MEMBERS, MAX_UPDATES_PER_MESSAGE } from './limits.js'
import { LiveSet } from './live-set.js'
import { LocalHealth } from './local-health.js'
import { ProbeList } from './probe-list.js'
import { Suspicion } from './suspicion.js'
import type {
  Incarnation,
  LivenessSeam,
  MemberId,
  MemberInfo,
  MemberMeta,
  MemberState,
  MembershipEvent,
  MembershipEventType,
  MembershipListener,
  MembershipMessage,
  MembershipNetwork,
  MemberUpdate,
} from './types.js'
import { validateMeta } from './validate.js'

export interface MembershipComponents {
  clock: Clock
  random: Random
  network: MembershipNetwork
}

export interface MembershipInit extends Partial<MembershipTimings> {
  /** Our own member id (peer id string). */
  id: MemberId
  /**
   * Restart epoch, chosen by the caller at process start and never smaller than a previous
   * one: e.g. the start time in ms (read from the wall clock at the daemon's edge), or a persisted counter + 1.
   */
  epoch: number
  /** Starting counter within the epoch (default 0); a caller that persists `incarnation` may pass it. */
  counter?: number
  /** What we advertise; validated against the bounds in limits.ts. */
  meta: MemberMeta
}

interface Member {
  readonly id: MemberId
  state: MemberState
  incarnation: Incarnation
  meta: MemberMeta
  since: number
  /** Who declared it suspect/dead (or itself for left). */
  from?: MemberId
  suspicion?: Suspicion
}

const isLive = (s: MemberState): boolean => s === 'alive' || s === 'suspect'

export class Membership {
  readonly id: MemberId
  readonly timings: Readonly<MembershipTimings>
  private readonly clock: Clock
  private readonly random: Random
  private readonly network: MembershipNetwork
  private readonly table = new Map<MemberId, Member>()
  private readonly self: Member
  /** Other members that are alive or suspect. */
  private readonly live = new LiveSet()
  /** Other members that are dead (not left), reconnect candidates. */
  private readonly dead = new LiveSet()
  private readonly queue = new BroadcastQueue()
  private readonly probes: ProbeList
  private readonly health: LocalHealth
  private readonly listeners = new Set<MembershipListener>()
  private running = false
  private leaving = false
  private pingReqsInFlight = 0
  private probeTimer: TimerHandle | undefined
  private gossipTimer: TimerHandle | undefined
  private pushPullTimer: TimerHandle | undefined
  private reconnectTimer: TimerHandle | undefined

  constructor(components: MembershipComponents, init: MembershipInit) {
    this.clock = components.clock
    this.random = components.random
    this.network = components.network
    this.id = init.id
    const timings: MembershipTimings = { ...LAN_PROFILE }
    for (const k of Object.keys(LAN_PROFILE) as (keyof MembershipTimings)[]) {
      const v = init[k]
      if (v !== undefined) timings[k] = v
    }
    timings.maxPiggyback = Math.min(timings.maxPiggyback, MAX_UPDATES_PER_MESSAGE)
    this.timings = Object.freeze(timings)
    this.probes = new ProbeList(this.random)
    this.health = new LocalHealth(timings.awarenessMaxMultiplier)
    this.self = {
      id: init.id,
      state: 'alive',
      incarnation: { epoch: init.epoch, counter: init.counter ?? 0 },
      meta: validateMeta(init.meta),
      since: this.clock.now(),
    }
    this.table.set(this.id, this.self)
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts the probe, gossip, push/pull and reconnect loops. */
  start(): void {
    if (this.running) return
    this.running = true
    this.leaving = false
    // Suspicions cancelled by stop() resume with a fresh timer, so no member stays suspect forever.
    for (const m of this.table.values()) {
      if (m.state === 'suspect' && m !== this.self) this.startSuspicion(m, m.from ?? this.id)
    }
    this.scheduleProbe(this.random.int(this.timings.probeIntervalMs))
    this.scheduleGossip()
    this.schedulePushPull()
    this.scheduleReconnect()
  }

  /** Stops every loop and pending suspicion; inbound messages are refused afterwards. */
  stop(): void {
    this.running = false
    for (const t of [this.probeTimer, this.gossipTimer, this.pushPullTimer, this.reconnectTimer]) {
      if (t !== undefined) this.clock.clearTimer(t)
    }
    this.probeTimer = this.gossipTimer = this.pushPullTimer = this.reconnectTimer = undefined
    for (const m of this.table.values()) m.suspicion?.cancel()
  }

  get isRunning(): boolean {
    return this.running
  }

  /**
   * Joins through one or more known members (any one suffices): a full-state push/pull with
   * each. Returns the number of live members we then know (ourselves included).
   */
  async join(seeds: readonly MemberId[]): Promise<number> {
    if (!this.running) throw new MembershipStoppedError()
    let ok = 0
    let lastError: unknown
    for (const seed of seeds) {
      if (seed === this.id) continue
      try {
        const reply = await this.network.request(
          seed,
          { type: 'sync', join: true, members: this.fullState() },
          this.timings.syncTimeoutMs,
        )
        if (reply.type !== 'sync') throw new InvalidMembershipMessageError(`join reply is ${reply.type}`)
        // What the seed knows is old news to everyone else: learn it, do not re-gossip it.
        this.mergeState(seed, reply.members, false)
        ok++
      } catch (err) {
        lastError = err
      }
    }
    if (ok === 0 && seeds.some((s) => s !== this.id)) {
      throw new JoinFailedError(`could not join through any of ${seeds.length} seed(s)`, { cause: lastError })
    }
    return this.live.size + 1
  }

  /**
   * Announces a graceful leave (a `left` update at a new incarnation, pushed directly to a few
   * members and gossiped), waits for those acks or `leaveTimeoutMs`, then stops.
   */
  async leave(): Promise<void> {
    if (!this.running) return
    this.leaving = true
    this.self.incarnation = { epoch: this.self.incarnation.epoch, counter: this.self.incarnation.counter + 1 }
    this.self.state = 'left'
    this.self.from = this.id
    this.self.since = this.clock.now()
    await this.announceAndStop()
  }

  /**
   * Announces a temporary absence (a restart, an upgrade), pushed and gossiped like a leave, then
   * stops: our record stays alive, with `settings.awayMs` (AWAY_SETTING). A member that then
   * fails our probes keeps us suspect for awayMs instead of its usual suspicion timeout, so
   * nothing treats us as gone while we restart; after awayMs we are declared dead as usual. The
   * restarted member's new epoch (without the setting) ends the suspicion at once.
   */
  async pause(awayMs: number): Promise<void> {
    if (!this.running) return
    this.leaving = true // claims about us from here on are not refuted: we are going
    const away = Math.max(0, Math.min(Math.round(awayMs), MAX_AWAY_MS))
    this.self.meta = {
      ...this.self.meta,
      settings: { ...this.self.meta.settings, [AWAY_SETTING]: String(away) },
    }
    this.self.incarnation = { epoch: this.self.incarnation.epoch, counter: this.self.incarnation.counter + 1 }
    await this.announceAndStop()
  }

  /** Pushes our record to a few members directly (and gossip), waits for them or leaveTimeoutMs, stops. */
  private async announceAndStop(): Promise<void> {
    const record = this.recordOf(this.self)
    this.queue.enqueue(record)
    const targets = this.live.pick(this.timings.leaveFanout, this.random)
    await Promise.all(
      targets.map((t) =>
        this.network
          .request(t, { type: 'gossip', updates: [record] }, this.timings.leaveTimeoutMs)
          .catch(() => undefined),
      ),
    )
    this.stop()
  }

  /** Advertises new metadata (bumps our incarnation so it wins everywhere). */
  setMeta(meta: MemberMeta): void {
    this.self.meta = validateMeta(meta)
    this.self.incarnation = { epoch: this.self.incarnation.epoch, counter: this.self.incarnation.counter + 1 }
    this.queue.enqueue(this.recordOf(this.self))
  }

  // ---------------------------------------------------------------- queries

  /** Our current incarnation; a caller that persists it may pass it back as `counter` after restart. */
  get incarnation(): Incarnation {
    return this.self.incarnation
  }

  /** Lifeguard local health score, 0 (healthy) to awarenessMaxMultiplier − 1. */
  get localHealth(): number {
    return this.health.score
  }

  /** Live members (alive or suspect) including ourselves. */
  get liveCount(): number {
    return this.live.size + (this.self.state === 'alive' ? 1 : 0)
  }

  get(id: MemberId): MemberInfo | undefined {
    const m = this.table.get(id)
    return m === undefined ? undefined : this.info(m)
  }

  /** Every member we know (ourselves included), optionally only those in the given states. */
  members(states?: readonly MemberState[]): MemberInfo[] {
    const out: MemberInfo[] = []
    for (const m of this.table.values())
      if (states === undefined || states.includes(m.state)) out.push(this.info(m))
    return out
  }

  /** Subscribes to alive/suspect/dead/left/updated; returns the unsubscribe function. */
  onEvent(listener: MembershipListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Feeds routing's liveness seam: alive → onAlive, dead/left → onDead. */
  bindLiveness(seam: LivenessSeam): () => void {
    return this.onEvent((e) => {
      if (e.type === 'alive') seam.onAlive(e.member.id)
      else if (e.type === 'dead' || e.type === 'left') seam.onDead(e.member.id)
    })
  }

  // ---------------------------------------------------------------- inbound

  /**
   * Handles one validated inbound request from `from` (the transport's authenticated peer) and
   * returns the reply. `ping-req` resolves after our own probe of its target.
   */
  async handle(from: MemberId, msg: MembershipMessage): Promise<MembershipMessage> {
    if (!this.running) throw new MembershipStoppedError()
    switch (msg.type) {
      case 'ping':
        this.mergeUpdates(msg.updates)
        return { type: msg.target === this.id ? 'ack' : 'nack', updates: this.outgoing(from) }
      case 'ping-req': {
        this.mergeUpdates(msg.updates)
        const target = msg.target
        let acked = false
        if (this.pingReqsInFlight >= MAX_INFLIGHT_PING_REQS) {
          // A peer must not make us hold unboundedly many probes open; "could not tell" is honest.
        } else if (target !== this.id && target !== from) {
          this.pingReqsInFlight++
          try {
            const reply = await this.network.request(
              target,
              { type: 'ping', target, updates: this.outgoing(target) },
              msg.timeoutMs,
            )
            this.absorb(reply)
            acked = reply.type === 'ack'
          } catch {
            // no answer in time: Lifeguard says so with a nack
          } finally {
            this.pingReqsInFlight--
          }
        } else acked = target === this.id
        return { type: acked ? 'ack' : 'nack', updates: this.outgoing(from) }
      }
      case 'sync':
        // A joiner's state is just itself; a periodic sync may carry news worth spreading.
        this.mergeState(from, msg.members, !msg.join)
        return { type: 'sync', join: false, members: this.fullState() }
      case 'gossip':
        this.mergeUpdates(msg.updates)
        // No piggyback on this reply: the sender just gossiped, so it is the member most likely
        // to know our news already, and a retransmit spent on it is lost to random targets.
        return { type: 'ack', updates: [] }
      default:
        throw new InvalidMembershipMessageError(`${msg.type} is a reply, not a request`)
    }
  }

  // ---------------------------------------------------------------- probing

  private scheduleProbe(delayMs: number): void {
    this.probeTimer = this.clock.setTimer(delayMs, () => {
      this.probeTimer = undefined
      void this.probeRound()
    })
  }

  private async probeRound(): Promise<void> {
    if (!this.running) return
    const start = this.clock.now()
    const interval = this.health.scale(this.timings.probeIntervalMs)
    await this.probe(start + interval)
    if (this.running && this.probeTimer === undefined) {
      this.scheduleProbe(Math.max(0, start + interval - this.clock.now()))
    }
  }

  private async probe(deadline: number): Promise<void> {
    const target = this.probes.next(
      (id) => this.live.has(id),
      // the list inserts newcomers at random positions itself: no shuffle needed
      () => this.live.all(),
    )
    if (target === undefined) return
    const m = this.table.get(target)!
    try {
      const reply = await this.network.request(
        target,
        { type: 'ping', target, updates: this.outgoing(target) },
        this.health.scale(this.timings.probeTimeoutMs),
      )
      this.absorb(reply)
      if (reply.type === 'ack') {
        this.health.apply(-1)
        return
      }
    } catch {
      // fall through to indirect probes
    }
    if (!this.running || !isLive(m.state)) return

    const helpers = this.live.pick(this.timings.indirectChecks, this.random, [target])
    // Whole milliseconds: the daemon's clock is fractional, and the adapter's AbortSignal.timeout
    // threw on 498.96 — every ping-req failed at once, counted as three missing nacks (local health
    // +3, so suspicion 4 → 16 s), and no indirect probe ever ran in a real swarm.
    const remaining = Math.max(1, Math.floor(deadline - this.clock.now()))
    let acked = false
    let nacks = 0
    await Promise.all(
      helpers.map(async (h) => {
        try {
          const reply = await this.network.request(
            h,
            {
              type: 'ping-req',
              target,
              timeoutMs: Math.max(1, Math.floor(remaining * 0.8)),
              updates: this.outgoing(h),
            },
            remaining,
          )
          this.absorb(reply)
          if (reply.type === 'ack') acked = true
          else if (reply.type === 'nack') nacks++
        } catch {
          // a missing nack counts against our own health below
        }
      }),
    )
    if (!this.running || acked) return
    // Lifeguard: if helpers that should have nacked stayed silent, the problem is likely ours.
    this.health.apply(helpers.length > 0 ? helpers.length - nacks : 1)
    if (isLive(m.state)) {
      this.applySuspect({ id: target, state: 'suspect', incarnation: m.incarnation, from: this.id })
    }
  }

  // ---------------------------------------------------------------- dissemination

  private scheduleGossip(): void {
    if (this.timings.gossipIntervalMs <= 0) return
    this.gossipTimer = this.clock.setTimer(this.timings.gossipIntervalMs, () => {
      this.gossipTimer = undefined
      if (!this.running) return
      this.gossip()
      this.scheduleGossip()
    })
  }

  private gossip(): void {
    if (this.queue.size === 0) return
    for (const t of this.live.pick(this.timings.gossipNodes, this.random)) {
      const updates = this.outgoing(t)
      if (updates.length === 0) continue
      this.network
        .request(t, { type: 'gossip', updates }, this.timings.probeTimeoutMs)
        .then((reply) => this.absorb(reply))
        .catch(() => undefined)
    }
  }

  private schedulePushPull(): void {
    const base = pushPullIntervalMs(this.timings, this.liveCount)
    // Jitter the first and later rounds so syncs do not align across the swarm.
    const delay = Math.floor(base / 2 + this.random.int(Math.max(1, base)))
    this.pushPullTimer = this.clock.setTimer(delay, () => {
      this.pushPullTimer = undefined
      if (!this.running) return
      const [peer] = this.live.pick(1, this.random)
      if (peer !== undefined) void this.sync(peer)
      this.schedulePushPull()
    })
  }

  private scheduleReconnect(): void {
    const base = this.timings.reconnectIntervalMs
    if (base <= 0) return
    this.reconnectTimer = this.clock.setTimer(Math.floor(base / 2 + this.random.int(base)), () => {
      this.reconnectTimer = undefined
      if (!this.running) return
      this.reap()
      // A dead member may sit behind a healed partition: a sync lets both sides refute.
      const [peer] = this.dead.pick(1, this.random)
      if (peer !== undefined) void this.sync(peer)
      this.scheduleReconnect()
    })
  }

  private async sync(peer: MemberId): Promise<void> {
    try {
      const reply = await this.network.request(
        peer,
        { type: 'sync', join: false, members: this.fullState() },
        this.timings.syncTimeoutMs,
      )
      if (this.running && reply.type === 'sync') this.mergeState(peer, reply.members, true)
    } catch {
      // an unreachable peer is the prober's business, not the sync's
    }
  }

  /** Forgets members dead or left for longer than deadRetentionMs. */
  private reap(): void {
    const cutoff = this.clock.now() - this.timings.deadRetentionMs
    for (const m of [...this.table.values()]) {
      if (m !== this.self && !isLive(m.state) && m.since < cutoff) {
        this.table.delete(m.id)
        this.dead.remove(m.id)
      }
    }
  }

  /**
   * Updates to piggyback on a message to `to`. If we think `to` is suspect or dead, our record
   * of it goes first, so it can refute at once (Lifeguard's buddy system; also how a resumed or
   * healed member learns it was declared dead).
   */
  private outgoing(to: MemberId): MemberUpdate[] {
    const out: MemberUpdate[] = []
    const m = this.table.get(to)
    if (m !== undefined && (m.state === 'suspect' || m.state === 'dead')) out.push(this.recordOf(m))
    const limit = retransmitLimit(this.timings, this.liveCount)
    for (const u of this.queue.take(this.timings.maxPiggyback - out.length, limit)) {
      if (out.length > 0 && u.id === to && out[0]!.id === to) continue
      out.push(u)
    }
    return out
  }

  private absorb(reply: MembershipMessage): void {
    if (!this.running) return
    if (reply.type === 'ack' || reply.type === 'nack' || reply.type === 'gossip' || reply.type === 'ping') {
      this.mergeUpdates(reply.updates)
    }
  }

  private fullState(): MemberUpdate[] {
    const out: MemberUpdate[] = [this.recordOf(this.self)]
    for (const m of this.table.values()) if (m !== this.self && isLive(m.state)) out.push(this.recordOf(m))
    for (const m of this.table.values()) if (m !== this.self && !isLive(m.state)) out.push(this.recordOf(m))
    return out.slice(0, MAX_SYNC_MEMBERS)
  }

  private recordOf(m: Member): MemberUpdate {
    const u: { -readonly [K in keyof MemberUpdate]: MemberUpdate[K] } = {
      id: m.id,
      state: m.state,
      incarnation: m.incarnation,
      meta: m.meta,
    }
    if (m.from !== undefined && m.state !== 'alive') u.from = m.from
    return u
  }

  // ---------------------------------------------------------------- state rules

  private mergeUpdates(updates: readonly MemberUpdate[]): void {
    for (const u of updates) {
      if (u.state === 'alive') this.applyAlive(u)
      else if (u.state === 'suspect') this.applySuspect(u)
      else this.applyDead(u)
    }
  }

  /**
   * Full-state merge: a remote dead only makes us suspect (memberlist mergeState). With
   * `rebroadcast` false (joins) only the sender's own record is gossiped on: re-gossiping a whole
   * table that everyone already has would cost n² × retransmits when many members join at once.
   */
  private mergeState(from: MemberId, records: readonly MemberUpdate[], rebroadcast: boolean): void {
    for (const r of records) {
      if (r.state === 'alive') this.applyAlive(r, rebroadcast || r.id === from)
      else if (r.state === 'left' && r.from === r.id) this.applyDead(r)
      else this.applySuspect({ id: r.id, state: 'suspect', incarnation: r.incarnation, from })
    }
  }

  private applyAlive(u: MemberUpdate, rebroadcast = true): void {
    if (u.id === this.id) {
      // A claim about us at or above our incarnation (e.g. from a previous life in the same
      // epoch) must not stand: re-assert ourselves above it.
      if (!this.leaving && compareIncarnation(u.incarnation, this.self.incarnation) > 0)
        this.refute(u.incarnation, false)
      return
    }
    const meta = u.meta
    if (meta === undefined) return
    const m = this.table.get(u.id)
    if (m === undefined) {
      // A bound on the table, so a peer cannot make us remember unboundedly many invented members.
      if (this.table.size >= this.timings.maxMembers) this.reap()
      if (this.table.size >= this.timings.maxMembers) return
      const fresh: Member = {
        id: u.id,
        state: 'alive',
        incarnation: u.incarnation,
        meta,
        since: this.clock.now(),
      }
      this.table.set(u.id, fresh)
      this.live.add(u.id)
      this.probes.add(u.id)
      if (rebroadcast) this.queue.enqueue(this.recordOf(fresh))
      this.emit('alive', fresh)
      return
    }
    if (compareIncarnation(u.incarnation, m.incarnation) <= 0) return
    const prev = m.state
    const restarted = u.incarnation.epoch !== m.incarnation.epoch
    const metaChanged = JSON.stringify(meta) !== JSON.stringify(m.meta)
    m.suspicion?.cancel()
    m.suspicion = undefined
    m.incarnation = u.incarnation
    m.meta = meta
    m.from = undefined
    if (prev !== 'alive') {
      m.state = 'alive'
      m.since = this.clock.now()
      this.live.add(m.id)
      this.dead.remove(m.id)
      this.probes.add(m.id)
    }
    if (rebroadcast) this.queue.enqueue(this.recordOf(m))
    if (prev !== 'alive') this.emit('alive', m)
    else if (restarted || metaChanged) this.emit('updated', m)
  }

  private applySuspect(u: MemberUpdate): void {
    const m = this.table.get(u.id)
    if (m === undefined || compareIncarnation(u.incarnation, m.incarnation) < 0) return
    if (u.id === this.id) {
      if (!this.leaving) this.refute(u.incarnation, true)
      return
    }
    if (!isLive(m.state)) return
    const from = u.from ?? u.id
    if (m.state === 'suspect') {
      if (compareIncarnation(u.incarnation, m.incarnation) > 0) m.incarnation = u.incarnation
      if (m.suspicion?.confirm(from)) this.queue.enqueue({ ...this.recordOf(m), from })
      return
    }
    m.state = 'suspect'
    m.incarnation = u.incarnation
    m.from = from
    m.since = this.clock.now()
    this.startSuspicion(m, from)
    this.queue.enqueue(this.recordOf(m))
    this.emit('suspect', m)
  }

  private startSuspicion(m: Member, from: MemberId): void {
    m.suspicion?.cancel()
    const n = this.liveCount
    // Expect suspicionMult − 2 independent confirmations, if there are enough members to give them.
    let k = this.timings.suspicionMult - 2
    if (n - 2 < k) k = 0
    let min = this.health.scale(suspicionTimeoutMs(this.timings, n))
    let max = min * this.timings.suspicionMaxTimeoutMult
    const away = awayMsOf(m.meta)
    if (away > 0) {
      // it said it would be back: wait that long whatever others confirm
      k = 0
      min = max = Math.max(min, away)
    }
    const inc = m.incarnation
    m.suspicion = new Suspicion(this.clock, from, k, min, max, () => this.suspicionExpired(m.id, inc))
  }

  private suspicionExpired(id: MemberId, inc: Incarnation): void {
    const m = this.table.get(id)
    if (!this.running || m === undefined || m.state !== 'suspect') return
    if (compareIncarnation(m.incarnation, inc) !== 0) return
    this.applyDead({ id, state: 'dead', incarnation: m.incarnation, from: this.id })
  }

  private applyDead(u: MemberUpdate): void {
    const m = this.table.get(u.id)
    if (m === undefined || compareIncarnation(u.incarnation, m.incarnation) < 0) return
    if (u.id === this.id) {
      if (!this.leaving) this.refute(u.incarnation, true)
      return
    }
    if (!isLive(m.state)) return
    // Only the member itself may announce a leave; a relayed "left" keeps from = id.
    const state: MemberState = u.state === 'left' && u.from === u.id ? 'left' : 'dead'
    m.suspicion?.cancel()
    m.suspicion = undefined
    m.state = state
    m.incarnation = u.incarnation
    m.from = u.from ?? this.id
    m.since = this.clock.now()
    this.live.remove(m.id)
    if (state === 'dead') this.dead.add(m.id)
    this.queue.enqueue(this.recordOf(m))
    this.emit(state, m)
  }

  private refute(over: Incarnation, accused: boolean): void {
    this.self.incarnation = incarnationAbove(this.self.incarnation, over)
    // Lifeguard: being accused hints that we were slow to answer.
    if (accused) this.health.apply(1)
    this.queue.enqueue(this.recordOf(this.self))
  }

  private info(m: Member): MemberInfo {
    return { id: m.id, state: m.state, incarnation: m.incarnation, meta: m.meta, since: m.since }
  }

  private emit(type: MembershipEventType, m: Member): void {
    if (this.listeners.size === 0) return
    const event: MembershipEvent = { type, member: this.info(m) }
    for (const l of this.listeners) {
      try {
        l(event)
      } catch {
        // a consumer's bug must not corrupt the protocol state
      }
    }
  }
}
