/**
 * The production ReplicaNode on @swarmstore/sim: every simulated host runs the same class the
 * daemon runs, through an adapter that does here what daemon/src/replica-adapter.ts does there —
 * actions become chunk-protocol messages (has, put, get) on the simulated network, disk writes and
 * one timer; replies, stored chunks and membership changes go back in. Nothing of the replication
 * logic is re-implemented for the test.
 *
 * Modelling choices (stated, not hidden):
 * - Disk: a write is durable `fsyncMs` after it arrives, and only then answered `stored`; a crash
 *   loses every write not yet reported durable (its timer dies with the node).
 * - Membership: ideal with delay. One shared live view learns of a death `detectMs` after it and of
 *   a join `joinMs` after it, and every live node hears of it then. Lookups answer from that view.
 *   (The membership package's gossip is tested on its own.)
 * - The admission check (shouldAccept) runs on that view, as the daemon's runs on its routing table.
 *
 * The oracle (never consulted by a node) tracks the durable copies of every chunk and checks the
 * invariants as the run goes: a put acknowledged only with ≥ W durable copies; a copy dropped only
 * when every live member of its placement holds one; no chunk left without a copy.
 */
import { createHash } from 'node:crypto'
import { type Contact, type Key, keyToHex, SeededRandom } from '@swarmstore/core'
import { type SimNode, SimTimeoutError, Simulator } from '@swarmstore/sim'
import {
  MemberRing,
  type ReplicaAction,
  ReplicaNode,
  type ReplicaReply,
  type ReplicaRequest,
  shouldAccept,
} from '../../src/index.js'

export const CHUNK = '/swarmstore/sim/chunk/1'
const HEADER_BYTES = 64
const LOOKUP_K = 20

type Msg = { t: 'has'; keys: Key[] } | { t: 'put'; key: Key } | { t: 'get'; key: Key }
type Answer =
  | { t: 'have'; have: boolean[] }
  | { t: 'stored' }
  | { t: 'refused'; reason: string }
  | { t: 'block' }
  | { t: 'missing' }

/** Deliberately broken rules, to show that the invariants catch them. */
export type Mutant = 'ack-below-w' | 'drop-unconfirmed'

export interface ClusterOptions {
  seed: number
  replicas?: number
  writeQuorum?: number
  healing?: boolean
  detectMs?: number
  joinMs?: number
  graceMs?: number
  repairMiBps?: number
  fsyncMs?: number
  lossRate?: number
  chunkBytes?: number
  mutant?: Mutant
}

export interface Violation {
  at: number
  invariant: string
  detail: string
}

/** One simulated host: a ReplicaNode, its disk, its timer. */
export class SimReplica {
  readonly contact: Contact
  node!: ReplicaNode
  /** durable chunks (key hex → key) */
  readonly disk = new Map<string, Key>()
  /** writes not yet durable */
  readonly writing = new Set<string>()
  alive = true
  sim!: SimNode
  wakeAt: number | undefined
  readonly callers = new Map<number, (a: ReplicaAction) => void>()

  constructor(contact: Contact) {
    this.contact = contact
  }
}

export class ReplicaCluster {
  readonly sim: Simulator
  readonly view = new MemberRing()
  readonly replicas: Map<string, SimReplica> = new Map()
  readonly violations: Violation[] = []
  readonly R: number
  readonly W: number
  /** durable copies of every chunk ever stored (key hex → holders) */
  readonly holders = new Map<string, Set<string>>()
  readonly acked = new Set<string>()
  lost = 0
  drops = 0
  pushes = 0
  refusals = 0
  /** the key of each put in flight (host/op → key hex) */
  private readonly opKeys = new Map<string, string>()
  private readonly opts: ClusterOptions
  private readonly rnd: SeededRandom
  private readonly trace = createHash('sha256')
  private nextId = 0
  private nextOp = 1

  constructor(opts: ClusterOptions) {
    this.opts = opts
    this.R = opts.replicas ?? 3
    this.W = opts.writeQuorum ?? 2
    const chunkBytes = opts.chunkBytes ?? 1 << 20
    this.rnd = new SeededRandom(opts.seed ^ 0x4ea1)
    this.sim = new Simulator({
      seed: opts.seed,
      defaultTimeoutMs: 5_000,
      ...(opts.lossRate !== undefined ? { lossRate: opts.lossRate } : {}),
      sizeOf: (_p, m) => {
        const t = (m as { t?: string } | null)?.t
        return t === 'put' || t === 'block' ? chunkBytes + HEADER_BYTES : HEADER_BYTES
      },
    })
  }

  get healing(): boolean {
    return this.opts.healing ?? true
  }

  now(): number {
    return this.sim.now()
  }

  /** A hash of every action every node took, in order: one seed, one trace. */
  traceHash(): string {
    return this.trace.copy().digest('hex')
  }

  live(): SimReplica[] {
    return [...this.replicas.values()].filter((r) => r.alive)
  }

  /** A new host with a fresh key; it joins the view `joinMs` later (at once with `now`). */
  addNode(opts: { now?: boolean } = {}): SimReplica {
    const contact: Contact = { peerId: `n${this.nextId++}`, key: this.rnd.bytes(32), addrs: [] }
    const r = new SimReplica(contact)
    this.replicas.set(contact.peerId, r)
    this.sim.addNode(contact.peerId, (n) => this.boot(r, n))
    if (opts.now) this.view.add(contact)
    else this.sim.clock.setTimer(this.opts.joinMs ?? 1_000, () => this.announce(contact, true))
    return r
  }

  /** Seeds a chunk on its R closest members, each told of the others (as a finished put would). */
  seedChunk(key: Key): void {
    const p = this.view.closest(key, this.R)
    for (const c of p) {
      const r = this.replicas.get(c.peerId)!
      this.durable(r, key)
      r.node.stored(key, this.now(), { knownHolders: p.map((x) => x.peerId), fresh: false })
    }
  }

  /**
   * Kills a host. `wipe`: its disk is gone for good (a replaced machine). Otherwise its durable
   * chunks survive for a `restart`. Membership learns of it `detectMs` later.
   */
  crash(id: string, opts: { wipe: boolean }): void {
    const r = this.replicas.get(id)!
    if (!r.alive) return
    r.alive = false
    this.sim.crash(id)
    r.writing.clear()
    for (const h of r.disk.keys()) {
      const set = this.holders.get(h)!
      set.delete(id)
      if (set.size === 0) this.lost++
    }
    if (opts.wipe) r.disk.clear()
    // a host back before its death was detected refuted it (its new incarnation outranks it)
    this.sim.clock.setTimer(this.opts.detectMs ?? 5_000, () => {
      if (!r.alive) this.announce(r.contact, false)
    })
  }

  /** Brings a crashed host back with the same identity and what its disk kept. */
  restart(id: string): void {
    const r = this.replicas.get(id)!
    if (r.alive) return
    r.alive = true
    for (const h of r.disk.keys()) this.holdersOf(h).add(id)
    this.sim.restart(id)
    this.announce(r.contact, true, { ask: true })
  }

  /** Membership wrongly declares a live host dead for `ms`. */
  falseDeath(id: string, ms: number): void {
    const r = this.replicas.get(id)!
    this.announce(r.contact, false)
    this.sim.clock.setTimer(ms, () => {
      // back as 'alive': the daemon asks a returning member about its chunks
      if (r.alive) this.announce(r.contact, true)
    })
  }

  put(from: SimReplica, key: Key, fanout = this.W): Promise<ReplicaAction> {
    const op = this.nextOp++
    const p = new Promise<ReplicaAction>((resolve) => from.callers.set(op, resolve))
    this.opKeys.set(`${from.contact.peerId}/${op}`, keyToHex(key))
    this.input(from, (now) => from.node.put(op, key, fanout, now))
    return p
  }

  read(from: SimReplica, key: Key): Promise<ReplicaAction> {
    const op = this.nextOp++
    const p = new Promise<ReplicaAction>((resolve) => from.callers.set(op, resolve))
    const local = this.view.closest(key, this.R).filter((c) => c.peerId !== from.contact.peerId)
    this.input(from, (now) => from.node.read(op, key, local, now))
    return p
  }

  /** After the run: chunks off their R closest live members, and copies outside them. */
  placementReport(): { underReplicated: number; surplusCopies: number } {
    let under = 0
    let surplus = 0
    for (const [h, set] of this.holders) {
      if (set.size === 0) continue
      const p = this.view.closest(Uint8Array.from(Buffer.from(h, 'hex')), this.R)
      if (!p.every((m) => set.has(m.peerId))) under++
      for (const id of set) if (!p.some((m) => m.peerId === id)) surplus++
    }
    return { underReplicated: under, surplusCopies: surplus }
  }

  private announce(c: Contact, up: boolean, opts: { ask: boolean } = { ask: true }): void {
    if (up) this.view.add(c)
    else this.view.remove(c.peerId)
    if (!this.healing) return
    for (const r of this.replicas.values()) {
      if (!r.alive || r.contact.peerId === c.peerId) continue
      this.input(r, (now) => (up ? r.node.memberUp(c, opts, now) : r.node.memberDown(c, now)))
    }
  }

  private boot(r: SimReplica, n: SimNode): void {
    r.sim = n
    r.wakeAt = undefined
    r.callers.clear()
    r.node = this.makeNode(r)
    n.handle<Msg, Answer>(CHUNK, (from, m) => this.serve(r, from, m))
    // a restarted host registers what its disk kept, as the daemon does from its store
    for (const key of r.disk.values()) r.node.stored(key, this.now())
    this.input(r, (now) => r.node.start(now))
  }

  /** The broken rule: a pushed copy counts as confirmed when it is sent, not when it is stored. */
  private confirmEarly(r: SimReplica, key: Key, to: Contact): void {
    r.sim.clock.setTimer(0, () => {
      r.node.planner.confirmed(key, to.peerId)
      this.input(r, (now) => r.node.lacks(key, '-', now))
    })
  }

  private makeNode(r: SimReplica): ReplicaNode {
    const node = new ReplicaNode({
      self: r.contact,
      view: this.view,
      replicas: this.R,
      writeQuorum: this.opts.mutant === 'ack-below-w' ? this.W - 1 : this.W,
      repairBytesPerSecond: (this.opts.repairMiBps ?? 20) * (this.opts.chunkBytes ?? 1 << 20),
      chunkBytes: this.opts.chunkBytes ?? 1 << 20,
      ...(this.opts.graceMs !== undefined ? { graceMs: this.opts.graceMs } : {}),
    })
    return node
  }

  /** One input to a host's node, then its actions carried out and its timer re-armed. */
  input(r: SimReplica, feed: (now: number) => void): void {
    if (!r.alive) return
    feed(this.now())
    for (const a of r.node.takeActions()) this.execute(r, a)
    const at = r.node.nextWakeAt()
    if (at === undefined || (r.wakeAt !== undefined && r.wakeAt <= at)) return
    r.wakeAt = at
    r.sim.clock.setTimer(Math.max(0, at - this.now()), () => {
      if (r.wakeAt === at) r.wakeAt = undefined
      // now + (at − now) can land a hair before `at` in floating point: the wake-up is for `at`
      this.input(r, (now) => r.node.tick(Math.max(now, at)))
    })
  }

  private record(r: SimReplica, a: ReplicaAction): void {
    const to = 'to' in a ? a.to.peerId : ''
    const key =
      'key' in a
        ? keyToHex(a.key).slice(0, 8)
        : 'req' in a && 'key' in a.req
          ? keyToHex(a.req.key).slice(0, 8)
          : ''
    const t = a.type === 'send' ? `send:${a.req.t}` : a.type
    this.trace.update(`${this.now()} ${r.contact.peerId} ${t} ${to} ${key}\n`)
  }

  private execute(r: SimReplica, a: ReplicaAction): void {
    this.record(r, a)
    switch (a.type) {
      case 'send':
        this.send(r, a.id, a.to, a.req)
        return
      case 'lookup': {
        const contacts = this.view.closest(a.key, LOOKUP_K)
        r.sim.clock.setTimer(0, () => this.reply(r, a.id, { t: 'contacts', contacts }))
        return
      }
      case 'drop':
        this.drop(r, a.key)
        return
      case 'put-acknowledged':
        this.checkAcknowledged(r, a)
        r.callers.get(a.op)?.(a)
        r.callers.delete(a.op)
        return
      case 'put-failed':
      case 'read-found':
      case 'read-failed':
        r.callers.get(a.op)?.(a)
        r.callers.delete(a.op)
        return
      default:
        return
    }
  }

  private reply(r: SimReplica, id: number, reply: ReplicaReply): void {
    this.input(r, (now) => r.node.replied(id, reply, now))
  }

  private send(r: SimReplica, id: number, to: Contact, req: ReplicaRequest): void {
    const msg = this.message(r, to, req)
    if (msg === undefined) {
      const reply: ReplicaReply =
        req.t === 'push' ? { t: 'unreadable' } : { t: 'failed', reason: 'no anti-entropy in this simulation' }
      this.reply(r, id, reply)
      return
    }
    r.sim.request<Answer>(to.peerId, CHUNK, msg).then(
      (ans) => this.reply(r, id, toReply(ans)),
      (err: Error) =>
        this.reply(r, id, { t: 'failed', reason: err.message, timeout: err instanceof SimTimeoutError }),
    )
  }

  /** The chunk-protocol message for a request; undefined when there is none to send. */
  private message(r: SimReplica, to: Contact, req: ReplicaRequest): Msg | undefined {
    switch (req.t) {
      case 'has':
        return { t: 'has', keys: [...req.keys] }
      case 'get':
        return { t: 'get', key: req.key }
      case 'put':
        return { t: 'put', key: req.key }
      case 'push':
        if (!r.disk.has(keyToHex(req.key))) return undefined
        this.pushes++
        if (this.opts.mutant === 'drop-unconfirmed') this.confirmEarly(r, req.key, to)
        return { t: 'put', key: req.key }
      default:
        return undefined
    }
  }

  /** The receiving side of the chunk protocol, as the daemon's ChunkService serves it. */
  private serve(r: SimReplica, from: string, m: Msg): Answer | Promise<Answer> {
    if (m.t === 'get') return r.disk.has(keyToHex(m.key)) ? { t: 'block' } : { t: 'missing' }
    if (m.t === 'has') {
      const have = m.keys.map((k) => r.disk.has(keyToHex(k)) || r.writing.has(keyToHex(k)))
      this.input(r, (now) => r.node.peerHolds(from, m.keys, now))
      return { t: 'have', have }
    }
    const h = keyToHex(m.key)
    if (r.disk.has(h)) return { t: 'stored' }
    const d = shouldAccept({
      selfKey: r.contact.key,
      key: m.key,
      closestKnown: this.view.closest(m.key, 2 * this.R + 1),
      replicas: this.R,
      hasCapacity: true,
    })
    if (!d.accept) {
      this.refusals++
      return { t: 'refused', reason: d.reason }
    }
    r.writing.add(h)
    return new Promise<Answer>((resolve) => {
      r.sim.clock.setTimer(this.opts.fsyncMs ?? 2, () => {
        r.writing.delete(h)
        if (!r.disk.has(h)) {
          this.durable(r, m.key)
          this.input(r, (now) => r.node.stored(m.key, now))
        }
        resolve({ t: 'stored' })
      })
    })
  }

  private holdersOf(h: string): Set<string> {
    let set = this.holders.get(h)
    if (set === undefined) {
      set = new Set()
      this.holders.set(h, set)
    }
    return set
  }

  private durable(r: SimReplica, key: Key): void {
    const h = keyToHex(key)
    r.disk.set(h, key)
    this.holdersOf(h).add(r.contact.peerId)
  }

  /** Invariant: a copy is dropped only when every live member of its placement holds one. */
  private drop(r: SimReplica, key: Key): void {
    const h = keyToHex(key)
    const set = this.holdersOf(h)
    const placement = this.view.closest(key, this.R)
    const missing = placement.filter((m) => this.replicas.get(m.peerId)?.alive && !set.has(m.peerId))
    if (missing.length > 0) {
      this.violate(
        'no copy dropped before its replacements are confirmed',
        `${r.contact.peerId} dropped ${h.slice(0, 12)} while ${missing.map((m) => m.peerId).join(',')} lacked it`,
      )
    }
    r.disk.delete(h)
    set.delete(r.contact.peerId)
    this.drops++
    if (set.size === 0) this.lost++
  }

  /** Invariant: a put is acknowledged only with at least W durable copies. */
  private checkAcknowledged(r: SimReplica, a: ReplicaAction & { type: 'put-acknowledged' }): void {
    const h = this.opKeys.get(`${r.contact.peerId}/${a.op}`)
    if (h === undefined) return
    const n = this.holdersOf(h).size
    if (n < this.W)
      this.violate(
        'acknowledged ⇒ ≥ W durable copies',
        `${h.slice(0, 12)} acknowledged with ${n} of W=${this.W}`,
      )
    this.acked.add(h)
  }

  private violate(invariant: string, detail: string): void {
    this.violations.push({ at: this.now(), invariant, detail })
  }
}

function toReply(a: Answer): ReplicaReply {
  switch (a.t) {
    case 'have':
      return { t: 'have', have: a.have }
    case 'stored':
      return { t: 'stored' }
    case 'refused':
      return { t: 'refused', reason: a.reason }
    case 'block':
      return { t: 'found' }
    case 'missing':
      return { t: 'missing' }
  }
}
