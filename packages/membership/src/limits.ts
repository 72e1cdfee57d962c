/**
 * Size bounds. Every inbound message is checked against these before the state machine sees it,
 * so a peer cannot make us allocate or iterate without bound.
 */
import { MAX_ADDR_LENGTH, MAX_CONTACT_ADDRS } from '@swarmstore/core'

export { MAX_ADDR_LENGTH, MAX_CONTACT_ADDRS }
/** Longest member id (libp2p peer id strings are 52–59 characters). */
export const MAX_MEMBER_ID_LENGTH = 128
/** Entries in `meta.settings`. */
export const MAX_SETTINGS = 16
export const MAX_SETTING_KEY_LENGTH = 64
export const MAX_SETTING_VALUE_LENGTH = 256
export const MAX_VERSION_LENGTH = 64
/** Encoded (JSON) size of one metadata object; 8 addrs of 256 chars fit. */
export const MAX_META_BYTES = 3072
/** Piggybacked updates in one ping/ack/nack/ping-req/gossip. */
export const MAX_UPDATES_PER_MESSAGE = 32
/** Member records in one full-state sync. */
export const MAX_SYNC_MEMBERS = 2048
/** Largest encoded message (a full sync of MAX_SYNC_MEMBERS with large metadata). */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024
/** Largest timeout an intermediary accepts in a ping-req. */
export const MAX_PING_REQ_TIMEOUT_MS = 30_000
/** Largest epoch/counter: safe integers only, so JSON round-trips exactly. */
export const MAX_INCARNATION_PART = Number.MAX_SAFE_INTEGER
/** Indirect probes we run for others at once; beyond it a ping-req is answered nack at once. */
export const MAX_INFLIGHT_PING_REQS = 64
