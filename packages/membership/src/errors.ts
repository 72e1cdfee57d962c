import { SwarmstoreError } from '@swarmstore/core'

/** Inbound data is not a well-formed, in-bounds membership message. */
export class InvalidMembershipMessageError extends SwarmstoreError {
  constructor(message: string) {
    super('MEMBERSHIP_INVALID_MESSAGE', message)
  }
}

/** Local metadata exceeds the bounds in limits.ts. */
export class InvalidMetaError extends SwarmstoreError {
  constructor(message: string) {
    super('MEMBERSHIP_INVALID_META', message)
  }
}

/** The membership instance is stopped (or has left) and serves nothing. */
export class MembershipStoppedError extends SwarmstoreError {
  constructor() {
    super('MEMBERSHIP_STOPPED', 'membership is stopped')
  }
}

/** join() could reach none of the given seeds. */
export class JoinFailedError extends SwarmstoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MEMBERSHIP_JOIN_FAILED', message, options)
  }
}
