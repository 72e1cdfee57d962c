/**
 * @packageDocumentation
 * Linearizable key-value registers for swarmstore (issue 21), first layer: one fixed group of
 * acceptors per configuration, and CASPaxos (Rystsov 2018) per key — `KvAcceptor` and `KvProposer`
 * as sans-I/O state machines, the register model they apply (`register.ts`, the same model the
 * history checker in `@swarmstore/sim` replays), ballots, limits, the messages between them and
 * their parser. No I/O: the daemon sends, writes and times; this package decides.
 */
export * from './acceptor.js'
export * from './ballot.js'
export * from './config.js'
export * from './constants.js'
export * from './errors.js'
export * from './group-commit.js'
export * from './limits.js'
export * from './messages.js'
export * from './mover.js'
export * from './proposer.js'
export * from './ranges.js'
export * from './register.js'
export * from './sweeper.js'
