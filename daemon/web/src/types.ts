/** The shapes the daemon sends (daemon/src/dashboard: feed.ts, snapshot.ts, placement.ts). */
export interface MemberView {
  id: string
  state: 'alive' | 'suspect' | 'dead' | 'left'
  key: string
  addrs: string[]
  version: string
  capacityFree: number | null
  connected: boolean
  self: boolean
}

export interface TrafficSample {
  t: number
  rates: Record<string, number>
  underReplicated: number
}

export interface EventMark {
  t: number
  type: 'alive' | 'suspect' | 'dead' | 'left'
  peer: string
}

export interface Snapshot {
  t: number
  selfId: string
  replicas: number
  members: MemberView[]
  sample: TrafficSample | null
  underReplicated: number
  events: EventMark[]
  recentPuts: { cid: string; size: number; t: number }[]
  disk: { capacity: number | null; used: number; free: number; quarantined: number; chunks: number }
  health: {
    uptimeSeconds: number
    rss: number
    heapUsed: number
    loopLagMeanMs: number
    loopLagMaxMs: number
    connections: number
  }
}

export interface History {
  samples: TrafficSample[]
  events: EventMark[]
}

export interface BlockPlacement {
  cid: string
  key: string
  manifest: boolean
  placement: string[]
  holders: string[]
}

export interface PlacementAnswer {
  replicas: number
  share: number
  file: { cid: string; blocks: BlockPlacement[]; truncated: boolean } | null
}
