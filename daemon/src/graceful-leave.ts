import type { Membership } from '@swarmstore/membership'
import type { Logger } from 'pino'
import type { ReplicaAdapter } from './replica-adapter.js'

/** Puts acknowledged at W get this long to reach R before the node goes. */
const DRAIN_MS = 10_000

export interface GracefulLeaveComponents {
  membership: Pick<Membership, 'leave'>
  replicas: Pick<ReplicaAdapter, 'drain' | 'stats'>
  log: Logger
}

export interface GracefulLeaveInit {
  /** how long replications in flight may take to finish on stop; default 10 s */
  drainMs?: number
}

/**
 * The first thing a stopping node does (so it is the last part started): it tells the swarm it is
 * leaving and lets replications in flight finish, while every other part still runs.
 */
export class GracefulLeave {
  private readonly membership: Pick<Membership, 'leave'>
  private readonly replicas: GracefulLeaveComponents['replicas']
  private readonly log: Logger
  private readonly drainMs: number

  constructor(components: GracefulLeaveComponents, init: GracefulLeaveInit = {}) {
    this.membership = components.membership
    this.replicas = components.replicas
    this.log = components.log
    this.drainMs = init.drainMs ?? DRAIN_MS
  }

  start(): void {}

  async stop(): Promise<void> {
    this.log.info({ replicating: this.replicas.stats().replicating }, 'stopping')
    // announce a graceful leave (bounded), so peers hand off instead of waiting for a suspicion
    await this.membership.leave().catch(() => {})
    // Finish replications in flight (bounded), so acknowledged puts reach R when they can.
    await this.replicas.drain(this.drainMs)
  }
}
