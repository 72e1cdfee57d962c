/**
 * @packageDocumentation
 * The swarmstore daemon: a libp2p 3 node (TCP + Noise + yamux, identify, ping) that composes
 * routing, storage and replication, serves the peer protocols, and a local control API.
 */
export * from './config.js'
export { type Daemon, startDaemon } from './daemon.js'
export type { DepartureMode } from './departure.js'
export * from './errors.js'
export { banner, runDaemon } from './run-daemon.js'
