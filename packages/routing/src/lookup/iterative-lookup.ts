import { type Clock, type Contact, compareDistance, KEY_BYTES, type Key } from '@swarmstore/core'
import type { RoutingNetwork } from '../network.js'
import type { LookupResult } from './lookup-result.js'

const NEW = 0
const IN_FLIGHT = 1
const ANSWERED = 2
const FAILED = 3

interface Candidate {
  contact: Contact
  /** First 32 bits of the distance to the target: a numeric fast path for ordering. */
  d: number
  hop: number
  state: number
}

function prefixDistance(k: Key, t: Key): number {
  return (((k[0]! ^ t[0]!) << 24) | ((k[1]! ^ t[1]!) << 16) | ((k[2]! ^ t[2]!) << 8) | (k[3]! ^ t[3]!)) >>> 0
}

export interface LookupContext {
  self: Contact
  clock: Clock
  network: Pick<RoutingNetwork, 'findNode'>
  k: number
  alpha: number
  timeoutMs: number
  maxCandidates: number
  /** Called when a contact answered (it is alive: the table hears of it). */
  onAnswer(contact: Contact): void
  /** Called when a request to a contact failed (the table counts it; one failure never evicts). */
  onFailure(contact: Contact): void
  /** Polled before each step; true aborts the lookup (stop()). */
  stopped(): boolean
}

/**
 * Iterative FIND_NODE (paper §2.3). Keeps a shortlist ordered by distance to the target and at
 * most α requests in flight, always to the nearest not-yet-queried contacts among the k nearest
 * that have not failed. It ends only when those k nearest have all answered — the paper's rule,
 * which is what makes the result the true k closest rather than "closest seen so far". A request
 * that fails drops the contact from this lookup only (the table decides about eviction).
 */
export function iterativeLookup(ctx: LookupContext, target: Key, seeds: Contact[]): Promise<LookupResult> {
  const { k, alpha, clock, network } = ctx
  const started = clock.now()
  const cands: Candidate[] = []
  const byId = new Map<string, Candidate>()
  let inFlight = 0
  let messages = 0
  let failures = 0
  let done = false

  const insert = (contact: Contact, hop: number, state: number): void => {
    if (byId.has(contact.peerId)) return
    const d = prefixDistance(contact.key, target)
    let lo = 0
    let hi = cands.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const m = cands[mid]!
      if (m.d < d || (m.d === d && compareDistance(m.contact.key, contact.key, target) < 0)) lo = mid + 1
      else hi = mid
    }
    if (lo >= ctx.maxCandidates) return
    const c: Candidate = { contact, d, hop, state }
    cands.splice(lo, 0, c)
    byId.set(contact.peerId, c)
    if (cands.length > ctx.maxCandidates) byId.delete(cands.pop()!.contact.peerId)
  }

  insert(ctx.self, 0, ANSWERED)
  for (const s of seeds) insert(s, 0, NEW)

  return new Promise<LookupResult>((resolve) => {
    const deadline = clock.setTimer(ctx.timeoutMs, () => finish(false))

    function finish(completed: boolean): void {
      if (done) return
      done = true
      clock.clearTimer(deadline)
      const closest: Contact[] = []
      let hops = 0
      for (const c of cands) {
        if (c.state !== ANSWERED) continue
        if (closest.length === 0) hops = c.hop
        closest.push(c.contact)
        if (closest.length === k) break
      }
      resolve({ target, closest, hops, messages, failures, durationMs: clock.now() - started, completed })
    }

    function query(c: Candidate): void {
      c.state = IN_FLIGHT
      inFlight++
      messages++
      let p: Promise<Contact[]>
      try {
        p = network.findNode(c.contact, target)
      } catch (err) {
        p = Promise.reject(err)
      }
      p.then(
        (reply) => {
          inFlight--
          c.state = ANSWERED
          ctx.onAnswer(c.contact)
          if (done) return
          const n = Array.isArray(reply) ? Math.min(reply.length, k) : 0 // truncate long replies
          for (let i = 0; i < n; i++) {
            const r = reply[i] as Contact
            if (typeof r !== 'object' || r === null) continue
            const id = r.peerId
            // Most of a reply is already known to this lookup: check that first, validate the rest.
            if (typeof id !== 'string' || byId.has(id) || id === ctx.self.peerId || !isContact(r)) continue
            insert(r, c.hop + 1, NEW)
          }
          step()
        },
        () => {
          inFlight--
          c.state = FAILED
          failures++
          ctx.onFailure(c.contact)
          if (!done) step()
        },
      )
    }

    function step(): void {
      if (done) return
      if (ctx.stopped()) {
        finish(false)
        return
      }
      let seen = 0
      let pending = 0
      for (let i = 0; i < cands.length && seen < k; i++) {
        const c = cands[i]!
        if (c.state === FAILED) continue
        seen++
        if (c.state === NEW && inFlight < alpha) query(c)
        if (c.state !== ANSWERED) pending++
      }
      if (pending === 0) finish(true)
    }

    step()
  })
}

function isContact(x: unknown): x is Contact {
  const c = x as Contact
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.peerId === 'string' &&
    c.key instanceof Uint8Array &&
    c.key.length === KEY_BYTES &&
    Array.isArray(c.addrs)
  )
}
