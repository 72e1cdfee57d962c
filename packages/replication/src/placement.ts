/**
 * Placement: a chunk lives on the R closest (XOR) live nodes to its key that are not full.
 * Everybody computes this the same way from the same live set, so holders, uploaders and
 * repairers agree on where a chunk belongs without talking to each other.
 */
import { type Contact, compareDistance, compareKeys, type Key } from '@swarmstore/core'
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
