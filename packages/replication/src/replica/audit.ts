import type { Contact, Key } from '@swarmstore/core'
import { AntiEntropySession, type RangeSummarySource, sharedRange } from '../anti-entropy.js'
import type { HealingPlanner } from '../healing-planner.js'
import type { MemberRing } from '../member-ring.js'
import type { Outbox } from './outbox.js'

/** Anti-entropy bounds: keys per compared range, ranges per request, rounds per session. */
const AE_KEYS_PER_RANGE = 1024
const AE_SUMS_PER_REQUEST = 128
const AE_KEY_RANGES_PER_REQUEST = 16
const AE_MAX_ROUNDS = 48

export interface ReplicaAuditInit {
  self: Contact
  view: MemberRing
  planner: HealingPlanner
  replicas: number
  /** the local store's key index (range summaries and key lists) */
  index: RangeSummarySource
  /** how often sessions run; 0 = never */
  intervalMs: number
  clock: { now(): number }
  /** gaps were found: plan */
  onGaps: (now: number) => void
}

/**
 * Anti-entropy, every intervalMs: a range-summary session with each of the 2R members nearest to
 * us (one after the other), over the key range we share with it. Equal (count, XOR) summaries end
 * a branch at once, so a session costs O(differences × depth) summaries, not a key list. A chunk
 * we hold that the neighbour lacks and should hold becomes a gap, filled like any other; each
 * side runs its own sessions, so each pushes what it has. Repairs what events missed, e.g. a
 * member whose chunk directory was wiped.
 */
export class ReplicaAudit {
  private readonly out: Outbox
  private readonly init: ReplicaAuditInit
  private dueAt: number | undefined
  private running = false
  sessions = 0
  requests = 0
  gaps = 0

  constructor(out: Outbox, init: ReplicaAuditInit) {
    this.out = out
    this.init = init
  }

  start(now: number): void {
    if (this.init.intervalMs > 0) this.dueAt = now + this.init.intervalMs
  }

  nextWakeAt(): number | undefined {
    return this.running ? undefined : this.dueAt
  }

  tick(now: number): void {
    if (this.running || this.dueAt === undefined || this.dueAt > now) return
    this.dueAt += this.init.intervalMs
    if (this.dueAt <= now) this.dueAt = now + this.init.intervalMs
    const { self, view, replicas } = this.init
    const neighbours = view.closest(self.key, 2 * replicas + 1).filter((c) => c.peerId !== self.peerId)
    this.running = true
    this.sessionWith(neighbours, 0)
  }

  private sessionWith(neighbours: readonly Contact[], i: number): void {
    const n = neighbours[i]
    if (n === undefined) {
      this.running = false
      return
    }
    const session = new AntiEntropySession({
      local: this.init.index,
      root: sharedRange(this.init.self.key, n.key),
      maxKeysPerRange: AE_KEYS_PER_RANGE,
    })
    this.round(n, session, 0, (ok, now) => {
      if (ok) this.ended(n, session, now)
      this.sessionWith(neighbours, i + 1)
    })
  }

  /** One query may need several requests: bounded summaries and key lists each way. */
  private round(
    n: Contact,
    s: AntiEntropySession,
    round: number,
    end: (ok: boolean, now: number) => void,
  ): void {
    const q = round < AE_MAX_ROUNDS ? s.next() : undefined
    if (q === undefined) {
      end(true, this.init.clock.now())
      return
    }
    const parts: { sums: typeof q.summaries; keys: typeof q.keys }[] = []
    for (let i = 0, j = 0; i < q.summaries.length || j < q.keys.length; ) {
      const sums = q.summaries.slice(i, i + AE_SUMS_PER_REQUEST)
      const keys = q.keys.slice(j, j + AE_KEY_RANGES_PER_REQUEST)
      i += sums.length
      j += keys.length
      parts.push({ sums, keys })
    }
    const send = (k: number) => {
      const p = parts[k]
      if (p === undefined) return this.round(n, s, round + 1, end)
      this.requests++
      const req = { t: 'sum', ranges: p.sums, keyRanges: p.keys, limit: AE_KEYS_PER_RANGE } as const
      this.out.send(n, req, (reply, now) => {
        if (
          reply.t !== 'sums' ||
          reply.sums.length !== p.sums.length ||
          reply.keys.length !== p.keys.length
        ) {
          return end(false, now)
        }
        s.receiveSummaries(p.sums.map((prefix, x) => ({ prefix, summary: reply.sums[x]! })))
        s.receiveKeys(p.keys.map((prefix, x) => ({ prefix, keys: reply.keys[x]! })))
        send(k + 1)
      })
    }
    send(0)
  }

  private ended(n: Contact, s: AntiEntropySession, now: number): void {
    this.sessions++
    let gaps = 0
    for (const k of s.remoteLacks as readonly Key[]) {
      const st = this.init.planner.replicaState(k)
      if (st?.placement.some((m) => m.peerId === n.peerId)) {
        this.init.planner.lacks(k, n.peerId)
        gaps++
      }
    }
    this.gaps += gaps
    if (gaps > 0) this.init.onGaps(now)
  }
}
