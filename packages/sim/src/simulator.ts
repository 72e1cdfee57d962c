import { SeededRandom } from '@swarmstore/core'
import { SimDeadlockError, SimNodeDownError, SimRemoteError, SimTimeoutError } from './errors.js'
import { EventQueue } from './event-queue.js'
import { type LatencyModel, mix32, pairUniform } from './link-model.js'
import { SimClock } from './sim-clock.js'
import { SimNode } from './sim-node.js'
import { defaultSizeOf } from './size-of.js'

/** Handles one incoming message; for a request, its return value (or resolved promise) is the reply. */
export type Handler<Req = unknown, Res = unknown> = (from: string, msg: Req) => Res | Promise<Res>

export interface SimOptions {
  seed: number
  /** One-way latency per node pair. Default: uniform 10–100 ms, fixed per pair, drawn from the seed. */
  latency?: LatencyModel
  /** Extra per-message delay, uniform in [0, jitterMs). Default 0. */
  jitterMs?: number
  /** Probability that any one message (request, reply or one-way) is lost. Default 0. */
  lossRate?: number
  /** Request timeout when the caller gives none. Default 1000 ms. */
  defaultTimeoutMs?: number
  /** Estimated wire size of a payload, for the byte counters. Default: a structural estimate. */
  sizeOf?: (protocol: string, payload: unknown) => number
  /**
   * Microtask turns granted after each event that may have queued continuations (settled request,
   * timer, async handler), so they run at the virtual time of the event that resolved them.
   * Deeper chains still run, deterministically, just "later". Default 4.
   */
  microtaskTicks?: number
}

export interface RequestOptions {
  timeoutMs?: number
}

export interface ProtocolStats {
  messages: number
  bytes: number
}

export interface SimStats {
  /** Every message put on the wire: requests, replies, one-way sends (lost ones included). */
  messages: number
  bytes: number
  requests: number
  replies: number
  lost: number
  partitioned: number
  /** Messages that arrived at a crashed node. */
  toDownNode: number
  timeouts: number
  /** Replies that arrived after their request had timed out. */
  lateReplies: number
  events: number
  byProtocol: Map<string, ProtocolStats>
}

export interface RunOptions {
  /** Stop before the first event later than this virtual time; the clock then reads `until`. */
  until?: number
  /** Checked after every event; the run stops once it returns true. */
  stopWhen?: () => boolean
  /** Safety valve against livelock. Default: unlimited. */
  maxEvents?: number
}

/**
 * A deterministic discrete-event simulator: one virtual clock, one event queue, one message bus
 * between node ids, and every random choice (latencies, jitter, loss, per-node randomness) derived
 * from one seed. Same seed and same driving code ⇒ the same run, event for event.
 */
export class Simulator {
  readonly seed: number
  readonly clock: SimClock
  /** Randomness for the driver (workload choices); independent of the network's stream. */
  readonly random: SeededRandom
  readonly stats: SimStats = {
    messages: 0,
    bytes: 0,
    requests: 0,
    replies: 0,
    lost: 0,
    partitioned: 0,
    toDownNode: 0,
    timeouts: 0,
    lateReplies: 0,
    events: 0,
    byProtocol: new Map(),
  }
  lossRate: number
  jitterMs: number

  private readonly queue = new EventQueue()
  private readonly nodes = new Map<string, SimNode>()
  private readonly netRandom: SeededRandom
  private readonly latency: LatencyModel
  private readonly defaultTimeoutMs: number
  private readonly sizeOf: (protocol: string, payload: unknown) => number
  private readonly microtaskTicks: number
  private readonly group = new Map<string, number>()
  private running = false

  constructor(opts: SimOptions) {
    this.seed = opts.seed >>> 0
    this.clock = new SimClock(this.queue)
    this.random = new SeededRandom(this.seed)
    this.netRandom = new SeededRandom(mix32(this.seed ^ 0x6e657477))
    this.latency = opts.latency ?? { minMs: 10, maxMs: 100 }
    this.jitterMs = opts.jitterMs ?? 0
    this.lossRate = opts.lossRate ?? 0
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 1000
    this.sizeOf = opts.sizeOf ?? ((_p, payload) => defaultSizeOf(payload))
    this.microtaskTicks = opts.microtaskTicks ?? 4
  }

  now(): number {
    return this.clock.current
  }

  /** Adds a node; `boot` installs its state machines now and again after every restart. */
  addNode(id: string, boot?: (node: SimNode) => void): SimNode {
    if (this.nodes.has(id)) throw new TypeError(`duplicate node id ${id}`)
    const index = this.nodes.size
    const node = new SimNode(this, id, index, this.nodeRandom(index, 0), boot)
    this.nodes.set(id, node)
    boot?.(node)
    return node
  }

  node(id: string): SimNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new SimNodeDownError(`unknown node ${id}`)
    return n
  }

  hasNode(id: string): boolean {
    return this.nodes.has(id)
  }

  /** All node ids in the order they were added. */
  nodeIds(): string[] {
    return [...this.nodes.keys()]
  }

  isUp(id: string): boolean {
    return this.nodes.get(id)?.up === true
  }

  /** Kills a node: its handlers and timers vanish, messages to it are dropped, its pending requests never settle. */
  crash(id: string): void {
    const node = this.node(id)
    if (!node.up) return
    node.up = false
    node.handlers.clear()
    for (const t of node.timers) this.clock.clearTimer(t)
    node.timers.clear()
  }

  /** Brings a crashed node back as a new incarnation with fresh state (its `boot` runs again). */
  restart(id: string): SimNode {
    const node = this.node(id)
    if (node.up) return node
    node.incarnation++
    node.up = true
    node.random = this.nodeRandom(node.index, node.incarnation)
    node.boot?.(node)
    return node
  }

  /** Splits the network: nodes in different groups cannot talk; unlisted nodes form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.group.clear()
    groups.forEach((g, i) => {
      for (const id of g) this.group.set(id, i + 1)
    })
  }

  heal(): void {
    this.group.clear()
  }

  canTalk(a: string, b: string): boolean {
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0)
  }

  /** The fixed one-way base latency between two nodes (no jitter). */
  linkLatency(from: string, to: string): number {
    const l = this.latency
    if (typeof l === 'function') return l(from, to)
    const a = this.node(from).index
    const b = this.node(to).index
    return l.minMs + pairUniform(this.seed, a, b) * (l.maxMs - l.minMs)
  }

  /**
   * Sends `msg` to `to` and resolves with the value its handler returns. Rejects with
   * SimTimeoutError when no reply arrives within timeoutMs (loss, partition, crash, slowness),
   * with SimRemoteError when the handler throws or is missing. If the caller crashes meanwhile,
   * the promise never settles (the process that awaited it is gone).
   */
  request<Res = unknown, Req = unknown>(
    from: string,
    to: string,
    protocol: string,
    msg: Req,
    opts?: RequestOptions,
  ): Promise<Res> {
    const src = this.nodes.get(from)
    if (src === undefined || !src.up) return Promise.reject(new SimNodeDownError(`node ${from} is down`))
    if (!this.nodes.has(to)) return Promise.reject(new SimNodeDownError(`unknown node ${to}`))
    const inc = src.incarnation
    const timeoutMs = opts?.timeoutMs ?? this.defaultTimeoutMs
    this.stats.requests++
    return new Promise<Res>((resolve, reject) => {
      let settled = false
      const timer = this.clock.setTimer(timeoutMs, () => {
        if (settled) return
        settled = true
        if (!src.up || src.incarnation !== inc) return
        this.stats.timeouts++
        this.clock.continuations = true
        reject(new SimTimeoutError(`${protocol} ${from}→${to} timed out after ${timeoutMs} ms`))
      })
      const onReply = (ok: boolean, value: unknown): void => {
        if (!src.up || src.incarnation !== inc) return
        if (settled) {
          this.stats.lateReplies++
          return
        }
        settled = true
        this.clock.clearTimer(timer)
        this.clock.continuations = true
        if (ok) resolve(value as Res)
        else reject(value)
      }
      this.transmit(from, to, protocol, msg, (dst) => {
        const handler = dst.handlers.get(protocol)
        if (handler === undefined) {
          this.reply(
            to,
            from,
            protocol,
            false,
            new SimRemoteError('SIM_NO_HANDLER', `${to} has no ${protocol} handler`),
            onReply,
          )
          return
        }
        let result: unknown
        try {
          result = handler(from, msg)
        } catch (err) {
          this.reply(to, from, protocol, false, remoteError(err), onReply)
          return
        }
        const dstInc = dst.incarnation
        if (result instanceof Promise) {
          this.clock.continuations = true
          result.then(
            (v) => {
              if (dst.up && dst.incarnation === dstInc) this.reply(to, from, protocol, true, v, onReply)
            },
            (err) => {
              if (dst.up && dst.incarnation === dstInc)
                this.reply(to, from, protocol, false, remoteError(err), onReply)
            },
          )
        } else {
          this.reply(to, from, protocol, true, result, onReply)
        }
      })
    })
  }

  /** One-way message: the handler runs at the receiver, its result is discarded. */
  send<Req = unknown>(from: string, to: string, protocol: string, msg: Req): void {
    const src = this.nodes.get(from)
    if (src === undefined || !src.up) throw new SimNodeDownError(`node ${from} is down`)
    this.transmit(from, to, protocol, msg, (dst) => {
      const handler = dst.handlers.get(protocol)
      if (handler === undefined) return
      try {
        const r = handler(from, msg)
        if (r instanceof Promise) {
          this.clock.continuations = true
          r.catch(() => {})
        }
      } catch {
        // a one-way message has no one to report to, as on a real network
      }
    })
  }

  /** Runs events in time order until the queue is empty, `until`, `stopWhen` or `maxEvents`. */
  async run(opts: RunOptions = {}): Promise<void> {
    if (this.running) throw new TypeError('Simulator.run is not re-entrant')
    this.running = true
    try {
      let count = 0
      const ticks = this.microtaskTicks
      for (;;) {
        if (opts.stopWhen?.()) return
        if (opts.maxEvents !== undefined && count >= opts.maxEvents) return
        let ev = this.queue.peek()
        if (ev === undefined) {
          // Let any straggling continuations (deeper than `ticks`) schedule their events.
          await new Promise<void>((r) => setImmediate(r)) // io-edge: full microtask drain, not time
          ev = this.queue.peek()
          if (ev === undefined || opts.stopWhen?.()) break
        }
        if (opts.until !== undefined && ev.time > opts.until) break
        this.queue.pop()
        const fn = ev.fn
        if (fn === null) continue
        if (ev.time > this.clock.current) this.clock.current = ev.time
        count++
        this.stats.events++
        this.clock.continuations = false
        fn()
        // Yield only if the event may have queued promise continuations (a settled request, a
        // timer, an async handler); a plain delivery to a synchronous handler needs none.
        if (this.clock.continuations) for (let i = 0; i < ticks; i++) await undefined
      }
      if (opts.until !== undefined && opts.until > this.clock.current) this.clock.current = opts.until
    } finally {
      this.running = false
    }
  }

  /** Runs the simulation until `p` settles, then returns its value (or throws its error). */
  async settle<T>(p: Promise<T>, opts: { until?: number; maxEvents?: number } = {}): Promise<T> {
    let done = false
    let ok = false
    let value: T | undefined
    let error: unknown
    p.then(
      (v) => {
        done = true
        ok = true
        value = v
      },
      (e) => {
        done = true
        error = e
      },
    )
    await this.run({ ...opts, stopWhen: () => done })
    if (!done) await new Promise<void>((r) => setImmediate(r)) // io-edge: full microtask drain
    if (!done) throw new SimDeadlockError(`promise still pending at t=${this.now()} ms with no events left`)
    if (!ok) throw error
    return value as T
  }

  /** Number of events (timers, deliveries) still scheduled, cancelled ones included. */
  get pendingEvents(): number {
    return this.queue.size
  }

  private nodeRandom(index: number, incarnation: number): SeededRandom {
    return new SeededRandom(mix32(this.seed ^ mix32(index * 0x9e3779b1 + 1)) ^ mix32(incarnation + 0x1234567))
  }

  private count(protocol: string, payload: unknown): void {
    const bytes = this.sizeOf(protocol, payload)
    this.stats.messages++
    this.stats.bytes += bytes
    let p = this.stats.byProtocol.get(protocol)
    if (p === undefined) {
      p = { messages: 0, bytes: 0 }
      this.stats.byProtocol.set(protocol, p)
    }
    p.messages++
    p.bytes += bytes
  }

  /** Puts one message on the wire; `deliver` runs at the receiver if it arrives. */
  private transmit(
    from: string,
    to: string,
    protocol: string,
    payload: unknown,
    deliver: (dst: SimNode) => void,
  ): void {
    this.count(protocol, payload)
    if (!this.canTalk(from, to)) {
      this.stats.partitioned++
      return
    }
    if (this.lossRate > 0 && this.netRandom.next() < this.lossRate) {
      this.stats.lost++
      return
    }
    let delay = this.linkLatency(from, to)
    if (this.jitterMs > 0) delay += this.netRandom.next() * this.jitterMs
    this.queue.push(this.clock.current + delay, () => {
      const dst = this.nodes.get(to)
      if (dst === undefined || !dst.up) {
        this.stats.toDownNode++
        return
      }
      // A partition raised while the message was in flight also cuts it.
      if (!this.canTalk(from, to)) {
        this.stats.partitioned++
        return
      }
      deliver(dst)
    })
  }

  private reply(
    from: string,
    to: string,
    protocol: string,
    ok: boolean,
    value: unknown,
    onReply: (ok: boolean, value: unknown) => void,
  ): void {
    this.stats.replies++
    this.transmit(from, to, protocol, ok ? value : { error: String(value) }, () => onReply(ok, value))
  }
}

function remoteError(err: unknown): SimRemoteError {
  if (err instanceof SimRemoteError) return err
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  const e = new SimRemoteError('SIM_REMOTE_ERROR', msg)
  ;(e as { remoteCode?: string }).remoteCode = (err as { code?: string })?.code
  return e
}
