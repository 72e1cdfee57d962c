/**
 * @packageDocumentation
 * Kademlia routing as pure logic: a k-bucket routing table (paper split rule with the relaxation,
 * bounded replacement cache, eviction only after repeated failures), α-parallel iterative
 * FIND_NODE that ends by the paper's rule, bucket refresh, and handlers for incoming requests.
 * Given a Clock, a Random and a RoutingNetwork; it never touches sockets or timers itself.
 */
export * from './constants.js'
export * from './errors.js'
export * from './events.js'
export * from './kademlia.js'
export * from './lookup/lookup-result.js'
export * from './network.js'
export * from './refresh/random-key-in-bucket.js'
export type { Entry } from './routing-table/k-bucket.js'
export { KBucket } from './routing-table/k-bucket.js'
export * from './routing-table/routing-table.js'
