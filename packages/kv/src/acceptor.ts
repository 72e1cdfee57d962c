/**
 * KvAcceptor: the acceptor side of CASPaxos (Rystsov 2018) for every key of one group on one node,
 * as a deterministic state machine (sans-I/O). The daemon runs it behind its KV protocol handler and
 * its write-ahead file; the simulator runs the same class over simulated links and disks.
 *
 * ## Contract
 *
 * Input — each call passes the current time `now` (ms, any monotonic origin):
 * - `receive(id, msg, now)`: a request from a proposer, as decoded from the wire (`unknown`: it is
 *   parsed and bounded here). `id` names the request; its reply comes out as a `reply` action.
 * - `persisted(batch, now)`: the `persist` action `batch` is durable (written and fsynced).
 *
 * Output — `takeActions()` after any input:
 * - `persist {batch, records}`: write these records (each the whole latest state of one key: epoch,
 *   key, promise, accepted ballot and state) durably, then call `persisted(batch)`. At most one
 *   batch is being written at a time; changes arriving meanwhile form the next (group commit).
 * - `reply {id, reply}`: the answer to request `id` — exactly one per request, and never before
 *   the state it shows is durable.
 *
 * `nextWakeAt()` is always undefined: an acceptor only reacts. Nothing here reads a clock, sets a
 * timer, draws a random number or awaits I/O.
 *
 * Restart: build a new KvAcceptor with `restore` = every record that reached the disk, in write
 * order (later records of a key win). Records whose batch was never reported durable may be on
 * disk or not; either is safe, as no reply depended on them. A write that fails must be treated
 * as a crash: drop this acceptor and restore a new one from the disk.
 *
 * ## Rules (per key, per epoch)
 * - prepare(b): if b > promised, promise b (durably) and answer with the accepted ballot and state;
 *   otherwise reject with the promise.
 * - accept(b, state): if b ≥ promised, promise b and accept (b, state) durably; otherwise reject.
 * - a request naming another epoch than this acceptor's gets `stale {config}`; bad input gets
 *   `invalid {code, message}`. Neither changes anything.
 *
 * ## Invariants
 * - `promised` never decreases and `accepted.ballot ≤ promised`; both survive a crash once answered.
 * - A reply never shows state that is not durable (so a crash can only lose what nobody was told).
 */
import { type Ballot, compareBallots, ZERO_BALLOT } from './ballot.js'
import { checkConfig, type GroupConfig } from './config.js'
import { KvInputError } from './errors.js'
import { GroupCommit } from './group-commit.js'
import { type Accepted, type KvMessage, type KvReply, parseKvMessage } from './messages.js'

/** The whole durable state of one key under one epoch: what `persist` writes and `restore` reads. */
export interface AcceptorRecord {
  readonly epoch: number
  readonly key: string
  readonly promised: Ballot
  readonly accepted?: Accepted
}

export type AcceptorAction =
  | { readonly type: 'persist'; readonly batch: number; readonly records: readonly AcceptorRecord[] }
  | { readonly type: 'reply'; readonly id: number; readonly reply: KvReply }

export interface KvAcceptorInit {
  config: GroupConfig
  /** Every record found on disk, in write order. */
  restore?: Iterable<AcceptorRecord>
}

export interface KvAcceptorStats {
  keys: number
  promises: number
  accepts: number
  rejects: number
  batches: number
  records: number
  /** replies waiting for a write */
  waiting: number
}

type Reply = { id: number; reply: KvReply }

export class KvAcceptor {
  readonly config: GroupConfig
  private readonly slots = new Map<string, AcceptorRecord>()
  private readonly commit: GroupCommit<AcceptorRecord, Reply>
  private queue: AcceptorAction[] = []
  private readonly counts = { promises: 0, accepts: 0, rejects: 0, batches: 0, records: 0 }

  constructor(init: KvAcceptorInit) {
    checkConfig(init.config)
    this.config = init.config
    for (const r of init.restore ?? []) this.slots.set(slotOf(r.epoch, r.key), r)
    this.commit = new GroupCommit(
      (batch, records) => {
        this.counts.batches++
        this.counts.records += records.length
        this.queue.push({ type: 'persist', batch, records })
      },
      (r) => this.queue.push({ type: 'reply', id: r.id, reply: r.reply }),
    )
  }

  receive(id: number, msg: unknown, _now: number): void {
    const m = parseKvMessage(msg)
    if (m instanceof KvInputError) {
      this.queue.push({ type: 'reply', id, reply: { t: 'invalid', code: m.code, message: m.message } })
      return
    }
    if (m.epoch !== this.config.epoch) {
      this.queue.push({ type: 'reply', id, reply: { t: 'stale', config: this.config } })
      return
    }
    this.decide(id, m)
    this.commit.flush()
  }

  persisted(batch: number, _now: number): boolean {
    return this.commit.persisted(batch)
  }

  takeActions(): AcceptorAction[] {
    const out = this.queue
    this.queue = []
    return out
  }

  nextWakeAt(): number | undefined {
    return undefined
  }

  /** The durable-or-pending record of a key (tests and diagnostics). */
  record(key: string, epoch = this.config.epoch): AcceptorRecord | undefined {
    return this.slots.get(slotOf(epoch, key))
  }

  stats(): KvAcceptorStats {
    return { keys: this.slots.size, ...this.counts, waiting: this.commit.waiting }
  }

  private decide(id: number, m: KvMessage): void {
    const slot = slotOf(m.epoch, m.key)
    const cur = this.slots.get(slot) ?? { epoch: m.epoch, key: m.key, promised: ZERO_BALLOT }
    const order = compareBallots(m.ballot, cur.promised)
    if (m.t === 'prepare' ? order <= 0 : order < 0) {
      this.counts.rejects++
      // even a refusal waits: it shows the promise, which may not be durable yet
      this.commit.after(slot, { id, reply: { t: 'reject', promised: cur.promised } })
      return
    }
    if (m.t === 'prepare') {
      this.counts.promises++
      const next: AcceptorRecord = { ...cur, promised: m.ballot }
      const reply: KvReply = cur.accepted
        ? { t: 'promise', ballot: m.ballot, accepted: cur.accepted }
        : { t: 'promise', ballot: m.ballot }
      this.slots.set(slot, next)
      this.commit.change(slot, next, { id, reply })
      return
    }
    this.counts.accepts++
    const next: AcceptorRecord = {
      ...cur,
      promised: m.ballot,
      accepted: { ballot: m.ballot, state: m.state },
    }
    this.slots.set(slot, next)
    this.commit.change(slot, next, { id, reply: { t: 'accepted', ballot: m.ballot } })
  }
}

/** One map key per (epoch, key); the epoch's digits end at the first ':' so no two collide. */
function slotOf(epoch: number, key: string): string {
  return `${epoch}:${key}`
}
