import type { Contact } from '@swarmstore/core'
import type { Membership } from '@swarmstore/membership'
import { selectReplicas } from '@swarmstore/replication'
import type { ChunkStore, KeyEntry } from '@swarmstore/storage'
import type { Logger } from 'pino'
import type { ChunkService } from './chunk-service.js'
import { BadRequestError, InsufficientReplicasError } from './errors.js'
import { memberContact } from './membership-service.js'

/** Chunks checked per round of `has` queries (one query per target member). */
const BATCH = 64
/** A pass that left some chunk short waits this long before the next. */
const RETRY_MS = 2000

/** What `swarmstore leave` shows, one NDJSON line each (docs/CONTROL-API.md). */
export type HandoffEvent =
  | { event: 'handoff'; pid: number; chunks: number; members: number; pass: number }
  | { event: 'progress'; checked: number; chunks: number; sent: number; bytes: number }
  | { event: 'waiting'; short: number; retryMs: number }
  | { event: 'handed-off'; chunks: number; sent: number; bytes: number }

export interface HandoffComponents {
  store: Pick<ChunkStore, 'keys' | 'get'>
  chunks: Pick<ChunkService, 'hasAt' | 'putTo'>
  membership: Pick<Membership, 'members'>
  isAdvertisedFull: (peerId: string) => boolean
  selfId: string
  log: Logger
}

export interface HandoffInit {
  replicas: number
  /** settings a member must run with to take chunks (as MemberEvents compares them) */
  settings: Readonly<Record<string, string>>
  retryMs?: number
}

interface Tally {
  sent: number
  bytes: number
  short: number
}

/**
 * A decommission's first step (`swarmstore leave`): every chunk this node holds is put on the R
 * members closest to it other than this node — the placement the swarm will use once it is gone —
 * and the leave goes on only after a pass finds each of them confirmed there ("have", or a put
 * they acknowledged stored). Passes repeat until one is clean, so chunks that arrived meanwhile
 * are handed off too. What it cannot promise: a put acknowledged after the last pass and before
 * the leave announcement reaches the others only through their own healing.
 */
export class Handoff {
  private readonly c: HandoffComponents
  private readonly r: number
  private readonly settings: Readonly<Record<string, string>>
  private readonly retryMs: number
  private running: AbortController | undefined

  constructor(components: HandoffComponents, init: HandoffInit) {
    this.c = components
    this.r = init.replicas
    this.settings = init.settings
    this.retryMs = init.retryMs ?? RETRY_MS
  }

  start(): void {}

  stop(): void {
    this.running?.abort()
  }

  /** The members that may take chunks: alive (not suspect), ours in settings, not advertised full. */
  private candidates(): Contact[] {
    const out: Contact[] = []
    for (const m of this.c.membership.members(['alive'])) {
      if (m.id === this.c.selfId || this.c.isAdvertisedFull(m.id)) continue
      if (m.meta.settings.r !== this.settings.r || m.meta.settings.cs !== this.settings.cs) continue
      try {
        out.push(memberContact(m))
      } catch {
        // a member whose id does not parse cannot be dialled
      }
    }
    return out
  }

  /** Refuses a leave that cannot finish now: fewer than R other members, or one already running. */
  check(): void {
    if (this.running !== undefined) throw new BadRequestError('a leave is already running on this node')
    const n = this.candidates().length
    if (n < this.r)
      throw new InsufficientReplicasError(
        `leave needs R=${this.r} other members to take this node's chunks, and the swarm has ${n} ` +
          '(alive, not full); add daemons first, or use `swarmstore stop` for a restart',
      )
  }

  /** Runs passes until every chunk has R copies on other members; ends early (throws) when aborted. */
  async *run(signal: AbortSignal): AsyncGenerator<HandoffEvent> {
    this.check()
    const running = new AbortController()
    this.running = running
    const abort = AbortSignal.any([signal, running.signal])
    try {
      for (let pass = 1; ; pass++) {
        const members = this.candidates()
        const entries: KeyEntry[] = []
        for await (const e of this.c.store.keys()) entries.push(e)
        yield { event: 'handoff', pid: process.pid, chunks: entries.length, members: members.length, pass }
        const t: Tally = { sent: 0, bytes: 0, short: 0 }
        for (let i = 0; i < entries.length; i += BATCH) {
          abort.throwIfAborted()
          await this.batch(entries.slice(i, i + BATCH), members, t)
          const checked = Math.min(i + BATCH, entries.length)
          yield { event: 'progress', checked, chunks: entries.length, sent: t.sent, bytes: t.bytes }
        }
        if (t.short === 0 && t.sent === 0) {
          yield { event: 'handed-off', chunks: entries.length, sent: t.sent, bytes: t.bytes }
          return
        }
        if (t.short > 0) {
          yield { event: 'waiting', short: t.short, retryMs: this.retryMs }
          await new Promise((r) => setTimeout(r, this.retryMs)) // io-edge: retry pacing
        }
      }
    } finally {
      this.running = undefined
    }
  }

  /** One batch: ask each target which of its chunks it has, put it the others. */
  private async batch(entries: KeyEntry[], members: Contact[], t: Tally): Promise<void> {
    const byTarget = new Map<string, { to: Contact; entries: KeyEntry[] }>()
    for (const e of entries) {
      const targets = selectReplicas(e.key, members, { replicas: this.r })
      t.short += this.r - targets.length
      for (const to of targets) {
        const slot = byTarget.get(to.peerId) ?? { to, entries: [] }
        slot.entries.push(e)
        byTarget.set(to.peerId, slot)
      }
    }
    await Promise.all([...byTarget.values()].map(({ to, entries }) => this.toTarget(to, entries, t)))
  }

  private async toTarget(to: Contact, entries: KeyEntry[], t: Tally): Promise<void> {
    let have: boolean[]
    try {
      have = await this.c.chunks.hasAt(
        to,
        entries.map((e) => e.cid),
        { held: true },
      )
    } catch (err) {
      this.c.log.debug({ peer: to.peerId, err: (err as Error).message }, 'handoff: has failed')
      t.short += entries.length
      return
    }
    for (const [i, e] of entries.entries()) {
      if (have[i]) continue
      try {
        const bytes = await this.c.store.get(e.cid)
        const r = await this.c.chunks.putTo(to, e.cid, bytes, 'handoff')
        if (r.outcome !== 'stored') throw new Error(`refused: ${r.reason}`)
        t.sent++
        t.bytes += bytes.byteLength
      } catch (err) {
        this.c.log.debug(
          { peer: to.peerId, cid: e.cid.toString(), err: (err as Error).message },
          'handoff: put failed',
        )
        t.short++
      }
    }
  }
}
