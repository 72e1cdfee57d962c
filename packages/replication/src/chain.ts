/**
 * Chained replication: the uploader sends the chunk once, to the nearest target (the head), with
 * the list of targets after it; each node stores and at the same time streams the bytes on to the
 * next, so the uploader's uplink carries 1× the data instead of R×. Reports flow back up the
 * chain: every node relays its downstream reports to its upstream and adds its own (`stored`
 * only after its fsync), so the uploader's PutQuorum sees one report per target.
 *
 *   uploader ──chunk,[n2,n3]──▶ n1 ──chunk,[n3]──▶ n2 ──chunk,[]──▶ n3
 *            ◀──n1 stored, n2 stored, n3 stored (relayed)──────────────
 *
 * A broken link:
 * - a node whose next hop refuses or fails reports that (refused/failed) and forwards to the hop
 *   after it instead (ChainRelay.skip), so one bad node costs one hop, not the rest of the chain;
 * - when the uploader loses its stream to the head, or a node loses its upstream, nobody below the
 *   break can report any more: the uploader marks every target without a report `unknown`
 *   (ChainTracker.broken) and its PutQuorum re-queues them and picks replacements. Copies a
 *   target did store without being able to report are surplus at worst; repair trims them.
 */
import type { Contact } from '@swarmstore/core'
import type { PutOutcome } from './put-quorum.js'

/** One hop: send the chunk to `to`, asking it to forward along `forward`. */
export interface ChainHop {
  readonly to: Contact
  readonly forward: readonly Contact[]
}

/** The chain for a set of targets (nearest first, as PutQuorum returns them). */
export function planChain(targets: readonly Contact[]): ChainHop | undefined {
  const [to, ...forward] = targets
  return to === undefined ? undefined : { to, forward }
}

/** A node in the middle of a chain: whom to forward to, and what to do when that hop breaks. */
export class ChainRelay {
  private readonly rest: Contact[]
  private current: ChainHop | undefined

  /** `forward` is the list this node received with the chunk. */
  constructor(forward: readonly Contact[]) {
    this.rest = [...forward]
    this.current = planChain(this.rest)
  }

  /** The hop to open now (undefined: this node is the tail). */
  get next(): ChainHop | undefined {
    return this.current
  }

  /**
   * The current next hop refused or failed: the report to relay upstream for it, and the hop to
   * open instead (skipping it). Reports already relayed from beyond the broken hop stand.
   */
  skip(outcome: { outcome: 'refused'; reason: string } | { outcome: 'failed'; reason?: string }): {
    report: PutOutcome
    next: ChainHop | undefined
  } {
    const cur = this.current
    if (cur === undefined) throw new Error('ChainRelay.skip with no next hop')
    const report: PutOutcome =
      outcome.outcome === 'refused'
        ? { peerId: cur.to.peerId, outcome: 'refused', reason: outcome.reason }
        : { peerId: cur.to.peerId, outcome: 'failed', reason: outcome.reason ?? 'failed' }
    this.current = planChain(cur.forward)
    return { report, next: this.current }
  }
}

/** The uploader's view of one chain: which targets have reported, to settle the rest on a break. */
export class ChainTracker {
  private readonly pending: Set<string>

  constructor(hop: ChainHop) {
    this.pending = new Set([hop.to.peerId, ...hop.forward.map((c) => c.peerId)])
  }

  /** Record a report relayed up the chain; false when it is not about a pending target (ignore it). */
  report(r: PutOutcome): boolean {
    return this.pending.delete(r.peerId)
  }

  get done(): boolean {
    return this.pending.size === 0
  }

  /** The chain broke: every target that has not reported gets an `unknown` outcome. */
  broken(): PutOutcome[] {
    const out: PutOutcome[] = [...this.pending].map((peerId) => ({ peerId, outcome: 'unknown' as const }))
    this.pending.clear()
    return out
  }
}
