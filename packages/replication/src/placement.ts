/**
 * Placement: a chunk lives on the R closest (XOR) live nodes to its key that are not full.
 * Everybody computes this the same way from the same live set, so holders, uploaders and
 * repairers agree on where a chunk belongs without talking to each other.
 */
import { type Contact, compareDistance, compareKeys, type Key, mix32 } from '@swarmstore/core'
import { DEFAULT_REPLICAS } from './constants.js'
import { checkReplicationOptions } from './errors.js'

export interface PlacementOptions {
  /** R, default 3. */
  replicas?: number
  /** A full node is skipped (it keeps what it has, it just receives nothing new). */
  isFull?: (c: Contact) => boolean
}

/**
 * Total order "nearer to target first"; ties (equal keys, which a real swarm never has) fall back
 * to the peer id so the result never depends on input order.
 */
export function byDistanceTo(target: Key): (a: Contact, b: Contact) => number {
  return (a, b) => {
    const d = compareDistance(a.key, b.key, target)
    if (d !== 0) return d
    return a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0
  }
}

/** Candidates sorted nearest first, duplicates (same peer id) removed. Does not modify the input. */
export function orderByDistance(key: Key, candidates: readonly Contact[]): Contact[] {
  const seen = new Set<string>()
  const out: Contact[] = []
  for (const c of candidates) {
    if (seen.has(c.peerId)) continue
    seen.add(c.peerId)
    out.push(c)
  }
  return out.sort(byDistanceTo(key))
}

/**
 * The R closest non-full candidates to key, nearest first. Fewer than R when fewer qualify.
 * Deterministic: the same set of candidates in any order gives the same answer.
 */
export function selectReplicas(
  key: Key,
  candidates: readonly Contact[],
  opts: PlacementOptions = {},
): Contact[] {
  const replicas = opts.replicas ?? DEFAULT_REPLICAS
  checkReplicationOptions(replicas, 1)
  const out: Contact[] = []
  for (const c of orderByDistance(key, candidates)) {
    if (opts.isFull?.(c) === true) continue
    out.push(c)
    if (out.length === replicas) break
  }
  return out
}

/** How many of `others` are strictly nearer to key than self (self's rank, 0 = closest). */
export function rankAmong(selfKey: Key, key: Key, others: readonly Contact[]): number {
  let rank = 0
  for (const c of others) {
    if (compareKeys(c.key, selfKey) === 0) continue
    if (compareDistance(c.key, selfKey, key) < 0) rank++
  }
  return rank
}

/**
 * A holder's turn to fill a chunk's gaps: a hash of holder ⊕ chunk key (the XOR distance, hashed):
 * the holder with the lowest score goes first, the next waits one stagger, and so on. Not the
 * distance itself: the chunks a dead member shared with its nearest XOR neighbour have that same
 * neighbour as their nearest surviving holder, so "nearest first" put a dead member's whole share
 * on one sender (bench:heal, 6 nodes: 260 of 260 copies from one daemon, repair 57 MB/s; with
 * hashed turns 86–123 MB/s over 11 runs). The hash spreads the turns evenly over the holders, and
 * every holder still computes the same order without talking to the others.
 */
export function repairTurnScore(holder: Key, key: Key): number {
  // FNV-1a over holder ⊕ key, then mix32 so every input bit reaches every output bit
  let h = 0x811c9dc5
  const n = Math.min(holder.length, key.length)
  for (let i = 0; i < n; i++) h = Math.imul(h ^ (holder[i]! ^ key[i]!), 0x01000193)
  return mix32(h)
}

/** Whether holder `a` takes its turn before holder `b` for `key` (ties, never seen, by peer id). */
export function repairsBefore(a: Contact, b: Contact, key: Key): boolean {
  const sa = repairTurnScore(a.key, key)
  const sb = repairTurnScore(b.key, key)
  return sa !== sb ? sa < sb : a.peerId < b.peerId
}
