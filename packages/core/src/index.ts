/**
 * @packageDocumentation
 * The shared vocabulary of swarmstore. Every package that talks about keys, contacts, time or
 * randomness imports them from here, so the daemon and the simulator agree by construction.
 */

export * from './clock.js'
export * from './contact.js'
export * from './errors.js'
export * from './keyspace.js'
export * from './mix.js'
