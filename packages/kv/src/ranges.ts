/**
 * Ranges: the keyspace of key-value entries cut into a fixed number of contiguous ranges, each to
 * be held by one group (R members under an epoch-numbered configuration decided by the group's own
 * consensus — the next layer). This file holds the pure parts: which range a key is in, and which
 * members a range *should* have given the live members (the target a reconfiguration moves to).
 *
 * Why a fixed number (as Riak's and Garage's partitions) rather than Scatter's splits and merges:
 * moving a whole range between member sets is the only reconfiguration there is (no transaction
 * between two groups, no range boundaries to agree on), and 4,096 ranges × R = 3 give 12,288
 * member slots — one per node for swarms of up to ~10,000 nodes, and an even load at 20 (the
 * spread test: no member over ~1.3× its fair share of ranges).
 *
 * Why rendezvous (highest-random-weight) hashing for the target: every node computes the same
 * target from the same live set, independently; a join or a death changes the target of only the
 * ranges where that member enters or leaves the top R (≈ R/n of them), so churn moves little.
 */
import { type Key, mix32 } from '@swarmstore/core'

/** Ranges are named by the top RANGE_BITS of a key. */
export const RANGE_BITS = 12
export const RANGE_COUNT = 1 << RANGE_BITS

/** The range a key (a 32-byte keyspace key, e.g. `keyForKvName(name)`) belongs to. */
export function rangeOf(key: Key): number {
  return ((key[0]! << 8) | key[1]!) >>> (16 - RANGE_BITS)
}

export interface RangeCandidate {
  readonly peerId: string
  /** the member's keyspace key (32 bytes) */
  readonly key: Key
}

/**
 * The members a range should have: the `replicas` candidates with the highest rendezvous score for
 * it (ties, vanishingly rare, broken by peer id). Independent of the candidates' order.
 */
export function targetMembers(
  range: number,
  candidates: readonly RangeCandidate[],
  replicas: number,
): string[] {
  return candidates
    .map((c) => ({ id: c.peerId, score: rendezvousScore(range, c.key) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, replicas)
    .map((s) => s.id)
}

/**
 * A 32-bit score of (range, member): a murmur3-style finalizer over the range and the first eight
 * bytes of the member's key (already uniform: a SHA-256 output). Cheap enough for every range of
 * a 10,000-node swarm (4,096 × 10,000 scores in well under a second).
 */
export function rendezvousScore(range: number, memberKey: Key): number {
  const a = ((memberKey[0]! << 24) | (memberKey[1]! << 16) | (memberKey[2]! << 8) | memberKey[3]!) >>> 0
  const b = ((memberKey[4]! << 24) | (memberKey[5]! << 16) | (memberKey[6]! << 8) | memberKey[7]!) >>> 0
  return mix32(mix32(a ^ Math.imul(range + 1, 0x9e3779b1)) ^ b)
}

/** How many ranges each candidate is a target member of (for load reports and tests). */
export function rangesPerMember(
  candidates: readonly RangeCandidate[],
  replicas: number,
): Map<string, number> {
  const out = new Map<string, number>(candidates.map((c) => [c.peerId, 0]))
  for (let r = 0; r < RANGE_COUNT; r++) {
    for (const id of targetMembers(r, candidates, replicas)) out.set(id, (out.get(id) ?? 0) + 1)
  }
  return out
}
