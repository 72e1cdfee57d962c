import { type Contact, compareKeys, type Key, keyForCid, keyToHex, SystemClock, xor } from '@swarmstore/core'
import {
  AntiEntropySession,
  type HealingAction,
  HealingPlanner,
  MemberRing,
  sharedRange,
  TokenBucket,
} from '@swarmstore/replication'
import type { ChunkStore } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import pLimit from 'p-limit'
import type { Logger } from 'pino'
import type { ChunkService } from './chunk-service.js'
import type { Metrics } from './metrics.js'

export interface HealerInit {
  self: Contact
  store: ChunkStore
  chunks: ChunkService
  replicas: number
  /** bytes per second of repair and handoff traffic this node sends (token bucket) */
  repairBytesPerSecond: number
  /** grace window before re-replicating around a dead member (see replication README) */
  graceMs?: number
  /** how often held chunks are audited against their placement (has-lists) */
  auditIntervalMs: number
  /** members known to have no room (membership metadata): skipped by placement */
  isFull?: (c: Contact) => boolean
  isPinned?: (key: Key) => boolean
  log: Logger
  metrics: Metrics
}

/** Has-lists are sent in batches of at most this many CIDs (the wire's MAX_HAS_CIDS is 1024). */
const HAS_BATCH = 1000
/** Anti-entropy bounds: keys per compared range, ranges per request, rounds per session. */
const AE_KEYS_PER_RANGE = 1024
const AE_SUMS_PER_REQUEST = 128
const AE_KEY_RANGES_PER_REQUEST = 16
const AE_MAX_ROUNDS = 48
/** Chunks asked about in one "have?" right before sending them to a target. */
const HAVE_GROUP = 8
/**
 * Pushes in flight from this node, whatever the number of targets: 4 per target (16–20 in flight)
 * queued this node's own reads behind repair reads and sends (foreground local reads of
 * 100–250 ms measured during bench:heal). One at a time: every surviving holder repairs in
 * parallel. bench:heal, a reader's get p99 during repair against its baseline, and repair rate:
 * with 4, 2.6–8.2× (61–82 MB/s); with 2, 1.1–3.8× (58–103 MB/s, 8 runs); with 1, 0.9–2.4×
 * (45–111 MB/s, 10 runs, one under 50). Two in flight of which only one is being read and sent
 * (the other awaiting its receiver's fsync) was no better than 2 (2.5–3.1×).
 */
const PUSHES_IN_FLIGHT = 1
/**
 * Newly stored chunks are checked against their co-holders once storing paused this long… The
 * check tells them we hold the chunks (`has` with `held`), so it is also how a co-holder that is
 * waiting out its repair stagger learns that the gap it saw is filled: short, so that after a
 * repair the swarm knows it is whole within a second of the last copy (2 s kept every repaired
 * chunk "under-replicated" on the other holder for 2 s more than the copy took).
 */
const FRESH_QUIET_MS = 500
/** …or this long after the first of them, if storing never pauses. */
const FRESH_MAX_MS = 30_000
/** A fresh chunk's gaps are acted on after this even if its check never completed. */
const CHECK_GATE_MS = FRESH_MAX_MS + 15_000
const HANDOFF_STAGGER_MS = 2_000
/**
 * A holder waits this long per holder whose turn comes before its own (repairsBefore, a per-chunk
 * hash order) before it fills a gap (asking first). Long enough for the first one to work through
 * its part of a dead member's share at the repair rate, so a gap is filled once, not twice; short
 * next to the audit.
 */
const REPAIR_STAGGER_MS = 8_000
/**
 * While this node waits out a stagger on some gaps, it asks the gap members about them this often:
 * the holder whose turn came first may have filled them, and the new holder's notice may have missed us.
 */
const RECHECK_MS = 2_000

/**
 * The daemon side of healing: runs the pure HealingPlanner over the live view membership gives
 * it, and carries out its decisions with the chunk protocol — ask "have?" in batches before
 * sending, push what is missing (rate-limited), drop a stray copy only after every member of its
 * placement confirmed. Periodic range-summary sessions with the nearest members are the
 * anti-entropy that repairs what events missed, e.g. a member whose chunks dir was wiped.
 */
export class Healer {
  readonly planner: HealingPlanner
  readonly view: MemberRing
  private readonly i: HealerInit
  private readonly cids = new Map<string, CID>()
  private readonly bucket: TokenBucket
  private readonly pushSlots = pLimit(PUSHES_IN_FLIGHT)
  private timer: NodeJS.Timeout | undefined
  private wakeAt: number | undefined
  private running = false
  private rerun = false
  private stopped = false
  private readonly fresh = new Set<string>()
  private freshTimer: NodeJS.Timeout | undefined
  private recheckTimer: NodeJS.Timeout | undefined
  private freshSince: number | undefined
  private auditTimer: NodeJS.Timeout | undefined
  repairsSent = 0
  repairBytes = 0
  /** anti-entropy: sessions run, requests sent, gaps found */
  aeSessions = 0
  aeRequests = 0
  aeGaps = 0
  dropped = 0

  constructor(init: HealerInit) {
    this.i = init
    this.view = new MemberRing([init.self])
    this.planner = new HealingPlanner({
      self: init.self,
      view: this.view,
      replicas: init.replicas,
      ...(init.graceMs !== undefined ? { graceMs: init.graceMs } : {}),
      staggerMs: REPAIR_STAGGER_MS,
      ...(init.isFull ? { isFull: init.isFull } : {}),
      ...(init.isPinned ? { isPinned: init.isPinned } : {}),
    })
    this.bucket = new TokenBucket({
      clock: new SystemClock(),
      ratePerSecond: init.repairBytesPerSecond,
      burst: Math.max(init.repairBytesPerSecond, 4 << 20),
    })
  }

  /** Registers every chunk already on disk (after a restart) and starts the audit. */
  async start(): Promise<void> {
    const checkUntil = Date.now() + CHECK_GATE_MS // io-edge
    for await (const e of this.i.store.keys()) {
      this.cids.set(keyToHex(e.key), e.cid)
      this.planner.hold(e.key, [], { checkUntil })
      this.fresh.add(keyToHex(e.key))
    }
    this.scheduleFresh()
    this.auditTimer = setInterval(
      () => this.audit().catch((err) => this.i.log.warn({ err }, 'audit failed')),
      this.i.auditIntervalMs,
    )
    this.auditTimer.unref()
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    clearTimeout(this.freshTimer)
    clearTimeout(this.recheckTimer)
    clearInterval(this.auditTimer)
  }

  /** A chunk is now durable here (a put, a replicate, a pin). */
  stored(cid: CID, knownHolders: Iterable<string> = []): void {
    const key = keyForCid(cid)
    const hex = keyToHex(key)
    this.cids.set(hex, cid)
    this.planner.hold(key, knownHolders, { checkUntil: Date.now() + CHECK_GATE_MS }) // io-edge
    this.fresh.add(hex)
    this.scheduleFresh()
    this.schedule()
  }

  /** Our copy is gone (quarantined as corrupt, deleted). */
  lost(cid: CID): void {
    const key = keyForCid(cid)
    this.planner.release(key)
    this.cids.delete(keyToHex(key))
  }

  /**
   * A peer said it holds these (it asked us about chunks it holds: its co-holder check after
   * receiving them, or its ask before a push). For the ones we hold, it is a known holder now, so a
   * repaired gap closes here when the new holder checks in, not at our own staggered ask.
   */
  peerHolds(peerId: string, cids: CID[]): void {
    if (peerId === this.i.self.peerId) return
    let any = false
    for (const cid of cids) {
      const key = keyForCid(cid)
      if (!this.cids.has(keyToHex(key))) continue
      this.planner.confirmed(key, peerId)
      any = true
    }
    if (any) this.schedule()
  }

  /** A peer lacks a good copy (found by a read, or it answered missing). */
  lacks(cid: CID, peerId: string): void {
    this.planner.lacks(keyForCid(cid), peerId)
    this.schedule()
  }

  /**
   * A member is new, came back, or restarted. Besides re-planning, ask it at once about the held
   * chunks it is a placement member of: a restarted node may have lost its disk, and a returning
   * one may hold copies we would otherwise re-send.
   */
  memberUp(c: Contact, opts: { ask: boolean } = { ask: true }): void {
    this.view.remove(c.peerId)
    this.view.add(c)
    if (this.planner.memberJoined(c)) this.schedule()
    if (!opts.ask) return
    const hexes: string[] = []
    for (const [hex, cid] of this.cids) {
      const st = this.planner.replicaState(keyForCid(cid))
      if (st?.placement.some((m) => m.peerId === c.peerId)) hexes.push(hex)
    }
    if (hexes.length > 0) {
      setTimeout(() => this.check(hexes, c.peerId).catch(() => {}), 1000).unref() // io-edge
    }
  }

  memberDown(c: Contact): void {
    if (this.view.remove(c.peerId) === undefined) return
    if (this.planner.memberLeft(c)) this.schedule()
  }

  underReplicated(): number {
    return this.planner.underReplicated()
  }

  private schedule(at = Date.now()): void {
    if (this.stopped) return
    if (this.running) {
      this.rerun = true
      return
    }
    if (this.wakeAt !== undefined && this.wakeAt <= at) return
    clearTimeout(this.timer)
    this.wakeAt = at
    this.timer = setTimeout(
      () => {
        this.wakeAt = undefined
        this.run().catch((err) => this.i.log.error({ err }, 'healing run failed'))
      },
      Math.max(0, at - Date.now()),
    ) // io-edge
    this.timer.unref()
  }

  private async run(): Promise<void> {
    if (this.stopped) return
    this.running = true
    let next: number | undefined
    try {
      const { actions, nextWakeAt } = this.planner.plan(Date.now())
      next = nextWakeAt
      this.i.metrics.underReplicated.set(this.planner.underReplicated())
      if (next !== undefined) this.scheduleRecheck()
      await this.execute(actions)
    } finally {
      this.running = false
    }
    if (this.rerun) {
      this.rerun = false
      this.schedule()
    } else if (next !== undefined) this.schedule(next)
  }

  private scheduleRecheck(): void {
    if (this.recheckTimer !== undefined || this.stopped) return
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined
      this.recheck().catch((err) => this.i.log.warn({ err }, 'gap recheck failed'))
    }, RECHECK_MS) // io-edge
    this.recheckTimer.unref()
  }

  /**
   * Asks `to` which of these chunks (all held here) it has, HAS_BATCH at a time, saying that we
   * hold them; a batch that gets no answer is skipped.
   */
  private async ask(
    to: Contact,
    items: { key: Key; cid: CID }[],
    answer: (item: { key: Key; cid: CID }, have: boolean) => void,
  ): Promise<void> {
    for (let i = 0; i < items.length; i += HAS_BATCH) {
      const part = items.slice(i, i + HAS_BATCH)
      const have = await this.i.chunks
        .hasAt(
          to,
          part.map((p) => p.cid),
          { held: true },
        )
        .catch(() => undefined)
      if (have === undefined) continue
      for (const [j, p] of part.entries()) answer(p, have[j] === true)
    }
  }

  /** Asks the members behind the gaps we are waiting out whether they have been filled. */
  private async recheck(): Promise<void> {
    const byPeer = this.planner.waitingGaps()
    await Promise.all(
      [...byPeer].map(async ([peerId, keys]) => {
        const to = this.view.get(peerId)
        if (to === undefined) return
        const items = keys.flatMap((key) => {
          const cid = this.cids.get(keyToHex(key))
          return cid === undefined ? [] : [{ key, cid }]
        })
        await this.ask(to, items, (p, have) => {
          if (have) this.planner.confirmed(p.key, peerId)
        })
      }),
    )
    if (byPeer.size > 0) this.schedule()
  }

  /**
   * Handoffs are staggered like repairs: a holder waits HANDOFF_STAGGER_MS for each known holder
   * nearer to the key than itself, and asks before it sends, so when a join moves a chunk's
   * placement the nearest holder sends it and the others find it there (or arriving). Urgent
   * actions (we may hold the last copy) never wait.
   */
  private async execute(actions: HealingAction[]): Promise<void> {
    const groups = new Map<
      string,
      { to: Contact; delay: number; items: { key: Key; cid: CID; reason: string }[] }
    >()
    for (const a of actions) {
      const cid = this.cids.get(keyToHex(a.key))
      if (cid === undefined) continue
      if (a.type === 'drop') {
        await this.drop(a.key, cid)
        continue
      }
      const delay = a.reason === 'handoff' && !a.urgent ? HANDOFF_STAGGER_MS * this.nearerHolders(a.key) : 0
      const g = groups.get(`${a.to.peerId}/${delay}`) ?? { to: a.to, delay, items: [] }
      groups.set(`${a.to.peerId}/${delay}`, g)
      g.items.push({ key: a.key, cid, reason: a.reason })
    }
    await Promise.all(
      [...groups.values()].map(async (g) => {
        if (g.delay > 0) await new Promise((r) => setTimeout(r, g.delay)) // io-edge: stagger
        await this.replicateTo(g.to, g.items)
      }),
    )
  }

  private nearerHolders(key: Key): number {
    const selfD = xor(this.i.self.key, key)
    let n = 0
    for (const p of this.planner.holdersToShare(key)) {
      const c = this.view.get(p)
      if (c !== undefined && p !== this.i.self.peerId && compareKeys(xor(c.key, key), selfD) < 0) n++
    }
    return n
  }

  private async drop(key: Key, cid: CID): Promise<void> {
    if (await this.i.store.isPinned(cid)) return
    try {
      await this.i.store.delete(cid)
      this.dropped++
      this.planner.release(key)
      this.cids.delete(keyToHex(key))
      this.i.log.debug({ cid: cid.toString() }, 'dropped a copy after its placement confirmed')
    } catch (err) {
      this.i.log.warn({ cid: cid.toString(), err: (err as Error).message }, 'drop failed')
    }
  }

  /**
   * Ask `to` which of these it has, a few at a time right before sending them, and push the rest,
   * throttled. Asking per small group (not once for the whole batch) matters: another holder may be
   * filling the same gaps a couple of seconds ahead of us, and a copy it has sent — or is sending —
   * is not sent twice. Every item ends confirmed or failed.
   */
  private async replicateTo(to: Contact, items: { key: Key; cid: CID; reason: string }[]): Promise<void> {
    for (let i = 0; i < items.length && !this.stopped; i += HAVE_GROUP) {
      const part = items.slice(i, i + HAVE_GROUP)
      let have: boolean[]
      try {
        have = await this.i.chunks.hasAt(
          to,
          part.map((p) => p.cid),
          { held: true },
        )
      } catch {
        for (const p of part) this.planner.failed(p.key, to.peerId, Date.now())
        continue
      }
      const missing = part.filter((p, j) => {
        if (have[j]) this.planner.confirmed(p.key, to.peerId)
        return !have[j]
      })
      for (const p of missing) {
        if (this.stopped) break
        await this.push(to, p)
      }
    }
  }

  private push(to: Contact, p: { key: Key; cid: CID; reason: string }): Promise<void> {
    return this.pushSlots(() => this.pushNow(to, p))
  }

  private async pushNow(to: Contact, p: { key: Key; cid: CID; reason: string }): Promise<void> {
    let bytes: Uint8Array
    try {
      // Unverified, like a read served to a peer: the receiver hashes what it is sent and refuses
      // a mismatch (bad-chunk), and then we check our copy. One hash per copy, not two.
      bytes = await this.i.store.get(p.cid, { verify: false })
    } catch (err) {
      this.i.log.warn(
        { cid: p.cid.toString(), err: (err as Error).message },
        'cannot read a chunk to replicate',
      )
      this.lost(p.cid)
      return
    }
    for (
      let wait = this.bucket.delayFor(bytes.byteLength);
      wait > 0;
      wait = this.bucket.delayFor(bytes.byteLength)
    ) {
      await new Promise((r) => setTimeout(r, wait)) // io-edge: rate limit
    }
    this.bucket.tryTake(bytes.byteLength)
    try {
      const r = await this.i.chunks.putTo(to, p.cid, bytes)
      if (r.outcome === 'stored') {
        this.planner.confirmed(p.key, to.peerId)
        this.repairsSent++
        this.repairBytes += bytes.byteLength
        this.i.metrics.repairs.inc({ reason: p.reason })
        return
      }
      if (r.reason === 'bad-chunk' && !(await this.i.chunks.goodCopy(p.cid))) {
        this.lost(p.cid) // the receiver found our bytes bad, and so did we
        return
      }
      this.planner.failed(p.key, to.peerId, Date.now())
    } catch {
      this.planner.failed(p.key, to.peerId, Date.now())
    }
  }

  /**
   * The co-holder check of newly stored chunks runs once storing has been quiet for FRESH_QUIET_MS
   * (at most FRESH_MAX_MS after the first of them). Until then the planner sends nothing for them
   * (their other placement members are unknown, not missing): while a put streams in, this node
   * spends its CPU and disk on the copies being acknowledged, and makes the remaining ones just after.
   */
  private scheduleFresh(): void {
    if (this.stopped) return
    const now = Date.now() // io-edge
    this.freshSince ??= now
    const at = Math.min(now + FRESH_QUIET_MS, this.freshSince + FRESH_MAX_MS)
    clearTimeout(this.freshTimer)
    this.freshTimer = setTimeout(() => {
      this.freshTimer = undefined
      this.freshSince = undefined
      const keys = [...this.fresh]
      this.fresh.clear()
      this.check(keys).catch((err) => this.i.log.warn({ err }, 'co-holder check failed'))
    }, at - now)
    this.freshTimer.unref()
  }

  /**
   * Anti-entropy, every auditIntervalMs: a range-summary session (AntiEntropySession) with each of
   * the 2R members nearest to us, over the key range we share with it. Equal (count, XOR) summaries
   * end a branch at once, so a session costs O(differences × depth) summaries, not a key list; where
   * a range differs and is small, its keys are compared. A chunk we hold that the neighbour lacks
   * and should hold (it is in the chunk's placement) becomes a gap, filled like any other. Each
   * side runs its own sessions, so each pushes what it has.
   */
  async audit(): Promise<void> {
    const self = this.i.self
    const neighbours = this.view
      .closest(self.key, 2 * this.i.replicas + 1)
      .filter((c) => c.peerId !== self.peerId)
    for (const n of neighbours) {
      if (this.stopped) return
      await this.reconcile(n).catch((err) =>
        this.i.log.debug({ peer: n.peerId, err: (err as Error).message }, 'anti-entropy session failed'),
      )
    }
    this.schedule()
  }

  private async reconcile(n: Contact): Promise<void> {
    const store = this.i.store
    const session = new AntiEntropySession({
      local: {
        summarize: (p) => store.rangeSummary(p.key, p.bits),
        keysIn: (p, limit) => store.keysUnder(p.key, p.bits, limit),
      },
      root: sharedRange(this.i.self.key, n.key),
      maxKeysPerRange: AE_KEYS_PER_RANGE,
    })
    for (let round = 0; round < AE_MAX_ROUNDS && !this.stopped; round++) {
      const q = session.next()
      if (q === undefined) break
      // one query may need several requests: ≤ AE_SUMS_PER_REQUEST summaries and
      // ≤ AE_KEY_RANGES_PER_REQUEST key lists each (bounded frames both ways)
      for (let i = 0, j = 0; i < q.summaries.length || j < q.keys.length; ) {
        const sums = q.summaries.slice(i, i + AE_SUMS_PER_REQUEST)
        const keys = q.keys.slice(j, j + AE_KEY_RANGES_PER_REQUEST)
        i += sums.length
        j += keys.length
        const r = await this.i.chunks.summariesAt(n, sums, keys, AE_KEYS_PER_RANGE)
        this.aeRequests++
        session.receiveSummaries(sums.map((prefix, k) => ({ prefix, summary: r.sums[k]! })))
        session.receiveKeys(keys.map((prefix, k) => ({ prefix, keys: r.keys[k]! })))
      }
    }
    this.aeSessions++
    let gaps = 0
    for (const k of session.remoteLacks) {
      const st = this.planner.replicaState(k)
      if (st?.placement.some((m) => m.peerId === n.peerId)) {
        this.planner.lacks(k, n.peerId)
        gaps++
      }
    }
    this.aeGaps += gaps
    if (gaps > 0) {
      this.i.log.info(
        { peer: n.peerId, gaps, rounds: session.rounds },
        'anti-entropy found chunks a neighbour lacks',
      )
    }
  }

  /** Asks each placement member of these chunks (batched by member) whether it holds them. */
  private async check(hexKeys: string[], only?: string): Promise<void> {
    const byPeer = new Map<string, { to: Contact; items: { key: Key; cid: CID }[] }>()
    const keys: Key[] = []
    for (const hex of hexKeys) {
      const cid = this.cids.get(hex)
      if (cid === undefined) continue
      const key = keyForCid(cid)
      const st = this.planner.replicaState(key)
      if (st === undefined) continue
      keys.push(key)
      for (const m of st.placement) {
        if (m.peerId === this.i.self.peerId || (only !== undefined && m.peerId !== only)) continue
        const e = byPeer.get(m.peerId) ?? { to: m, items: [] }
        byPeer.set(m.peerId, e)
        e.items.push({ key, cid })
      }
    }
    await Promise.all(
      [...byPeer.values()].map(({ to, items }) =>
        this.ask(to, items, (p, have) => {
          if (have) this.planner.confirmed(p.key, to.peerId)
          else this.planner.lacks(p.key, to.peerId)
        }),
      ),
    )
    // Asked (a member that did not answer is a gap now: replicateTo asks it again before sending).
    const now = Date.now() // io-edge
    for (const k of keys) this.planner.checked(k, now)
    this.schedule()
  }
}
