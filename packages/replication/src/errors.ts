import { SwarmstoreError } from '@swarmstore/core'

/** Options that cannot describe a working replica set (e.g. W > R, R < 1). */
export class InvalidReplicationOptionsError extends SwarmstoreError {
  constructor(message: string) {
    super('ERR_REPLICATION_OPTIONS', message)
  }
}

/** A state machine was told about a peer it never asked (a late or forged reply). */
export class UnexpectedReplyError extends SwarmstoreError {
  constructor(peerId: string, what: string) {
    super('ERR_UNEXPECTED_REPLY', `${what} from ${peerId}, which was not asked`)
  }
}

export function checkReplicationOptions(replicas: number, writeQuorum: number): void {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new InvalidReplicationOptionsError(`replicas must be an integer ≥ 1, got ${replicas}`)
  }
  if (!Number.isInteger(writeQuorum) || writeQuorum < 1 || writeQuorum > replicas) {
    throw new InvalidReplicationOptionsError(
      `write quorum must be an integer in [1, replicas=${replicas}], got ${writeQuorum}`,
    )
  }
}
