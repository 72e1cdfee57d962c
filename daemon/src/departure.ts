import type { Membership } from '@swarmstore/membership'
import type { Logger } from 'pino'
import type { ReplicaAdapter } from './replica-adapter.js'

/** Puts acknowledged at W get this long to reach R before the node goes. */
const DRAIN_MS = 10_000
/**
 * How long peers wait for a stopped (not departed) node before they declare it dead and re-make
 * its copies elsewhere. Long enough for a restart or an upgrade; while it runs, chunks whose
 * placement includes the node have one copy fewer, and reads ask it last.
 */
export const RESTART_WINDOW_MS = 5 * 60_000

/**
 * How a node goes. `restart`: a temporary absence (`swarmstore stop`, SIGTERM, SIGINT): peers keep
 * it as suspect for the restart window, so nothing is repaired or moved if it is back in time.
 * `leave`: for good (`swarmstore leave`): its chunks were handed off before, and peers forget it at once.
 */
export type DepartureMode = 'restart' | 'leave'

export interface DepartureComponents {
  membership: Pick<Membership, 'leave' | 'pause'>
  replicas: Pick<ReplicaAdapter, 'drain' | 'stats'>
  log: Logger
}

export interface DepartureInit {
  /** how long replications in flight may take to finish on stop; default 10 s */
  drainMs?: number
  /** how long a restart is announced to take; default RESTART_WINDOW_MS */
  restartWindowMs?: number
}

/**
 * The first thing a stopping node does (so it is the last part started): it tells the swarm how it
 * goes and lets replications in flight finish, while every other part still runs.
 */
export class Departure {
  private readonly membership: DepartureComponents['membership']
  private readonly replicas: DepartureComponents['replicas']
  private readonly log: Logger
  private readonly drainMs: number
  private readonly restartWindowMs: number
  private mode: DepartureMode = 'restart'

  constructor(components: DepartureComponents, init: DepartureInit = {}) {
    this.membership = components.membership
    this.replicas = components.replicas
    this.log = components.log
    this.drainMs = init.drainMs ?? DRAIN_MS
    this.restartWindowMs = init.restartWindowMs ?? RESTART_WINDOW_MS
  }

  /** Chooses how the coming stop goes (a restart unless told). */
  prepare(mode: DepartureMode): void {
    this.mode = mode
  }

  start(): void {}

  async stop(): Promise<void> {
    const { mode } = this
    this.log.info({ mode, replicating: this.replicas.stats().replicating }, 'stopping')
    // Both announcements are bounded (membership's leaveTimeoutMs) and end membership's loops.
    if (mode === 'leave') await this.membership.leave().catch(() => {})
    else await this.membership.pause(this.restartWindowMs).catch(() => {})
    // Finish replications in flight (bounded), so acknowledged puts reach R when they can.
    await this.replicas.drain(this.drainMs)
  }
}
