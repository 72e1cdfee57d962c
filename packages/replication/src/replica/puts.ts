import type { Contact, Key } from '@swarmstore/core'
import { type PutOutcome, PutQuorum, type PutStep } from '../put-quorum.js'
import type { Outbox } from './outbox.js'
import type { ReplicaReply } from './types.js'

interface PutState {
  acked: boolean
  settled: boolean
  candidates: number
}

/** A peer that refused for capacity is skipped by our puts for this long. */
const FULL_PEER_MS = 60_000

export interface ReplicaPutsInit {
  self: Contact
  replicas: number
  writeQuorum: number
  /** this node takes no copies (capacity 0) */
  selfFull: boolean
  /** members that advertise no free capacity */
  isAdvertisedFull: (peerId: string) => boolean
}

/**
 * Puts of chunks: the closest nodes by a lookup, then the PutQuorum over them — acknowledged at W,
 * settled when `fanout` copies are made (the holders make the rest between themselves).
 */
export class ReplicaPuts {
  private readonly out: Outbox
  private readonly init: ReplicaPutsInit
  private readonly fullPeers = new Map<string, number>()
  /** puts not yet settled */
  private open = 0
  private now = 0

  constructor(out: Outbox, init: ReplicaPutsInit) {
    this.out = out
    this.init = init
  }

  get size(): number {
    return this.open
  }

  start(op: number, key: Key, fanout: number, now: number): void {
    this.open++
    this.out.lookup(key, (reply, t) => {
      if (reply.t !== 'contacts') {
        this.open--
        this.out.emit({
          type: 'put-failed',
          op,
          message: reply.t === 'failed' ? reply.reason : reply.t,
          lookup: true,
        })
        return
      }
      this.run(op, key, fanout, reply.contacts, t)
    })
    this.now = now
  }

  private isFull = (c: Contact): boolean => {
    if (c.peerId === this.init.self.peerId) return this.init.selfFull
    if (this.init.isAdvertisedFull(c.peerId)) return true
    const until = this.fullPeers.get(c.peerId)
    if (until === undefined) return false
    if (until < this.now) {
      this.fullPeers.delete(c.peerId)
      return false
    }
    return true
  }

  private run(op: number, key: Key, fanout: number, candidates: readonly Contact[], now: number): void {
    this.now = now
    const q = new PutQuorum({
      key,
      candidates,
      replicas: this.init.replicas,
      writeQuorum: this.init.writeQuorum,
      fanout,
      isFull: this.isFull,
    })
    const state: PutState = { acked: false, settled: false, candidates: candidates.length }
    this.step(op, q, q.start(), state)
  }

  private step(op: number, q: PutQuorum, s: PutStep, state: PutState): void {
    for (const c of s.send) {
      this.out.send(c, { t: 'put', op, key: q.key }, (reply, now) => {
        this.now = now
        const outcome = toOutcome(c, reply)
        if (outcome.outcome === 'refused' && outcome.reason === 'no-capacity') {
          this.fullPeers.set(c.peerId, now + FULL_PEER_MS)
        }
        if (outcome.outcome === 'failed') this.out.emit({ type: 'peer-failed', to: c })
        this.step(op, q, q.apply(outcome), state)
      })
    }
    if (q.acknowledged && !state.acked) {
      state.acked = true
      this.out.emit({ type: 'put-acknowledged', op, holders: [...q.holders] })
    }
    if (q.settled && !state.settled) this.settle(op, q, state)
  }

  private settle(op: number, q: PutQuorum, state: PutState): void {
    state.settled = true
    this.open--
    if (state.acked) {
      this.out.emit({ type: 'put-settled', op, holders: [...q.holders] })
      return
    }
    const why = [
      ...q.refused.map((r) => `${r.contact.peerId.slice(-6)} refused (${r.reason})`),
      ...q.failed.map((f) => `${f.contact.peerId.slice(-6)} failed (${f.reason})`),
    ]
    const message = `reached ${q.holders.length} of W=${q.writeQuorum} replicas among ${state.candidates} candidates${why.length ? `: ${why.join('; ')}` : ''}`
    this.out.emit({ type: 'put-failed', op, message, lookup: false })
  }
}

function toOutcome(c: Contact, reply: ReplicaReply): PutOutcome {
  if (reply.t === 'stored') return { peerId: c.peerId, outcome: 'stored' }
  if (reply.t === 'refused') return { peerId: c.peerId, outcome: 'refused', reason: reply.reason }
  if (reply.t === 'failed' && reply.timeout === true) return { peerId: c.peerId, outcome: 'unknown' }
  return {
    peerId: c.peerId,
    outcome: 'failed',
    reason: reply.t === 'failed' ? reply.reason : `unexpected ${reply.t}`,
  }
}
