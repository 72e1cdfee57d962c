/**
 * The production KvAcceptor and KvProposer on @swarmstore/sim: a group of acceptor hosts and
 * several client hosts, each running the same classes the daemon will run, through adapters that
 * do here what the daemon's will do there — `send` actions become requests on the simulated
 * network, `persist` actions become writes on a simulated disk, `nextWakeAt` becomes one timer per
 * host. The clients record every operation in the checker's `KvOperation` format and the history
 * is checked for linearizability at the end. Nothing of the protocol is re-implemented here.
 *
 * Modelling choices (stated, not hidden):
 * - Network: one-way latency 1–10 ms per pair, jitter up to 3 ms (so messages reorder), a loss
 *   rate drawn per seed in [0, 5 %), request timeout 300 ms (answered to the proposer as `failed`).
 * - Disk: a batch is durable 0.2–3 ms after the acceptor asks (a timer on the host's clock, drawn
 *   from the host's random stream). A crash kills the timer: the batch is never reported durable
 *   and a random prefix of its records may have reached the disk (a torn group commit). After a
 *   restart the acceptor is rebuilt from the disk alone.
 * - Faults per seed, one every 50–600 ms while clients run: an acceptor crash (back after
 *   20–600 ms, its unsynced state lost), a partition cutting off one acceptor with some clients
 *   (a minority) or two acceptors of three (three of five) with one client (a majority), healed
 *   after 100–1,500 ms, or a client crash (its operation in flight stays open: indeterminate; it
 *   comes back 50–500 ms later as a new incarnation with a new proposer id and a fresh counter).
 * - Acceptors and clients are separate hosts here; in the daemon every node is both. Each client
 *   is sequential (one operation in flight), as a linearizability history requires.
 *
 * Invariants checked as the run goes (beside the history check at the end):
 * - an acceptor never moves backwards: its promise for a key is never below one it replied with,
 *   across crashes (replies only after persist);
 * - an answered operation's state is on a majority of disks: at least a majority of acceptors
 *   durably hold the key at a version ≥ the answer's (a value is chosen by a majority).
 */
import { createHash } from 'node:crypto'
import { SeededRandom } from '@swarmstore/core'
import {
  checkLinearizability,
  type KvOperation,
  type LinearizabilityReport,
  type SimNode,
  Simulator,
} from '@swarmstore/sim'
import {
  type AcceptorAction,
  type AcceptorRecord,
  type Ballot,
  compareBallots,
  type GroupConfig,
  KvAcceptor,
  type KvAnswer,
  KvProposer,
  type KvReply,
  type KvRequest,
  majority,
  type ProposerAction,
} from '../../src/index.js'

export const KV_PROTOCOL = '/swarmstore/sim/kv/1'

export interface KvSimOptions {
  seed: number
  /** acceptors in the group (default 3) */
  acceptors?: number
  /** client hosts, each with its own proposer (default 5) */
  clients?: number
  /** hot keys (default: 1–5, drawn per seed) */
  keys?: number
  /** operations over all clients (default 300) */
  ops?: number
  /** default: drawn per seed in [0, 0.05) */
  lossRate?: number
  /** crashes and partitions (default true) */
  faults?: boolean
  /** the proposers' accept quorum: 1 builds the mutant the checker must catch */
  acceptQuorum?: number
}

export interface KvSimResult {
  seed: number
  history: KvOperation[]
  report: LinearizabilityReport
  /** invariant violations seen as the run went (see the file's header) */
  invariantViolations: string[]
  answered: number
  indeterminate: number
  failed: number
  acceptorCrashes: number
  clientCrashes: number
  partitions: number
  batches: number
  recordsPerBatch: number
  /** proposer attempts that started over, and those that found their own earlier accept chosen */
  retries: number
  recovered: number
  simMs: number
}

/** One acceptor host: a KvAcceptor, its disk, the requests waiting for their replies. */
class AcceptorHost {
  node!: SimNode
  acceptor!: KvAcceptor
  /** durable records, one per (epoch, key): what a restart sees */
  readonly disk = new Map<string, AcceptorRecord>()
  writing: { batch: number; records: readonly AcceptorRecord[] } | undefined
  /** request id → the key it is about and where its reply goes */
  readonly waiting = new Map<number, { key: string; resolve: (r: KvReply) => void }>()
  nextRequest = 1
  /** the highest promise this host ever replied with, per key (the never-backwards oracle) */
  readonly shown = new Map<string, Ballot>()

  constructor(readonly id: string) {}
}

/** One client host: a KvProposer, one operation at a time. */
class ClientHost {
  node!: SimNode
  proposer!: KvProposer
  wakeAt: number | undefined
  /** the operation in flight, if any */
  current: { op: KvOperation; req: KvRequest } | undefined
  /** what this client last saw of each key: present, and at which version */
  readonly seen = new Map<string, { present: boolean; version: number }>()
  nextOp = 1

  constructor(
    readonly id: string,
    public left: number,
  ) {}
}

export class KvCluster {
  readonly sim: Simulator
  readonly config: GroupConfig
  readonly history: KvOperation[] = []
  readonly violations: string[] = []
  readonly keys: string[]
  readonly counts = { acceptorCrashes: 0, clientCrashes: 0, partitions: 0, batches: 0, records: 0 }
  private readonly acceptors = new Map<string, AcceptorHost>()
  private readonly clients = new Map<string, ClientHost>()
  private readonly rnd: SeededRandom
  private readonly opts: KvSimOptions
  private nextOpId = 1
  private partitioned = false
  /** every proposer ever booted (a restarted client gets a new one), for their counters */
  private readonly proposers: KvProposer[] = []

  constructor(opts: KvSimOptions) {
    this.opts = opts
    this.rnd = new SeededRandom(opts.seed ^ 0x6b76)
    this.sim = new Simulator({
      seed: opts.seed,
      latency: { minMs: 1, maxMs: 10 },
      jitterMs: 3,
      lossRate: opts.lossRate ?? this.rnd.next() * 0.05,
      defaultTimeoutMs: 300,
    })
    const n = opts.acceptors ?? 3
    this.config = { epoch: 1, members: Array.from({ length: n }, (_, i) => `a${i}`) }
    const k = opts.keys ?? 1 + this.rnd.int(5)
    this.keys = Array.from({ length: k }, (_, i) => (i === 1 ? 'ключ/1' : `key/${i}`))
    for (const id of this.config.members) this.addAcceptor(id)
    const clients = opts.clients ?? 5
    const ops = opts.ops ?? 300
    for (let i = 0; i < clients; i++) {
      this.addClient(`c${i}`, Math.floor(ops / clients) + (i < ops % clients ? 1 : 0))
    }
  }

  /** Runs until every client has done its share; then checks the history. */
  async run(): Promise<KvSimResult> {
    if (this.opts.faults ?? true) this.scheduleFault()
    await this.sim.run({ stopWhen: () => this.finished(), maxEvents: 5_000_000 })
    const report = checkLinearizability(this.history)
    const settled = this.history.filter(
      (o) => o.result.type !== 'indeterminate' && o.result.type !== 'failed',
    )
    return {
      seed: this.opts.seed,
      history: this.history,
      report,
      invariantViolations: this.violations,
      answered: settled.length,
      indeterminate: this.history.filter((o) => o.result.type === 'indeterminate').length,
      failed: this.history.filter((o) => o.result.type === 'failed').length,
      ...this.counts,
      recordsPerBatch: this.counts.batches === 0 ? 0 : this.counts.records / this.counts.batches,
      retries: this.proposers.reduce((n, p) => n + p.stats().retries, 0),
      recovered: this.proposers.reduce((n, p) => n + p.stats().recovered, 0),
      simMs: this.sim.now(),
    }
  }

  /** A hash of the history: one seed, one run. */
  historyHash(): string {
    const h = createHash('sha256')
    for (const o of this.history) h.update(`${JSON.stringify(o)}\n`)
    return h.digest('hex')
  }

  private finished(): boolean {
    for (const c of this.clients.values()) if (c.left > 0 || c.current !== undefined) return false
    return true
  }

  // ------------------------------------------------------------------------------------------------
  // Acceptor hosts: requests in, persist on the disk, replies out once durable

  private addAcceptor(id: string): void {
    const host = new AcceptorHost(id)
    this.acceptors.set(id, host)
    this.sim.addNode(id, (node) => this.bootAcceptor(host, node))
  }

  private bootAcceptor(host: AcceptorHost, node: SimNode): void {
    host.node = node
    host.writing = undefined
    host.waiting.clear()
    host.acceptor = new KvAcceptor({ id: host.id, restore: host.disk.values() })
    // the group's members found range 0 together (the daemon's genesis has one founder)
    host.acceptor.found(0, this.config)
    node.handle<unknown, KvReply>(KV_PROTOCOL, (_from, msg) => {
      const id = host.nextRequest++
      const key = String((msg as { key?: unknown } | null)?.key)
      const reply = new Promise<KvReply>((resolve) => host.waiting.set(id, { key, resolve }))
      this.feedAcceptor(host, (now) => host.acceptor.receive(id, msg, now))
      return reply
    })
  }

  private feedAcceptor(host: AcceptorHost, feed: (now: number) => void): void {
    if (!this.sim.isUp(host.id)) return
    feed(this.sim.now())
    for (const a of host.acceptor.takeActions()) this.executeAcceptor(host, a)
  }

  private executeAcceptor(host: AcceptorHost, a: AcceptorAction): void {
    if (a.type === 'reply') {
      const w = host.waiting.get(a.id)
      host.waiting.delete(a.id)
      if (w === undefined) return
      this.checkNeverBackwards(host, w.key, a.reply)
      w.resolve(a.reply)
      return
    }
    this.counts.batches++
    this.counts.records += a.records.length
    host.writing = { batch: a.batch, records: a.records }
    const ms = 0.2 + host.node.random.next() * 2.8
    host.node.clock.setTimer(ms, () => {
      for (const r of a.records) host.disk.set(slot(r), r)
      host.writing = undefined
      this.feedAcceptor(host, (now) => host.acceptor.persisted(a.batch, now))
    })
  }

  /** Invariant: a reply never shows a promise the acceptor could later fall below, crash or not. */
  private checkNeverBackwards(host: AcceptorHost, key: string, reply: KvReply): void {
    for (const [k, shown] of host.shown) {
      const promised = host.acceptor.record(0, k)?.promised
      if (promised === undefined || compareBallots(promised, shown) < 0) {
        this.violations.push(`${host.id} moved backwards on ${k} at t=${this.sim.now()}`)
      }
    }
    const b =
      reply.t === 'promise' || reply.t === 'accepted'
        ? reply.ballot
        : reply.t === 'reject'
          ? reply.promised
          : undefined
    const before = host.shown.get(key)
    if (b && (before === undefined || compareBallots(b, before) > 0)) host.shown.set(key, b)
  }

  crashAcceptor(host: AcceptorHost): void {
    if (!this.sim.isUp(host.id)) return
    this.counts.acceptorCrashes++
    // a torn group commit: any prefix of the batch being written may have reached the disk
    const w = host.writing
    if (w) for (const r of w.records.slice(0, this.rnd.int(w.records.length + 1))) host.disk.set(slot(r), r)
    this.sim.crash(host.id)
    this.sim.clock.setTimer(20 + this.rnd.next() * 580, () => this.sim.restart(host.id))
  }

  // ------------------------------------------------------------------------------------------------
  // Client hosts: one KvProposer each, one operation at a time, every operation recorded

  private addClient(id: string, ops: number): void {
    const c = new ClientHost(id, ops)
    this.clients.set(id, c)
    this.sim.addNode(id, (node) => this.bootClient(c, node))
  }

  private bootClient(c: ClientHost, node: SimNode): void {
    c.node = node
    c.wakeAt = undefined
    c.proposer = new KvProposer({
      id: `${c.id}.${node.incarnation}`,
      random: node.random,
      deadlineMs: 2_000,
      attemptTimeoutMs: 250,
      ...(this.opts.acceptQuorum !== undefined ? { acceptQuorum: this.opts.acceptQuorum } : {}),
    })
    this.proposers.push(c.proposer)
    this.thinkThenIssue(c)
  }

  private thinkThenIssue(c: ClientHost): void {
    if (c.left === 0) return
    c.node.clock.setTimer(c.node.random.next() * 20, () => this.issue(c))
  }

  private issue(c: ClientHost): void {
    c.left--
    const req = this.randomRequest(c)
    const now = this.sim.now()
    const base = { id: this.nextOpId++, client: c.id, key: req.key, invokeAt: now }
    const op: KvOperation =
      req.t === 'put'
        ? { ...base, op: 'put', args: { value: req.value }, result: { type: 'indeterminate' } }
        : req.t === 'cas'
          ? {
              ...base,
              op: 'cas',
              args: { expect: req.expect, value: req.value },
              result: { type: 'indeterminate' },
            }
          : { ...base, op: req.t, result: { type: 'indeterminate' } }
    this.history.push(op)
    c.current = { op, req }
    this.feedClient(c, (t) => c.proposer.submit(c.nextOp++, req, { range: 0, config: this.config }, t))
  }

  private randomRequest(c: ClientHost): KvRequest {
    const r = c.node.random
    const key = this.keys[r.int(this.keys.length)]!
    const value = new TextEncoder().encode(`${c.id}.${c.node.incarnation}:${c.nextOp}`)
    const x = r.next()
    if (x < 0.3) return { t: 'put', key, value }
    if (x < 0.6) return { t: 'get', key }
    if (x < 0.75) return { t: 'delete', key }
    const { present, version } = c.seen.get(key) ?? { present: false, version: 0 }
    // mostly the version last seen (or 0 when absent), sometimes a guess
    const expect = r.next() < 0.1 ? r.int(version + 2) : present ? version : 0
    return { t: 'cas', key, expect, value }
  }

  private feedClient(c: ClientHost, feed: (now: number) => void): void {
    if (!this.sim.isUp(c.id)) return
    feed(this.sim.now())
    for (const a of c.proposer.takeActions()) this.executeClient(c, a)
    const at = c.proposer.nextWakeAt()
    if (at === undefined || (c.wakeAt !== undefined && c.wakeAt <= at)) return
    c.wakeAt = at
    c.node.clock.setTimer(Math.max(0, at - this.sim.now()), () => {
      if (c.wakeAt === at) c.wakeAt = undefined
      this.feedClient(c, (now) => c.proposer.tick(Math.max(now, at)))
    })
  }

  private executeClient(c: ClientHost, a: ProposerAction): void {
    if (a.type === 'send') {
      c.node.request<KvReply>(a.to, KV_PROTOCOL, a.msg).then(
        (reply) => this.feedClient(c, (now) => c.proposer.replied(a.id, reply, now)),
        (err: Error) =>
          this.feedClient(c, (now) => c.proposer.replied(a.id, { t: 'failed', reason: err.message }, now)),
      )
      return
    }
    if (a.type === 'config') return // one fixed group here: no range moves yet
    const cur = c.current
    if (cur === undefined) return
    c.current = undefined
    cur.op.returnAt = this.sim.now()
    cur.op.result = toResult(a.answer) as never
    this.learn(c, cur.req, a.answer)
    this.checkOnMajority(cur.req.key, a.answer)
    this.thinkThenIssue(c)
  }

  private learn(c: ClientHost, req: KvRequest, answer: KvAnswer): void {
    if (answer.t === 'unavailable' || answer.t === 'invalid') return
    const present =
      answer.t === 'found' ||
      (answer.t === 'ok' && req.t !== 'delete') ||
      (answer.t === 'conflict' && req.t === 'cas')
    c.seen.set(req.key, { present, version: answer.version })
  }

  /** Invariant: an answer's state is durable on a majority (version ≥ the answer's). */
  private checkOnMajority(key: string, answer: KvAnswer): void {
    if (answer.t === 'unavailable' || answer.t === 'invalid') return
    let holders = 0
    for (const h of this.acceptors.values()) {
      const r = h.disk.get(`k0:${key}`)
      if (r?.t === 'key' && r.accepted && r.accepted.state.version >= answer.version) holders++
    }
    if (holders < majority(this.config.members.length)) {
      this.violations.push(
        `answered ${answer.t} v${answer.version} on ${key} at t=${this.sim.now()} with the state on ${holders} disks`,
      )
    }
  }

  crashClient(c: ClientHost): void {
    if (!this.sim.isUp(c.id)) return
    this.counts.clientCrashes++
    if (c.current) c.current.op.returnAt = undefined // never answered: may take effect, or never
    c.current = undefined
    this.sim.crash(c.id)
    this.sim.clock.setTimer(50 + this.rnd.next() * 450, () => this.sim.restart(c.id))
  }

  // ------------------------------------------------------------------------------------------------
  // Faults

  private scheduleFault(): void {
    this.sim.clock.setTimer(50 + this.rnd.next() * 550, () => {
      if (this.finished()) return
      this.fault()
      this.scheduleFault()
    })
  }

  private fault(): void {
    const x = this.rnd.next()
    const members = this.config.members
    const clientIds = [...this.clients.keys()]
    if (x < 0.4) {
      this.crashAcceptor(this.acceptors.get(members[this.rnd.int(members.length)]!)!)
      return
    }
    if (x < 0.85) {
      if (this.partitioned) return
      this.partitioned = true
      this.counts.partitions++
      const shuffled = shuffle(members, this.rnd)
      const majoritySide = this.rnd.next() < 0.5
      const cut = majoritySide ? majority(members.length) : members.length - majority(members.length)
      const clients = majoritySide ? clientIds.slice(0, 1) : clientIds.filter(() => this.rnd.next() < 0.4)
      this.sim.partition([[...shuffled.slice(0, cut), ...clients]])
      this.sim.clock.setTimer(100 + this.rnd.next() * 1400, () => {
        this.sim.heal()
        this.partitioned = false
      })
      return
    }
    this.crashClient(this.clients.get(clientIds[this.rnd.int(clientIds.length)]!)!)
  }
}

export async function runKvSim(opts: KvSimOptions): Promise<KvSimResult> {
  return new KvCluster(opts).run()
}

function shuffle<T>(xs: readonly T[], rnd: SeededRandom): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function slot(r: AcceptorRecord): string {
  return r.t === 'range' ? `r${r.range}` : `k${r.range}:${r.key}`
}

/** The checker's result for an answer: unavailable is indeterminate iff an accept left. */
function toResult(a: KvAnswer): KvOperation['result'] {
  switch (a.t) {
    case 'ok':
      return { type: 'ok', version: a.version }
    case 'found':
      return { type: 'found', value: a.value, version: a.version }
    case 'notFound':
      return { type: 'notFound', version: a.version }
    case 'conflict':
      return { type: 'conflict', version: a.version }
    case 'unavailable':
      return a.acceptSent ? { type: 'indeterminate' } : { type: 'failed' }
    case 'invalid':
      return { type: 'failed' }
  }
}
