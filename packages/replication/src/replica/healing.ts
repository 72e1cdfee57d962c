import { type Contact, compareKeys, type Key, keyToHex, xor } from '@swarmstore/core'
import type { HealingAction, HealingPlanner, HealingReason } from '../healing-planner.js'
import type { MemberRing } from '../member-ring.js'
import { TokenBucket } from '../rate-limiter.js'
import { barrier, type Outbox } from './outbox.js'

/** Has-lists are sent in batches of at most this many keys (the wire's MAX_HAS_CIDS is 1024). */
export const HAS_BATCH = 1000
/** Chunks asked about in one "have?" right before sending them to a target. */
const HAVE_GROUP = 8
/**
 * Newly stored chunks are checked against their co-holders once storing paused this long. The
 * check tells them we hold the chunks, so it is also how a co-holder waiting out its repair
 * stagger learns that the gap it saw is filled: shorter means the swarm knows a repair is whole
 * sooner, longer means fewer, larger checks while a put streams in.
 */
const FRESH_QUIET_MS = 500
/** …or this long after the first of them, if storing never pauses. */
const FRESH_MAX_MS = 30_000
/** A fresh chunk's gaps are acted on after this even if its check never completed. */
const CHECK_GATE_MS = FRESH_MAX_MS + 15_000
/**
 * While this node waits out a stagger on some gaps it asks the gap members about them this often:
 * the holder whose turn came first may have filled them. Shorter closes gaps sooner in `status`,
 * at the cost of more has-requests during a repair.
 */
const RECHECK_MS = 2_000
/**
 * A push whose "lacks it" answer is older than this asks again right before sending: when the
 * receivers are slow (a loaded machine storing many copies), the eighth item of a group would
 * otherwise go out on an answer many seconds old, after another holder had filled the gap.
 */
const ASK_FRESH_MS = 1_000
/** A member that came up is asked about the chunks it should hold after this (its services start). */
const MEMBER_UP_ASK_MS = 1_000

export interface ReplicaHealingInit {
  self: Contact
  view: MemberRing
  /** false: the caller keeps the view current and member events only re-plan */
  ownsView: boolean
  planner: HealingPlanner
  /** bytes per second of repair and handoff pushes from this node */
  repairBytesPerSecond: number
  /** the size pacing assumes for a chunk whose size it was not told */
  chunkBytes: number
  /**
   * A non-urgent handoff waits this long per known holder nearer to the key than this node. The
   * holders inside the placement are nearer than a stray and fill a newcomer's gap in their repair
   * turns (a repair stagger apart), so with the repair stagger here a stray sends only after every
   * one of them had its turn: shorter makes a stray race them (two copies of one chunk to the
   * newcomer, seen in fault 4), longer only delays the stray's drop.
   */
  handoffStaggerMs: number
  clock: { now(): number }
}

interface Item {
  key: Key
  reason: HealingReason
}
interface Staggered {
  at: number
  to: Contact
  items: Item[]
}
interface Delivery {
  to: Contact
  /** items not yet asked about */
  items: Item[]
}
interface Push extends Item {
  to: Contact
  /** when the target last said it lacks the chunk */
  askedAt: number
  done: (now: number) => void
}

/**
 * Carries out the HealingPlanner's decisions with has/push requests: the co-holder check of fresh
 * chunks, rechecks of gaps being waited out, asking a returning member, handoff staggers, asking
 * in small groups right before sending, and one push in flight, paced by a token bucket. Every
 * push waits for the bucket; every replicate ends confirmed or failed.
 */
export class ReplicaHealing {
  private readonly out: Outbox
  private readonly init: ReplicaHealingInit
  private readonly planner: HealingPlanner
  private readonly bucket: TokenBucket
  private readonly sizes = new Map<string, number>()
  private readonly fresh = new Map<string, Key>()
  private freshSince: number | undefined
  private freshAt: number | undefined
  private recheckAt: number | undefined
  private planAt: number | undefined
  private plannerWakeAt: number | undefined
  private readonly asks: { at: number; keys: Key[]; only: string }[] = []
  /** replicates waiting out a handoff stagger */
  private readonly staggered: Staggered[] = []
  /** the delivery under way to each target */
  private readonly deliveries = new Map<string, Delivery>()
  private readonly pushes: Push[] = []
  private pushing = false
  private pushWakeAt: number | undefined
  repairsSent = 0
  repairBytes = 0

  constructor(out: Outbox, init: ReplicaHealingInit) {
    this.out = out
    this.init = init
    this.planner = init.planner
    this.bucket = new TokenBucket({
      clock: init.clock,
      ratePerSecond: init.repairBytesPerSecond,
      burst: Math.max(init.repairBytesPerSecond, 4 << 20),
    })
  }

  /** Re-plan at `now` (coalesced: one plan for all the input of one moment). */
  requestPlan(now: number): void {
    if (this.planAt === undefined || now < this.planAt) this.planAt = now
  }

  hold(
    key: Key,
    now: number,
    opts: { knownHolders?: Iterable<string>; size?: number; fresh?: boolean },
  ): void {
    const hex = keyToHex(key)
    if (opts.size !== undefined) this.sizes.set(hex, opts.size)
    if (opts.fresh === false) {
      this.planner.hold(key, opts.knownHolders ?? [])
    } else {
      this.planner.hold(key, opts.knownHolders ?? [], { checkUntil: now + CHECK_GATE_MS })
      this.fresh.set(hex, key)
      this.freshSince ??= now
      this.freshAt = Math.min(now + FRESH_QUIET_MS, this.freshSince + FRESH_MAX_MS)
    }
    this.requestPlan(now)
  }

  release(key: Key): void {
    const hex = keyToHex(key)
    this.planner.release(key)
    this.sizes.delete(hex)
    this.fresh.delete(hex)
  }

  peerHolds(peerId: string, keys: readonly Key[], now: number): void {
    if (peerId === this.init.self.peerId) return
    let any = false
    for (const k of keys) {
      if (!this.planner.holds(k)) continue
      this.planner.confirmed(k, peerId)
      any = true
    }
    if (any) this.requestPlan(now)
  }

  lacks(key: Key, peerId: string, now: number): void {
    this.planner.lacks(key, peerId)
    this.requestPlan(now)
  }

  /**
   * A member is new, came back, or restarted. Besides re-planning, with `ask` it is asked soon
   * about the held chunks it is a placement member of: a restarted node may have lost its disk,
   * and a returning one may hold copies we would otherwise re-send.
   */
  memberUp(c: Contact, ask: boolean, now: number): void {
    if (this.init.ownsView) {
      this.init.view.remove(c.peerId)
      this.init.view.add(c)
    }
    // memberJoined is false when c is outside every held chunk's placement radius: nothing to ask
    if (!this.planner.memberJoined(c)) return
    this.requestPlan(now)
    if (!ask) return
    const keys = this.planner
      .heldKeys()
      .filter((k) => this.planner.replicaState(k)?.placement.some((m) => m.peerId === c.peerId))
    if (keys.length > 0) this.asks.push({ at: now + MEMBER_UP_ASK_MS, keys, only: c.peerId })
  }

  memberDown(c: Contact, now: number): void {
    if (this.init.ownsView && this.init.view.remove(c.peerId) === undefined) return
    if (this.planner.memberLeft(c)) this.requestPlan(now)
  }

  nextWakeAt(): number | undefined {
    const times = [this.freshAt, this.recheckAt, this.planAt, this.plannerWakeAt, this.pushWakeAt]
    for (const a of this.asks) times.push(a.at)
    for (const g of this.staggered) times.push(g.at)
    let t: number | undefined
    for (const x of times) if (x !== undefined && (t === undefined || x < t)) t = x
    return t
  }

  tick(now: number): void {
    if (this.freshAt !== undefined && this.freshAt <= now) this.checkFresh(now)
    for (let i = this.asks.length - 1; i >= 0; i--) {
      const a = this.asks[i]!
      if (a.at > now) continue
      this.asks.splice(i, 1)
      this.check(a.keys, a.only, now)
    }
    if (this.recheckAt !== undefined && this.recheckAt <= now) this.recheck(now)
    this.startDueDeliveries(now)
    if (this.pushWakeAt !== undefined && this.pushWakeAt <= now) {
      this.pushWakeAt = undefined
      this.pump(now)
    }
    const due = (t: number | undefined) => t !== undefined && t <= now
    if (due(this.planAt) || due(this.plannerWakeAt)) this.plan(now)
  }

  private plan(now: number): void {
    this.planAt = undefined
    const { actions, nextWakeAt } = this.planner.plan(now)
    this.plannerWakeAt = nextWakeAt
    if (nextWakeAt !== undefined && this.recheckAt === undefined) this.recheckAt = now + RECHECK_MS
    this.execute(actions, now)
  }

  /** Replicates grouped by target and stagger; drops emitted as they come. */
  private execute(actions: readonly HealingAction[], now: number): void {
    const groups = new Map<string, Staggered>()
    for (const a of actions) {
      if (a.type === 'drop') {
        this.sizes.delete(keyToHex(a.key))
        this.out.emit({ type: 'drop', key: a.key })
        continue
      }
      const delay =
        a.reason === 'handoff' && !a.urgent ? this.init.handoffStaggerMs * this.nearerHolders(a.key) : 0
      const id = `${a.to.peerId}/${delay}`
      const g = groups.get(id) ?? { at: now + delay, to: a.to, items: [] }
      groups.set(id, g)
      g.items.push({ key: a.key, reason: a.reason })
    }
    this.staggered.push(...groups.values())
    this.startDueDeliveries(now)
  }

  private nearerHolders(key: Key): number {
    const self = this.init.self
    const selfD = xor(self.key, key)
    let n = 0
    for (const p of this.planner.holdersToShare(key)) {
      const c = this.init.view.get(p)
      if (c !== undefined && p !== self.peerId && compareKeys(xor(c.key, key), selfD) < 0) n++
    }
    return n
  }

  private startDueDeliveries(now: number): void {
    for (let i = this.staggered.length - 1; i >= 0; i--) {
      const g = this.staggered[i]!
      if (g.at > now) continue
      this.staggered.splice(i, 1)
      this.deliver(g.to, g.items)
    }
  }

  /**
   * One delivery per target at a time: items for a target that is being served join its queue,
   * so a push waits behind at most one push per target, and the ask before it stays recent.
   */
  private deliver(to: Contact, items: readonly Item[]): void {
    const d = this.deliveries.get(to.peerId)
    if (d !== undefined) {
      d.items.push(...items)
      return
    }
    const fresh: Delivery = { to, items: [...items] }
    this.deliveries.set(to.peerId, fresh)
    this.deliverNext(fresh)
  }

  /**
   * Asks the target which of the next few items it has, right before sending them, and pushes the
   * rest: another holder may be filling the same gaps a moment ahead of us, and a copy it has sent
   * (or is sending) is not sent twice.
   */
  private deliverNext(d: Delivery): void {
    let part: Item[] = []
    while (part.length === 0 && d.items.length > 0) part = this.stillGaps(d.to, d.items.splice(0, HAVE_GROUP))
    if (part.length === 0) {
      this.deliveries.delete(d.to.peerId)
      return
    }
    const keys = part.map((p) => p.key)
    this.out.send(d.to, { t: 'has', keys }, (reply, t) => {
      if (reply.t !== 'have' || reply.have.length !== keys.length) {
        for (const p of part) this.planner.failed(p.key, d.to.peerId, t)
        this.requestPlan(t)
        return this.deliverNext(d)
      }
      const missing = part.filter((p, j) => {
        if (reply.have[j]) this.planner.confirmed(p.key, d.to.peerId)
        return !reply.have[j]
      })
      // a confirmation may complete a placement: a stray copy can be dropped now
      if (missing.length < part.length) this.requestPlan(t)
      this.pushInTurn(d, missing, t, t)
    })
  }

  /**
   * The items whose target is still a gap now: a replicate decided before a stagger or a queue may
   * point at a member another join has since pushed out of the placement (it would get a copy it
   * drops at its next check). The others are handed back to the planner.
   */
  private stillGaps(to: Contact, items: Item[]): Item[] {
    const gaps = items.filter((p) => this.planner.isGap(p.key, to.peerId))
    if (gaps.length === items.length) return gaps
    for (const p of items) if (!gaps.includes(p)) this.planner.abandoned(p.key, to.peerId)
    this.requestPlan(this.init.clock.now())
    return gaps
  }

  /** The delivery's missing items go to the push queue one at a time, the next when the last was answered. */
  private pushInTurn(d: Delivery, missing: readonly Item[], askedAt: number, now: number): void {
    const [first, ...rest] = missing
    if (first === undefined) {
      this.deliverNext(d)
      return
    }
    const done = (t: number) => this.pushInTurn(d, rest, askedAt, t)
    this.pushes.push({ ...first, to: d.to, askedAt, done })
    this.pump(now)
  }

  /** One push in flight, paced by the repair rate. */
  private pump(now: number): void {
    while (!this.pushing && this.pushes.length > 0) {
      const p = this.pushes[0]!
      if (this.stillGaps(p.to, [p]).length === 0) {
        this.pushes.shift()
        p.done(now)
        continue
      }
      const size = this.sizes.get(keyToHex(p.key)) ?? this.init.chunkBytes
      const wait = this.bucket.delayFor(size)
      if (wait > 0) {
        this.pushWakeAt = now + wait
        return
      }
      this.pushes.shift()
      this.pushing = true
      if (now - p.askedAt > ASK_FRESH_MS) this.askAgain(p, size)
      else this.push(p, size)
    }
  }

  /** The target's answer is stale (pushes ahead of this one were slow): ask it again first. */
  private askAgain(p: Push, size: number): void {
    this.out.send(p.to, { t: 'has', keys: [p.key] }, (reply, t) => {
      if (reply.t === 'have' && reply.have[0] === true) {
        this.planner.confirmed(p.key, p.to.peerId)
        this.requestPlan(t)
        this.pushing = false
        p.done(t)
        this.pump(t)
        return
      }
      this.push(p, size)
    })
  }

  private push(p: Push, size: number): void {
    this.bucket.tryTake(size)
    this.out.send(p.to, { t: 'push', key: p.key, reason: p.reason }, (reply, t) => {
      this.pushing = false
      this.pushed(p, size, reply.t === 'refused' ? `refused:${reply.reason}` : reply.t, t)
      p.done(t)
      this.pump(t)
    })
  }

  private pushed(p: Push, size: number, outcome: string, now: number): void {
    if (outcome === 'stored') {
      this.planner.confirmed(p.key, p.to.peerId)
      this.repairsSent++
      this.repairBytes += size
    } else if (outcome === 'unreadable') {
      this.release(p.key)
    } else {
      this.planner.failed(p.key, p.to.peerId, now)
      // the receiver found our bytes bad: check our copy (a bad one comes back as `lost`)
      if (outcome === 'refused:bad-chunk') this.out.emit({ type: 'verify-local', key: p.key })
    }
    this.requestPlan(now)
  }

  /**
   * The co-holder check of newly stored chunks runs once storing has been quiet for
   * FRESH_QUIET_MS. Until then nothing is sent for them (their other placement members are
   * unknown, not missing): while a put streams in, the node spends its CPU and disk on the copies
   * being acknowledged, and makes the remaining ones just after.
   */
  private checkFresh(now: number): void {
    const keys = [...this.fresh.values()]
    this.fresh.clear()
    this.freshAt = undefined
    this.freshSince = undefined
    this.check(keys, undefined, now)
  }

  /** Asks each placement member of these chunks (batched by member) whether it holds them. */
  private check(keys: readonly Key[], only: string | undefined, now: number): void {
    const byPeer = new Map<string, { to: Contact; keys: Key[] }>()
    const asked: Key[] = []
    for (const key of keys) {
      const st = this.planner.replicaState(key)
      if (st === undefined) continue
      asked.push(key)
      for (const m of st.placement) {
        if (m.peerId === this.init.self.peerId || (only !== undefined && m.peerId !== only)) continue
        const e = byPeer.get(m.peerId) ?? { to: m, keys: [] }
        byPeer.set(m.peerId, e)
        e.keys.push(key)
      }
    }
    // Asked (a member that did not answer is a gap now: a delivery asks it again before sending).
    const finish = (t: number) => {
      for (const k of asked) this.planner.checked(k, t)
      this.requestPlan(t)
    }
    this.askBatched([...byPeer.values()], now, finish, (to, key, have) => {
      if (have) this.planner.confirmed(key, to.peerId)
      else this.planner.lacks(key, to.peerId)
    })
  }

  /** Asks the members behind the gaps we are waiting out whether they have been filled. */
  private recheck(now: number): void {
    this.recheckAt = undefined
    const byPeer = this.planner.waitingGaps()
    const targets: { to: Contact; keys: Key[] }[] = []
    for (const [peerId, keys] of byPeer) {
      const to = this.init.view.get(peerId)
      if (to !== undefined) targets.push({ to, keys })
    }
    const finish = (t: number) => {
      if (byPeer.size > 0) this.requestPlan(t)
    }
    this.askBatched(targets, now, finish, (to, key, have) => {
      if (have) this.planner.confirmed(key, to.peerId)
    })
  }

  /** has-requests of at most HAS_BATCH keys to each target; a batch without an answer is skipped. */
  private askBatched(
    targets: readonly { to: Contact; keys: readonly Key[] }[],
    now: number,
    finish: (now: number) => void,
    answer: (to: Contact, key: Key, have: boolean) => void,
  ): void {
    let batches = 0
    for (const t of targets) batches += Math.ceil(t.keys.length / HAS_BATCH)
    const done = barrier(batches, now, finish)
    for (const { to, keys } of targets) {
      for (let i = 0; i < keys.length; i += HAS_BATCH) {
        const part = keys.slice(i, i + HAS_BATCH)
        this.out.send(to, { t: 'has', keys: part }, (reply, t) => {
          if (reply.t === 'have' && reply.have.length === part.length) {
            for (const [j, k] of part.entries()) answer(to, k, reply.have[j] === true)
          }
          done(t)
        })
      }
    }
  }
}
