/**
 * @packageDocumentation
 * SWIM-style membership with Lifeguard, as a pure state machine over an injected Clock, Random and
 * request/response network. See README.md for the protocol, the LAN profile and the invariants.
 */

export * from './away.js'
export * from './broadcast-queue.js'
export * from './config.js'
export * from './errors.js'
export * from './incarnation.js'
export * from './limits.js'
export * from './local-health.js'
export * from './membership.js'
export * from './protocol.js'
export * from './suspicion.js'
export * from './types.js'
export * from './validate.js'
