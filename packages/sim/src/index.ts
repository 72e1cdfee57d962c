/**
 * @packageDocumentation
 * A deterministic discrete-event simulator for swarmstore's state machines: a virtual clock
 * (core's `Clock`), a seeded message bus between node ids with a link model (latency per pair,
 * jitter, loss, partitions, crash/restart), message and byte counters, and invariant checkers
 * that print the seed of a failing run; a linearizability checker for key-value histories.
 */
export * from './errors.js'
export * from './event-queue.js'
export * from './invariants.js'
export * from './linearizability.js'
export * from './link-model.js'
export * from './sim-clock.js'
export * from './sim-node.js'
export * from './simulator.js'
export * from './size-of.js'
