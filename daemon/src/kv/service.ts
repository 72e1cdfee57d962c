import type { KvAnswer } from '@swarmstore/kv'

/**
 * What the control API's key-value routes (daemon/src/api/kv.ts) use: one linearizable operation
 * per call, answered once the owning group decided it (or could not). The daemon's KvNode
 * implements it; the routes only translate HTTP to these calls and answers to HTTP.
 *
 * Answers (`KvAnswer` of @swarmstore/kv): `ok {version}` (put, cas, delete took effect), `found
 * {value, version}` (get), `notFound {version}` (get or delete of an absent key; version is the
 * key's counter, > 0 after a delete), `conflict {version}` (cas expectation failed; the current
 * version), `unavailable {reason, acceptSent}` (no majority of the owning group in time;
 * acceptSent: the write may still take effect), `invalid {code, message}` (bad input; nothing
 * stored).
 */
export interface KvService {
  put(key: string, value: Uint8Array): Promise<KvAnswer>
  /** expect 0: holds iff the key is absent */
  cas(key: string, expect: number, value: Uint8Array): Promise<KvAnswer>
  get(key: string): Promise<KvAnswer>
  delete(key: string): Promise<KvAnswer>
  /** The ring as this node knows it. */
  groups(): KvGroupsView
}

export interface KvGroupsView {
  /** how many ranges cut the keyspace (fixed: 4096) */
  rangeCount: number
  /** members per group (R) */
  replicas: number
  ranges: KvRangeView[]
}

export interface KvRangeView {
  range: number
  /** first and last key of the range: 64 hex digits each */
  from: string
  to: string
  epoch: number
  /** peer ids of the group's members, in configuration order */
  members: string[]
  /** keys (tombstones included) held by the group, as its members last reported; null if unknown */
  keys: number | null
}
