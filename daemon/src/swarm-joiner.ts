import type { Contact } from '@swarmstore/core'
import type { Membership } from '@swarmstore/membership'
import type { Kademlia } from '@swarmstore/routing'
import type { Logger } from 'pino'
import type { PeerCache } from './peer-cache.js'

/** The routing table's contacts are saved this often (and once more on stop). */
const SAVE_PEERS_MS = 30_000
/** The first retry of a failed join waits this long, doubling up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 500
const MAX_RETRY_MS = 30_000

export interface SwarmJoinerComponents {
  routing: Kademlia
  membership: Pick<Membership, 'join'>
  peerCache: Pick<PeerCache, 'load' | 'save'>
  log: Logger
  /** aborted when the daemon begins to stop: no join is retried from then on */
  stopping: AbortSignal
  /** our own peer id (a saved contact of ourselves is skipped) */
  selfId: string
  /** why a failed join failed, when it is something the operator must fix (a swarm key) */
  explainFailure: () => Promise<string | undefined>
}

export interface SwarmJoinerInit {
  /** the configured bootstrap contacts */
  bootstraps: Contact[]
}

/**
 * Joins the swarm in the background with backoff: a bootstrap that is not up yet is retried,
 * forever. Contacts saved by an earlier run join the configured bootstraps, so a restarted first
 * node (no --bootstrap) finds its swarm again; the routing table is saved for the next run, and
 * routes are refreshed, while the node runs.
 */
export class SwarmJoiner {
  private readonly routing: Kademlia
  private readonly membership: Pick<Membership, 'join'>
  private readonly peerCache: Pick<PeerCache, 'load' | 'save'>
  private readonly log: Logger
  private readonly stopping: AbortSignal
  private readonly selfId: string
  private readonly explainFailure: SwarmJoinerComponents['explainFailure']
  private readonly bootstraps: Contact[]
  private saveTimer: NodeJS.Timeout | undefined
  private joined: boolean
  private lastProblem: string | undefined

  constructor(components: SwarmJoinerComponents, init: SwarmJoinerInit) {
    this.routing = components.routing
    this.membership = components.membership
    this.peerCache = components.peerCache
    this.log = components.log
    this.stopping = components.stopping
    this.selfId = components.selfId
    this.explainFailure = components.explainFailure
    this.bootstraps = init.bootstraps
    this.joined = init.bootstraps.length === 0
  }

  /** Joined the swarm, or has nothing to join (no bootstrap given). */
  get ready(): boolean {
    return this.joined
  }

  /** Why joining fails, when the operator must act (a swarm key that differs); cleared once joined. */
  get problem(): string | undefined {
    return this.lastProblem
  }

  async start(): Promise<void> {
    const saved = (await this.peerCache.load()).filter(
      (c) => c.peerId !== this.selfId && !this.bootstraps.some((b) => b.peerId === c.peerId),
    )
    // io-edge
    this.saveTimer = setInterval(() => {
      if (this.routing.size > 0) this.peerCache.save(this.routing.contacts()).catch(() => {})
    }, SAVE_PEERS_MS)
    this.saveTimer.unref()
    this.routing.start()
    this.join([...this.bootstraps, ...saved], saved.length).catch((err) =>
      this.log.error({ err }, 'join loop failed'),
    )
  }

  async stop(): Promise<void> {
    this.routing.stop()
    clearInterval(this.saveTimer)
    if (this.routing.size > 0) await this.peerCache.save(this.routing.contacts())
  }

  private async join(joinWith: Contact[], savedCount: number): Promise<void> {
    let delay = FIRST_RETRY_MS
    while (!this.stopping.aborted && joinWith.length > 0) {
      try {
        const r = await this.routing.join(joinWith)
        // membership: one reachable seed suffices; routing already found several
        const seeds = this.routing
          .contacts()
          .slice(0, 8)
          .map((c) => c.peerId)
        const m = await this.membership.join(seeds).catch((err) => {
          this.log.warn({ err: (err as Error).message }, 'membership join failed; gossip will find us')
          return 0
        })
        this.joined = true
        this.lastProblem = undefined
        this.log.info({ contacts: r.contacts, lookups: r.lookups, members: m }, 'joined the swarm')
        return
      } catch (err) {
        const e = err as Error & { code?: string }
        if (this.bootstraps.length === 0) {
          // a first node whose saved peers are all gone: it is a swarm of one until someone joins it
          this.log.info({ saved: savedCount }, 'no saved peer answered; running alone until a peer joins')
          return
        }
        this.lastProblem = await this.explainFailure().catch(() => undefined)
        if (this.lastProblem !== undefined) {
          this.log.error({ code: 'SWARM_KEY_MISMATCH', retryInMs: delay }, this.lastProblem)
        } else this.log.warn({ code: e.code, err: e.message, retryInMs: delay }, 'join failed; retrying')
        await new Promise((r) => setTimeout(r, delay).unref()) // io-edge
        delay = Math.min(delay * 2, MAX_RETRY_MS)
      }
    }
  }
}
