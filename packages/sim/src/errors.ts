import { SwarmstoreError } from '@swarmstore/core'

/** A request got no reply within its timeout (lost, partitioned, slow, or the peer crashed). */
export class SimTimeoutError extends SwarmstoreError {
  constructor(message: string) {
    super('SIM_TIMEOUT', message)
  }
}

/** The remote handler threw, or the remote node has no handler for the protocol. */
export class SimRemoteError extends SwarmstoreError {
  constructor(code: 'SIM_REMOTE_ERROR' | 'SIM_NO_HANDLER', message: string) {
    super(code, message)
  }
}

/** The calling node is down (crashed) or unknown. */
export class SimNodeDownError extends SwarmstoreError {
  constructor(message: string) {
    super('SIM_NODE_DOWN', message)
  }
}

/** The event queue ran dry while a promise the caller waits on was still pending. */
export class SimDeadlockError extends SwarmstoreError {
  constructor(message: string) {
    super('SIM_DEADLOCK', message)
  }
}

/** An invariant checker failed; the message carries the seed that replays the run. */
export class InvariantViolation extends SwarmstoreError {
  readonly seed: number
  constructor(seed: number, message: string) {
    super('SIM_INVARIANT', `${message} (seed=${seed}; replay with SIM_SEED=${seed})`)
    this.seed = seed
  }
}
