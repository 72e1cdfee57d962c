/**
 * The read path of one chunk as a state machine (sans-I/O). Holders are asked nearest first, one
 * at a time so a read moves the chunk's bytes once; when the asked holder has not answered within
 * `hedgeAfterMs` another is asked in parallel (hedging a slow holder, up to `parallelism` at once).
 * The first R candidates are the placement; the rest (up to k, from the lookup) are asked only
 * after those answered missing or failed, because churn strays copies outward. The caller
 * verifies the bytes against the CID and reports `corrupt` on a mismatch: bad bytes are never
 * `found`. Placement members that answered missing or corrupt are read-repair targets once the
 * chunk is found.
 */
import type { Contact, Key } from '@swarmstore/core'
import {
  DEFAULT_HEDGE_AFTER_MS,
  DEFAULT_READ_PARALLELISM,
  DEFAULT_READ_WIDTH,
  DEFAULT_REPLICAS,
} from './constants.js'
import { UnexpectedReplyError } from './errors.js'
import { orderByDistance } from './placement.js'

export type ReadStatus = 'reading' | 'found' | 'not-found'
export type ReadMiss = 'missing' | 'corrupt' | 'failed'

export interface ReadPlanInit {
  key: Key
  /** The closest contacts the lookup found (up to k), any order. */
  closest: readonly Contact[]
  /** R, default 3: the first R are asked before widening. */
  replicas?: number
  /** Widen to at most this many candidates before not-found; default k = 20. */
  width?: number
  /** Ask another holder when none answered within this many ms; default 250. */
  hedgeAfterMs?: number
  /** Holders asked at the same time at most; default 2. */
  parallelism?: number
  /**
   * Candidates to ask last (e.g. members that failed a probe and are suspected): still asked
   * before not-found, still repaired as placement members, just not waited on first.
   */
  deprioritize?: (c: Contact) => boolean
}

export interface ReadStep {
  /** Ask these now. */
  readonly ask: readonly Contact[]
  readonly status: ReadStatus
  /** Call `tick(now)` at this time (if still reading) to hedge; undefined = no timer needed. */
  readonly hedgeAt: number | undefined
}

export class ReadPlan {
  readonly key: Key
  private readonly replicas: number
  private readonly width: number
  private readonly hedgeAfterMs: number
  private readonly parallelism: number
  private readonly queue: Contact[]
  private readonly known = new Set<string>()
  private readonly placement: Contact[]
  private readonly asked = new Map<string, { contact: Contact; at: number }>()
  private readonly missList: { contact: Contact; miss: ReadMiss }[] = []
  private lastAskAt = 0
  private _status: ReadStatus = 'reading'
  private _holder: Contact | undefined

  constructor(init: ReadPlanInit) {
    this.key = init.key
    this.replicas = init.replicas ?? DEFAULT_REPLICAS
    this.width = init.width ?? DEFAULT_READ_WIDTH
    this.hedgeAfterMs = init.hedgeAfterMs ?? DEFAULT_HEDGE_AFTER_MS
    this.parallelism = Math.max(1, init.parallelism ?? DEFAULT_READ_PARALLELISM)
    const ordered = orderByDistance(init.key, init.closest).slice(0, this.width)
    this.placement = ordered.slice(0, this.replicas)
    const last = init.deprioritize
    const rest = ordered.slice(this.replicas)
    // suspects go to the end of their group: after the other placement members, before the rest of k
    const split = (g: Contact[]) =>
      last === undefined ? g : [...g.filter((c) => !last(c)), ...g.filter(last)]
    this.queue = [...split(this.placement), ...split(rest)]
    for (const c of this.queue) this.known.add(c.peerId)
  }

  get status(): ReadStatus {
    return this._status
  }
  /** The holder whose verified bytes were accepted. */
  get holder(): Contact | undefined {
    return this._holder
  }
  get misses(): readonly { contact: Contact; miss: ReadMiss }[] {
    return this.missList
  }

  start(now: number): ReadStep {
    return this.fill(now, 1)
  }

  /** More candidates from a wider lookup; nearer ones than already asked are asked first. */
  widen(contacts: readonly Contact[], now: number): ReadStep {
    for (const c of contacts) {
      if (this.known.has(c.peerId) || this.known.size >= this.width) continue
      this.known.add(c.peerId)
      this.queue.push(c)
    }
    this.queue.splice(0, this.queue.length, ...orderByDistance(this.key, this.queue))
    return this.fill(now, this.asked.size === 0 ? 1 : 0)
  }

  /** Time passed: hedge when the outstanding asks are older than hedgeAfterMs. */
  tick(now: number): ReadStep {
    // the same sum as hedgeAt: `now - lastAskAt >= hedgeAfterMs` can be false at now = hedgeAt
    if (this._status === 'reading' && this.asked.size > 0 && now >= this.lastAskAt + this.hedgeAfterMs) {
      return this.fill(now, this.asked.size + 1)
    }
    return this.result([])
  }

  /** peerId returned bytes that the caller verified against the key/CID. */
  found(peerId: string): ReadStep {
    const a = this.take(peerId, 'found')
    if (this._status === 'reading') {
      this._status = 'found'
      this._holder = a
    }
    return this.result([])
  }

  /** peerId did not have it, sent bytes that failed verification, or failed/timed out. */
  miss(peerId: string, miss: ReadMiss, now: number): ReadStep {
    const c = this.take(peerId, miss)
    this.missList.push({ contact: c, miss })
    if (this._status !== 'reading') return this.result([])
    return this.fill(now, Math.max(1, this.asked.size))
  }

  /**
   * Read repair: placement members (the R closest) that answered missing or corrupt, to be given
   * the verified chunk. Empty until found.
   */
  repairTargets(): Contact[] {
    if (this._status !== 'found') return []
    const inPlacement = new Set(this.placement.map((c) => c.peerId))
    const out = new Map<string, Contact>()
    for (const m of this.missList) {
      if (m.miss !== 'failed' && inPlacement.has(m.contact.peerId)) out.set(m.contact.peerId, m.contact)
    }
    return [...out.values()]
  }

  private take(peerId: string, what: string): Contact {
    const a = this.asked.get(peerId)
    if (a === undefined) throw new UnexpectedReplyError(peerId, what)
    this.asked.delete(peerId)
    return a.contact
  }

  /** Ask until `target` asks are outstanding (bounded by parallelism and candidates). */
  private fill(now: number, target: number): ReadStep {
    const ask: Contact[] = []
    const want = Math.min(target, this.parallelism)
    while (this._status === 'reading' && this.asked.size < want && this.queue.length > 0) {
      const c = this.queue.shift()!
      this.asked.set(c.peerId, { contact: c, at: now })
      ask.push(c)
    }
    if (ask.length > 0) this.lastAskAt = now
    if (this._status === 'reading' && this.asked.size === 0 && this.queue.length === 0) {
      this._status = 'not-found'
    }
    return this.result(ask)
  }

  private result(ask: Contact[]): ReadStep {
    // No hedge timer while `parallelism` asks are out: tick could ask no one, and a wake-up in the
    // past would come back at once, forever (found by the simulation: a read spun until a frozen
    // holder's request timed out). The next answer asks the next candidate.
    const hedgeAt =
      this._status === 'reading' &&
      this.asked.size > 0 &&
      this.asked.size < this.parallelism &&
      this.queue.length > 0
        ? this.lastAskAt + this.hedgeAfterMs
        : undefined
    return { ask, status: this._status, hedgeAt }
  }
}
