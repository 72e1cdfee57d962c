/**
 * How evenly the key-value ranges and their keys sit on the daemons, from one daemon's
 * `GET /v1/kv/groups`: each member's share (ranges it is a member of; keys of those ranges)
 * against the fair share (every range's members, or keys × members, spread over all daemons).
 * 1.0 is perfectly even; 1.5 means the busiest daemon carries half as much again as its share.
 */
export interface GroupsView {
  rangeCount: number
  replicas: number
  ranges: { range: number; epoch: number; members: string[]; keys: number | null }[]
}

export interface Spread {
  /** the most ranges one daemon is a member of ÷ the fair share */
  rangeSpread: number | null
  /** the most keys one daemon holds (over its ranges) ÷ the fair share; null if no group reported its keys */
  keySpread: number | null
  rangesPerMemberMin: number
  rangesPerMemberMax: number
  /** ranges with fewer members than `replicas` in this daemon's view */
  rangesUnderReplicas: number
  /** keys the groups report, tombstones included, each range counted once */
  kvKeys: number | null
}

export function spreadOf(view: GroupsView, peerIds: string[]): Spread {
  const ranges = new Map<string, number>(peerIds.map((p) => [p, 0]))
  const keys = new Map<string, number>(peerIds.map((p) => [p, 0]))
  let memberships = 0
  let keyCopies = 0
  let kvKeys: number | null = null
  for (const r of view.ranges) {
    memberships += r.members.length
    if (r.keys !== null) {
      kvKeys = (kvKeys ?? 0) + r.keys
      keyCopies += r.keys * r.members.length
    }
    for (const m of r.members) {
      ranges.set(m, (ranges.get(m) ?? 0) + 1)
      keys.set(m, (keys.get(m) ?? 0) + (r.keys ?? 0))
    }
  }
  const n = ranges.size
  const r2 = (x: number) => Math.round(x * 100) / 100
  const perRange = [...ranges.values()]
  return {
    rangeSpread: memberships ? r2(Math.max(...perRange) / (memberships / n)) : null,
    keySpread: keyCopies ? r2(Math.max(...keys.values()) / (keyCopies / n)) : null,
    rangesPerMemberMin: Math.min(...perRange),
    rangesPerMemberMax: Math.max(...perRange),
    rangesUnderReplicas: view.ranges.filter((r) => r.members.length < view.replicas).length,
    kvKeys,
  }
}
