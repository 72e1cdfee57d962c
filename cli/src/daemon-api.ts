/** The JSON shapes of docs/CONTROL-API.md, as far as the CLI reads them. */

export interface StatChunk {
  cid: string
  size: number
  holders: string[]
}

export interface StatResponse {
  cid: string
  size: number
  /** R, the copies every chunk should have */
  replicas: number
  /** chunks and manifests found with fewer than R holders */
  underReplicated: number
  chunks: StatChunk[]
  manifests: { cid: string; holders: string[] }[]
}

export interface StatusResponse {
  peerId: string
  listenAddrs: string[]
  ready: boolean
  /** why joining fails, when the operator must act (a swarm key that differs); null otherwise */
  joinProblem?: string | null
  swarm: string
  replicas: number
  writeQuorum: number
  chunkSize: number
  peers: number
  /** live members of the swarm, this node included */
  members: number
  chunks: number
  bytes: number
  capacity: number | null
  underReplicated: number
  uptimeSeconds: number
}

export interface PeerInfo {
  peerId: string
  addrs: string[]
  key: string
  connected: boolean
  state: 'alive' | 'suspect' | 'dead'
}

export interface IdResponse {
  peerId: string
  addrs: string[]
}

/** `PUT` and `DELETE /v1/kv/keys/{key}`: the key and the version the write made. */
export interface KvWriteResponse {
  key: string
  version: number
}

export interface KvRangeInfo {
  range: number
  /** first and last key of the range, 64 hex digits each */
  from: string
  to: string
  epoch: number
  /** peer ids, in configuration order */
  members: string[]
  /** keys (tombstones included) the group holds; null if unknown */
  keys: number | null
}

/** `GET /v1/kv/groups` */
export interface KvGroupsResponse {
  rangeCount: number
  replicas: number
  ranges: KvRangeInfo[]
}
