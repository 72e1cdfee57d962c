import { SwarmstoreError } from '@swarmstore/core'

/** Too many lookups queued: back-pressure instead of unbounded memory. */
export class RoutingBusyError extends SwarmstoreError {
  constructor(message: string) {
    super('ROUTING_BUSY', message)
  }
}

/** The routing instance was stopped while the operation waited. */
export class RoutingStoppedError extends SwarmstoreError {
  constructor(message = 'routing stopped') {
    super('ROUTING_STOPPED', message)
  }
}
