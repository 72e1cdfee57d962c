/**
 * @packageDocumentation
 * The swarmstore daemon: a libp2p 3 node (TCP + Noise + yamux, identify, ping) that composes
 * routing, storage and replication, serves the peer protocols, and a local control API.
 */
export * from './config.js'
export { type Daemon, runDaemon, startDaemon } from './daemon.js'
export * from './errors.js'
