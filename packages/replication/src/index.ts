/**
 * @packageDocumentation
 * Pure replication logic for swarmstore: where a chunk lives (placement), whether a node takes a
 * pushed chunk (admission), when a put is acknowledged (quorum, chained transfer), how a get
 * finds a holder (read plan), and what a node does to keep R copies as the swarm changes
 * (healing). No I/O: the daemon sends, stores and times; this package decides.
 */
export * from './accept.js'
export * from './anti-entropy.js'
export * from './chain.js'
export * from './constants.js'
export * from './errors.js'
export * from './healing-planner.js'
export * from './member-ring.js'
export * from './placement.js'
export * from './put-quorum.js'
export * from './rate-limiter.js'
export * from './read-plan.js'
export * from './replica-node.js'
export * from './stalls.js'
