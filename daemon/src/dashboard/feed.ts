import type { ServerResponse } from 'node:http'
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { Membership } from '@swarmstore/membership'
import type { Metrics } from '../metrics.js'
import type { ReplicaAdapter } from '../replica-adapter.js'
import { diskView, type HealthView, memberViews, type SnapshotComponents } from './snapshot.js'
import { EventMarks, TrafficHistory } from './traffic-history.js'

/** The lag timer's period: each measured delay includes it, so it is taken off what is reported. */
const LAG_RESOLUTION_MS = 20
/** files offered in the placement view */
const RECENT_PUTS = 20

export interface DashboardFeedComponents extends SnapshotComponents {
  membership: SnapshotComponents['membership'] & Pick<Membership, 'onEvent'>
  replicas: Pick<ReplicaAdapter, 'stats'>
  metrics: Pick<Metrics, 'traffic'>
}

export interface DashboardFeedInit {
  replicas: number
  capacity: number | null
  /** sampling period; default 1 s */
  intervalMs?: number
  /** open event streams at once; default 16 (each costs a socket and a write a second) */
  maxClients?: number
}

/**
 * The live side of the dashboard: once a second, one sample (traffic rates from the byte totals,
 * members, disk, health) serialised once and written to every open event stream. Sampling runs
 * only while a page is open; the traffic totals and membership marks are kept all the time, so a
 * page opened late still shows the last 15 minutes.
 */
export class DashboardFeed {
  private readonly c: DashboardFeedComponents
  private readonly init: Required<DashboardFeedInit>
  private readonly history = new TrafficHistory(900)
  private readonly marks = new EventMarks()
  private readonly clients = new Set<ServerResponse>()
  /** the last files put through this node's API, newest last */
  private readonly puts: { cid: string; size: number; t: number }[] = []
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS })
  private timer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined
  private started = 0
  private underReplicatedCount = 0
  private underReplicatedDue = 0

  constructor(components: DashboardFeedComponents, init: DashboardFeedInit) {
    this.c = components
    this.init = { intervalMs: 1000, maxClients: 16, ...init }
  }

  start(): void {
    this.started = Date.now() // io-edge
    this.unsubscribe = this.c.membership.onEvent((e) => {
      if (e.type === 'updated') return
      this.marks.add({ t: Date.now(), type: e.type, peer: e.member.id }) // io-edge
    })
    // the history is kept whether or not a page is open: cheap (a few additions a second)
    this.timer = setInterval(() => this.tick().catch(() => {}), this.init.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.unsubscribe?.()
    this.lag.disable()
    this.closeClients()
  }

  /** Ends every event stream (the API closes before the feed's parts). */
  closeClients(): void {
    for (const res of this.clients) res.end()
    this.clients.clear()
  }

  recordPut(cid: string, size: number): void {
    this.puts.push({ cid, size, t: Date.now() }) // io-edge
    if (this.puts.length > RECENT_PUTS) this.puts.shift()
  }

  /** `GET /v1/dashboard/events`: the history, then a snapshot a second. */
  async subscribe(res: ServerResponse): Promise<boolean> {
    if (this.clients.size >= this.init.maxClients) return false
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    })
    const now = Date.now() // io-edge
    res.write(
      `event: history\ndata: ${JSON.stringify({ samples: this.history.samples(), events: this.marks.recent(now) })}\n\n`,
    )
    // counted before the await, so a burst of connections cannot pass the limit together
    this.clients.add(res)
    // the loop-lag timer wakes the process 50 times a second: it runs only while a page is open
    if (this.clients.size === 1) this.lag.enable()
    res.on('close', () => {
      this.clients.delete(res)
      if (this.clients.size === 0) this.lag.disable()
    })
    const first = `event: snapshot\ndata: ${JSON.stringify(await this.snapshot(now, undefined))}\n\n`
    if (!res.destroyed) res.write(first)
    return true
  }

  private async tick(): Promise<void> {
    const now = Date.now() // io-edge
    const sample = this.history.add(now, this.c.metrics.traffic, this.underReplicated(now))
    if (this.clients.size === 0) {
      this.lag.reset()
      return
    }
    // one serialisation for every client
    const frame = `event: snapshot\ndata: ${JSON.stringify(await this.snapshot(now, sample))}\n\n`
    this.lag.reset()
    for (const res of this.clients) res.write(frame)
  }

  private async snapshot(now: number, sample: unknown): Promise<Record<string, unknown>> {
    return {
      t: now,
      selfId: this.c.node.peerId.toString(),
      replicas: this.init.replicas,
      members: memberViews(this.c),
      sample: sample ?? null,
      underReplicated: this.underReplicated(now),
      events: this.marks.recent(now).slice(-50),
      recentPuts: this.puts,
      disk: await diskView(this.c, this.init.capacity),
      health: this.health(now),
    }
  }

  /**
   * The under-replicated count walks every held chunk's placement (O(held)): recomputed at most as
   * often as keeps it under 1 % of a core — every second on a small store, less often on a big one.
   */
  private underReplicated(now: number): number {
    if (now >= this.underReplicatedDue) {
      const t0 = performance.now()
      this.underReplicatedCount = this.c.replicas.stats().underReplicated
      // half a period: a tick that comes a little early still recomputes a cheap count
      this.underReplicatedDue = now + Math.max(this.init.intervalMs / 2, (performance.now() - t0) * 100)
    }
    return this.underReplicatedCount
  }

  private health(now: number): HealthView {
    const mem = process.memoryUsage()
    const ms = (ns: number) =>
      Number.isFinite(ns) ? Math.max(0, Math.round(ns / 1e4 - LAG_RESOLUTION_MS * 100) / 100) : 0
    return {
      uptimeSeconds: Math.round((now - this.started) / 1000),
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      loopLagMeanMs: ms(this.lag.mean),
      loopLagMaxMs: ms(this.lag.max),
      connections: this.c.node.getConnections().length,
    }
  }
}
