/**
 * @packageDocumentation
 * swarmstore's peer protocol: protocol ids (`/swarmstore/<swarm>/<name>/<major>`), every message
 * schema (one source of truth, validated before use), and bounded varint length-prefixed framing
 * with a deadline on every read.
 */
export * from './buffer-pool.js'
export * from './errors.js'
export * from './framing.js'
export * from './messages.js'
export * from './protocols.js'
export * from './transport.js'
export * from './varint.js'
