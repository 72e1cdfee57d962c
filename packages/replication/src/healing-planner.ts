/**
 * Healing decisions of one node for the chunks it holds (sans-I/O). The daemon feeds it what the
 * node learns — membership changes (after updating the LiveView), which peers confirmed or lack a
 * chunk, local stores and deletions — and calls `plan(now)` for actions:
 *
 * - `replicate {key, to}`: make sure `to` holds key durably: ask it first and send the bytes only
 *   if it lacks them; report back with `confirmed` (stored/already had) or `failed`.
 * - `drop {key}`: delete the local copy. Emitted only when this node is no longer among the key's
 *   R closest eligible live nodes AND every one of those R has confirmed a durable copy to us.
 *
 * Rules (per held chunk, placement P = R closest live nodes, full nodes skipped unless they hold it):
 * - Repair: a member of P not known to hold the chunk is a gap. A holder inside P fills it after
 *   a grace window (DEFAULT_REPAIR_GRACE_MS) plus a stagger by its turn among known holders (a
 *   per-chunk hash order, `repairsBefore`), so one holder acts first and the others, asking before
 *   sending, find it done. If this
 *   node may hold the last live copy (no other live holder known), it acts at once: urgency beats
 *   the grace window. Why a grace window rather than temporary copies: a false death (restart,
 *   pause, short partition) then costs nothing, and a chunk still has R−1 ≥ 2 copies during it.
 * - Rebalance / stray copies: a holder outside P hands its copy inward at once (to the gaps of P),
 *   then drops it when all of P confirmed. Joins and returning members thus pull data inward
 *   without a coordinator.
 * - Capacity: a full node is skipped for new copies, but a full node that holds a chunk stays in P
 *   for it — it never loses what it has because it is full.
 */
import { type Contact, commonPrefixLength, KEY_BITS, KEY_BYTES, type Key, keyToHex } from '@swarmstore/core'
import {
  DEFAULT_REPAIR_GRACE_MS,
  DEFAULT_REPAIR_RETRY_MS,
  DEFAULT_REPAIR_STAGGER_MS,
  DEFAULT_REPLICAS,
} from './constants.js'
import { checkReplicationOptions } from './errors.js'
import type { LiveView } from './member-ring.js'
import { byDistanceTo, repairsBefore } from './placement.js'

export type HealingReason = 'repair' | 'handoff'

export type HealingAction =
  | {
      readonly type: 'replicate'
      readonly key: Key
      readonly to: Contact
      readonly reason: HealingReason
      /** This node may hold the last live copy: do it before anything else. */
      readonly urgent: boolean
    }
  | { readonly type: 'drop'; readonly key: Key }

export interface HealingPlan {
  /** Urgent first, then repair, then handoff. */
  readonly actions: HealingAction[]
  /** Call plan() again at this time (a grace window or retry ends); undefined = only on new input. */
  readonly nextWakeAt: number | undefined
}

export interface HealingInit {
  self: Contact
  /** The live members as this node knows them, self included. Updated by the caller. */
  view: LiveView
  replicas?: number
  graceMs?: number
  staggerMs?: number
  retryMs?: number
  /** Members known to be full (from membership metadata or a no-capacity refusal). */
  isFull?: (c: Contact) => boolean
  /** Pinned chunks are never dropped (`put --pin`). */
  isPinned?: (key: Key) => boolean
}

interface Held {
  readonly key: Key
  readonly confirmed: Set<string>
  /** XOR distance from the key to the (R+1)-th closest eligible member when last evaluated. */
  radius: Uint8Array
  /** When each current gap was first seen. */
  readonly gapSince: Map<string, number>
  /** replicate actions emitted and not yet reported. */
  readonly inFlight: Set<string>
  /** Peer → time before which a failed replicate is not retried. */
  readonly retryAt: Map<string, number>
  wakeAt: number | undefined
  /** Until then (or `checked`), unconfirmed members are unknown, not gaps: nothing is sent. */
  checkUntil: number | undefined
}

const FAR = new Uint8Array(KEY_BYTES).fill(0xff)

export class HealingPlanner {
  readonly self: Contact
  readonly replicas: number
  private readonly view: LiveView
  private readonly graceMs: number
  private readonly staggerMs: number
  private readonly retryMs: number
  private readonly isFull: (c: Contact) => boolean
  private readonly isPinned: (key: Key) => boolean
  private readonly held = new Map<string, Held>()
  private readonly dirty = new Set<string>()
  /** Chunks with a timer (grace window, stagger, retry) pending. */
  private readonly waiting = new Set<string>()
  /**
   * A member whose key shares fewer than `reach` leading bits with ours is outside every held
   * chunk's radius (cpl is an ultrametric: cpl(D,self) ≥ min(cpl(D,K), cpl(K,self))), so a
   * membership event far from us costs O(1) instead of a scan. undefined = recompute.
   */
  private reach: number | undefined = 0

  constructor(init: HealingInit) {
    this.self = init.self
    this.view = init.view
    this.replicas = init.replicas ?? DEFAULT_REPLICAS
    checkReplicationOptions(this.replicas, 1)
    this.graceMs = init.graceMs ?? DEFAULT_REPAIR_GRACE_MS
    this.staggerMs = init.staggerMs ?? DEFAULT_REPAIR_STAGGER_MS
    this.retryMs = init.retryMs ?? DEFAULT_REPAIR_RETRY_MS
    this.isFull = init.isFull ?? (() => false)
    this.isPinned = init.isPinned ?? (() => false)
  }

  /** Number of chunks held locally. */
  get size(): number {
    return this.held.size
  }

  /** The keys of the chunks held locally. */
  heldKeys(): Key[] {
    return [...this.held.values()].map((h) => h.key)
  }

  holds(key: Key): boolean {
    return this.held.has(keyToHex(key))
  }

  /**
   * The chunk is now stored locally; `knownHolders` are peers known to hold it too (e.g. from the put).
   * With `checkUntil` (a newly held chunk whose co-holders the caller is about to ask), its other
   * placement members count as unknown rather than missing until `checked(key)` or that time:
   * no copy is sent on a guess.
   */
  hold(key: Key, knownHolders: Iterable<string> = [], opts: { checkUntil?: number } = {}): void {
    const hex = keyToHex(key)
    let h = this.held.get(hex)
    if (h === undefined) {
      h = {
        key,
        confirmed: new Set(),
        radius: FAR,
        gapSince: new Map(),
        inFlight: new Set(),
        retryAt: new Map(),
        wakeAt: undefined,
        checkUntil: opts.checkUntil,
      }
      this.held.set(hex, h)
    }
    for (const p of knownHolders) if (p !== this.self.peerId) h.confirmed.add(p)
    this.dirty.add(hex)
    this.reach = 0
  }

  /** The local copy is gone (deleted, quarantined as corrupt). */
  release(key: Key): void {
    const hex = keyToHex(key)
    this.held.delete(hex)
    this.dirty.delete(hex)
    this.waiting.delete(hex)
  }

  /** peerId durably holds key (it acknowledged a replicate, answered "have", or anti-entropy showed it). */
  confirmed(key: Key, peerId: string): void {
    const h = this.held.get(keyToHex(key))
    if (h === undefined || peerId === this.self.peerId) return
    h.inFlight.delete(peerId)
    h.retryAt.delete(peerId)
    h.confirmed.add(peerId)
    this.dirty.add(keyToHex(key))
  }

  /** The placement members of key were asked (see `hold`): unconfirmed ones are gaps from now on. */
  checked(key: Key, now: number): void {
    const hex = keyToHex(key)
    const h = this.held.get(hex)
    if (h === undefined || h.checkUntil === undefined) return
    h.checkUntil = undefined
    // A member that answered "no" is live and lacks the chunk: no grace (that is for members that
    // may come back); the rank stagger still orders the holders.
    for (const m of this.placementOf(h)) {
      if (m.peerId !== this.self.peerId && !h.confirmed.has(m.peerId))
        h.gapSince.set(m.peerId, now - this.graceMs)
    }
    this.dirty.add(hex)
  }

  /** peerId does not hold a good copy (read miss or corrupt, anti-entropy): it is a gap again. */
  lacks(key: Key, peerId: string): void {
    const h = this.held.get(keyToHex(key))
    if (h === undefined) return
    h.confirmed.delete(peerId)
    this.dirty.add(keyToHex(key))
  }

  /** A replicate to peerId failed or was refused; retried after retryMs (a full peer drops out of P via isFull). */
  failed(key: Key, peerId: string, now: number): void {
    const h = this.held.get(keyToHex(key))
    if (h === undefined) return
    h.inFlight.delete(peerId)
    h.retryAt.set(peerId, now + this.retryMs)
    this.dirty.add(keyToHex(key))
  }

  /**
   * A replicate to peerId will not be carried out: the member left the key's placement while the
   * action waited (a stagger, a queue). It is planned again if it is still, or again, a gap.
   */
  abandoned(key: Key, peerId: string): void {
    const h = this.held.get(keyToHex(key))
    if (h === undefined) return
    h.inFlight.delete(peerId)
    this.dirty.add(keyToHex(key))
  }

  /** Whether peerId is in the key's placement (R closest eligible live members) and not known to hold it. */
  isGap(key: Key, peerId: string): boolean {
    const h = this.held.get(keyToHex(key))
    if (h === undefined || h.confirmed.has(peerId)) return false
    return this.placementOf(h).some((m) => m.peerId === peerId)
  }

  /** A member joined or came back; call after adding it to the view. True if any held chunk is affected. */
  memberJoined(c: Contact): boolean {
    return this.touchNear(c.key)
  }

  /** A member was declared dead or left; call after removing it from the view. True if any chunk is affected. */
  memberLeft(c: Contact): boolean {
    return this.touchNear(c.key)
  }

  /**
   * Peers to tell the receiver of a replicate about, so it knows its co-holders without asking:
   * live peers known to hold key, plus self unless this copy is a stray about to be dropped.
   */
  holdersToShare(key: Key): string[] {
    const h = this.held.get(keyToHex(key))
    if (h === undefined) return []
    const out = [...h.confirmed].filter((p) => this.view.has(p))
    if (this.placementOf(h).some((m) => m.peerId === this.self.peerId)) out.push(this.self.peerId)
    return out
  }

  /** Re-evaluate every held chunk on the next plan (e.g. after fullness of members changed). */
  touchAll(): void {
    for (const hex of this.held.keys()) this.dirty.add(hex)
  }

  /** Known live copies of key (self included) and the size of its placement, for status/metrics. */
  replicaState(key: Key): { known: number; placement: Contact[] } | undefined {
    const h = this.held.get(keyToHex(key))
    if (h === undefined) return undefined
    const placement = this.placementOf(h)
    let known = 1
    for (const p of h.confirmed) if (this.view.has(p)) known++
    return { known, placement }
  }

  /**
   * The gaps this node is waiting out (a stagger, a grace window, a retry), by member: worth asking
   * about meanwhile, because another holder may have filled them and its word can miss us (the new
   * holder's notice came before we saw the death that put it in the placement).
   */
  waitingGaps(): Map<string, Key[]> {
    const out = new Map<string, Key[]>()
    for (const hex of this.waiting) {
      const h = this.held.get(hex)
      if (h === undefined || h.checkUntil !== undefined) continue
      for (const p of h.gapSince.keys()) {
        if (h.inFlight.has(p) || h.confirmed.has(p)) continue
        const l = out.get(p)
        if (l === undefined) out.set(p, [h.key])
        else l.push(h.key)
      }
    }
    return out
  }

  /**
   * Held chunks not known to have R copies: a placement member not confirmed to hold it, or fewer
   * than R eligible live members to place it on. Counted against R itself, not min(R, live members):
   * a swarm with a member down is short of copies even when no repair could help yet.
   */
  underReplicated(): number {
    let n = 0
    for (const h of this.held.values()) {
      const p = this.placementOf(h)
      if (p.some((m) => m.peerId !== this.self.peerId && !h.confirmed.has(m.peerId))) n++
      else if (p.length < this.replicas) n++
    }
    return n
  }

  plan(now: number): HealingPlan {
    const actions: HealingAction[] = []
    // Only dirty chunks and chunks whose timer is due: O(changes), not O(held).
    const due = new Set(this.dirty)
    this.dirty.clear()
    for (const hex of this.waiting) {
      const h = this.held.get(hex)
      if (h === undefined || h.wakeAt === undefined) this.waiting.delete(hex)
      else if (h.wakeAt <= now) due.add(hex)
    }
    for (const hex of due) {
      const h = this.held.get(hex)
      if (h !== undefined) this.evaluate(hex, h, now, actions)
    }
    let nextWakeAt: number | undefined
    for (const hex of this.waiting) {
      const t = this.held.get(hex)?.wakeAt
      if (t !== undefined && (nextWakeAt === undefined || t < nextWakeAt)) nextWakeAt = t
    }
    const rank = (a: HealingAction) => (a.type === 'drop' ? 3 : a.urgent ? 0 : a.reason === 'repair' ? 1 : 2)
    actions.sort((a, b) => rank(a) - rank(b))
    return { actions, nextWakeAt }
  }

  private touchNear(memberKey: Key): boolean {
    if (this.reach === undefined) {
      let reach = KEY_BITS
      for (const h of this.held.values()) {
        reach = Math.min(reach, leadingZeroBits(h.radius), commonPrefixLength(h.key, this.self.key))
      }
      this.reach = reach
    }
    if (commonPrefixLength(memberKey, this.self.key) < this.reach) return false
    let any = false
    for (const [hex, h] of this.held) {
      if (withinRadius(memberKey, h.key, h.radius)) {
        this.dirty.add(hex)
        any = true
      }
    }
    return any
  }

  private eligible(h: Held): (c: Contact) => boolean {
    return (c) => !this.isFull(c) || c.peerId === this.self.peerId || h.confirmed.has(c.peerId)
  }

  private placementOf(h: Held): Contact[] {
    return this.nearest(h, this.replicas)
  }

  /** The n closest eligible live members, self always counted live (our view of us never lags). */
  private nearest(h: Held, n: number): Contact[] {
    const near = this.view.closest(h.key, n, this.eligible(h))
    if (this.view.has(this.self.peerId)) return near
    near.push(this.self)
    return near.sort(byDistanceTo(h.key)).slice(0, n)
  }

  private evaluate(hex: string, h: Held, now: number, out: HealingAction[]): void {
    const near = this.nearest(h, this.replicas + 1)
    h.radius = near.length > this.replicas ? xorDistance(h.key, near[this.replicas]!.key) : FAR
    this.reach = undefined
    const placement = near.slice(0, this.replicas)
    // A live peer outside P may drop its copy at any time (it is a stray to itself): forget it,
    // so a later return into P is checked rather than assumed. A dead peer is remembered: if it
    // comes back (a false death) it comes back with its disk (a wiped node has a new identity).
    for (const p of h.confirmed) {
      if (this.view.has(p) && !placement.some((m) => m.peerId === p)) h.confirmed.delete(p)
    }
    const selfIn = placement.some((m) => m.peerId === this.self.peerId)
    // Copies known in P (strays outside P will drop theirs, so they do not count).
    let knownLive = 1
    for (const m of placement) if (h.confirmed.has(m.peerId)) knownLive++
    const urgent = knownLive <= 1
    // Turn among the known holders in P (repairsBefore: a hash of holder and key, so the holders
    // of a dead member's chunks share its repair instead of its nearest neighbour sending it all).
    let rank = 0
    for (const m of placement) {
      if (m.peerId !== this.self.peerId && h.confirmed.has(m.peerId) && repairsBefore(m, this.self, h.key))
        rank++
    }
    const gaps = placement.filter((m) => m.peerId !== this.self.peerId && !h.confirmed.has(m.peerId))
    for (const id of h.gapSince.keys()) if (!gaps.some((g) => g.peerId === id)) h.gapSince.delete(id)
    h.wakeAt = undefined
    const wake = (t: number) => {
      if (h.wakeAt === undefined || t < h.wakeAt) h.wakeAt = t
    }
    if (h.checkUntil !== undefined && now >= h.checkUntil) h.checkUntil = undefined
    for (const g of h.checkUntil === undefined ? gaps : []) {
      if (h.inFlight.has(g.peerId)) continue
      const since = h.gapSince.get(g.peerId) ?? now
      h.gapSince.set(g.peerId, since)
      const delay = urgent || !selfIn ? 0 : this.graceMs + rank * this.staggerMs
      const retry = h.retryAt.get(g.peerId) ?? 0
      const at = Math.max(since + delay, retry)
      if (at > now) {
        wake(at)
        continue
      }
      h.inFlight.add(g.peerId)
      out.push({ type: 'replicate', key: h.key, to: g, reason: selfIn ? 'repair' : 'handoff', urgent })
    }
    if (h.checkUntil !== undefined && gaps.length > 0) wake(h.checkUntil)
    if (h.wakeAt === undefined) this.waiting.delete(hex)
    else this.waiting.add(hex)
    const complete = gaps.length === 0 && placement.length >= Math.min(this.replicas, this.view.size)
    if (!selfIn && complete && placement.length > 0 && !this.isPinned(h.key)) {
      // Every member of P confirmed a durable copy to us: this copy is surplus.
      this.held.delete(hex)
      this.waiting.delete(hex)
      out.push({ type: 'drop', key: h.key })
    }
  }
}

function leadingZeroBits(d: Uint8Array): number {
  for (let i = 0; i < KEY_BYTES; i++) if (d[i] !== 0) return i * 8 + Math.clz32(d[i]!) - 24
  return KEY_BITS
}

function xorDistance(a: Key, b: Key): Uint8Array {
  const out = new Uint8Array(KEY_BYTES)
  for (let i = 0; i < KEY_BYTES; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** d(member, key) ≤ radius, without allocating. */
function withinRadius(member: Key, key: Key, radius: Uint8Array): boolean {
  for (let i = 0; i < KEY_BYTES; i++) {
    const d = member[i]! ^ key[i]!
    if (d !== radius[i]!) return d < radius[i]!
  }
  return true
}
