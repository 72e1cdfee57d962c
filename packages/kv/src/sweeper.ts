/**
 * TombstoneSweeper: forgets the tombstones of a range once every member of its configuration holds
 * them, as a deterministic state machine (sans-I/O). A delete leaves a tombstone (the key absent at
 * its new version); kept forever, deleted keys would fill the acceptors.
 *
 * ## A sweep of one range
 * 1. `tombstones` to every member of the configuration: each lists the tombstones durable there
 *    (key, accepted ballot, version).
 * 2. A tombstone every member lists under the same ballot, and listed so by this sweeper's previous
 *    sweep of the range too (so a delete's round, and any retry of it, had a whole sweep interval to
 *    finish), is sent in a `purge` to every member. Each forgets it only if it still holds it under
 *    that ballot, and keeps the range's floor above its version and its promise.
 * 3. A tombstone some members list and others do not (a member missed the delete's accept, or
 *    holds an older ballot), twice in a row, is handed back as `settle`: a full read round on the
 *    key accepts its state again at every member that answers, after which they agree.
 * Any member not answering, or answering that the range moved or is frozen, ends the sweep with
 * nothing purged.
 *
 * ## Why forgetting is safe
 * Every member accepted the tombstone under ballot b, so every member's state of the key is that
 * tombstone or something accepted later under a higher ballot. An acceptor that forgets it answers
 * for the key as the floor says: absent at a version ≥ the tombstone's, accepted under the zero
 * ballot (below every real one: any later state elsewhere wins a round's choice), and refusing
 * ballots at or below its promise (so a promise it gave is still kept). A round therefore reads the
 * tombstone, its floor or something newer: never an older value (which a member lacking the
 * tombstone could have shown — hence "every member"). Versions stay increasing: a key purged and
 * written again starts above the floor, which is above every version it had.
 */
import { type Ballot, compareBallots } from './ballot.js'
import type { GroupConfig } from './config.js'
import type { KvMessage, KvReply, TombstoneEntry } from './messages.js'
import { parseKvReply } from './messages.js'

export type SweeperAction =
  | { readonly type: 'send'; readonly id: number; readonly to: string; readonly msg: KvMessage }
  /** Members disagree on this key's tombstone: a full read round on it makes them agree. */
  | { readonly type: 'settle'; readonly range: number; readonly config: GroupConfig; readonly key: string }
  /** The sweep of `range` ended; `purged` tombstones were sent to be forgotten. */
  | { readonly type: 'done'; readonly range: number; readonly purged: number }

export interface TombstoneSweeperInit {
  /** how long a phase waits for every member (default 2 s) */
  timeoutMs?: number
  /** settles handed out per sweep at most (default 32) */
  maxSettles?: number
}

type SweepReply = KvReply | { readonly t: 'failed'; readonly reason: string }

interface Sweep {
  readonly range: number
  readonly config: GroupConfig
  phase: 'list' | 'purge'
  wakeAt: number
  /** member → its tombstones: key → the ballot it holds it under */
  listed: Map<string, Map<string, Ballot>>
  purging: number
  acks: number
}

/** What the previous sweep of a range saw, at one epoch. */
interface Seen {
  readonly epoch: number
  /** held by every member under one ballot: key → that ballot */
  readonly agreed: Map<string, Ballot>
  /** held by some members only */
  readonly partial: Set<string>
}

export class TombstoneSweeper {
  private readonly timeoutMs: number
  private readonly maxSettles: number
  private readonly sweeps = new Map<number, Sweep>()
  private readonly seen = new Map<number, Seen>()
  private readonly inFlight = new Map<number, { sweep: Sweep; to: string }>()
  private queue: SweeperAction[] = []
  private nextId = 1

  constructor(init: TombstoneSweeperInit = {}) {
    this.timeoutMs = init.timeoutMs ?? 2_000
    this.maxSettles = init.maxSettles ?? 32
  }

  /** Starts a sweep of `range` under `config`; false when one is already under way. */
  sweep(range: number, config: GroupConfig, now: number): boolean {
    if (this.sweeps.has(range)) return false
    const sweep: Sweep = {
      range,
      config,
      phase: 'list',
      wakeAt: now + this.timeoutMs,
      listed: new Map(),
      purging: 0,
      acks: 0,
    }
    this.sweeps.set(range, sweep)
    const { epoch } = config
    for (const to of config.members) this.send(sweep, to, { t: 'tombstones', range, epoch })
    return true
  }

  replied(id: number, raw: SweepReply, _now: number): boolean {
    const sent = this.inFlight.get(id)
    if (sent === undefined) return false
    this.inFlight.delete(id)
    const { sweep, to } = sent
    const reply = raw.t === 'failed' ? undefined : parseKvReply(raw)
    if (sweep.phase === 'list' && reply?.t === 'listed') {
      sweep.listed.set(to, byKey(reply.entries))
      if (sweep.listed.size === sweep.config.members.length) this.compare(sweep)
    } else if (sweep.phase === 'purge' && reply?.t === 'purged') {
      if (++sweep.acks === sweep.config.members.length) this.end(sweep)
    } else this.end(sweep)
    return true
  }

  tick(now: number): void {
    for (const sweep of [...this.sweeps.values()]) {
      if (sweep.wakeAt <= now) this.end(sweep)
    }
  }

  nextWakeAt(): number | undefined {
    let t: number | undefined
    for (const s of this.sweeps.values()) if (t === undefined || s.wakeAt < t) t = s.wakeAt
    return t
  }

  takeActions(): SweeperAction[] {
    const out = this.queue
    this.queue = []
    return out
  }

  /** Every member answered: purge what all hold alike twice running, settle what some lack. */
  private compare(sweep: Sweep): void {
    const lists = [...sweep.listed.values()]
    const agreed = new Map<string, Ballot>()
    const partial = new Set<string>()
    for (const [key, ballot] of lists[0]!) {
      if (lists.every((l) => same(l.get(key), ballot))) agreed.set(key, ballot)
    }
    for (const list of lists) for (const key of list.keys()) if (!agreed.has(key)) partial.add(key)
    const before = this.seen.get(sweep.range)
    const was = before?.epoch === sweep.config.epoch ? before : undefined
    this.seen.set(sweep.range, { epoch: sweep.config.epoch, agreed, partial })
    this.settle(
      sweep,
      [...partial].filter((k) => was?.partial.has(k)),
    )
    const list = [...agreed]
      .filter(([key, ballot]) => same(was?.agreed.get(key), ballot))
      .map(([key, ballot]) => ({ key, ballot }))
    if (list.length === 0) {
      this.end(sweep)
      return
    }
    for (const { key } of list) agreed.delete(key)
    sweep.phase = 'purge'
    sweep.purging = list.length
    const { range, config } = sweep
    const msg: KvMessage = { t: 'purge', range, epoch: config.epoch, entries: list }
    for (const to of config.members) this.send(sweep, to, msg)
  }

  private settle(sweep: Sweep, keys: string[]): void {
    const { range, config } = sweep
    for (const key of keys.slice(0, this.maxSettles)) this.queue.push({ type: 'settle', range, config, key })
  }

  private send(sweep: Sweep, to: string, msg: KvMessage): void {
    const id = this.nextId++
    this.inFlight.set(id, { sweep, to })
    this.queue.push({ type: 'send', id, to, msg })
  }

  /** The sweep is over: it purged what it sent a purge for (phase `purge`), else nothing. */
  private end(sweep: Sweep): void {
    for (const [id, s] of this.inFlight) if (s.sweep === sweep) this.inFlight.delete(id)
    this.sweeps.delete(sweep.range)
    if (sweep.phase === 'list' && sweep.listed.size < sweep.config.members.length) {
      this.seen.delete(sweep.range) // a member did not answer: start the count over
    }
    this.queue.push({ type: 'done', range: sweep.range, purged: sweep.phase === 'purge' ? sweep.purging : 0 })
  }
}

function byKey(entries: readonly TombstoneEntry[]): Map<string, Ballot> {
  return new Map(entries.map((e) => [e.key, e.ballot]))
}

function same(a: Ballot | undefined, b: Ballot): boolean {
  return a !== undefined && compareBallots(a, b) === 0
}
