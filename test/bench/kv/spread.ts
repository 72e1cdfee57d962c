/**
 * How evenly the key-value ranges and their keys sit on the daemons, from every daemon's
 * `GET /v1/kv/groups`: each member's share (ranges it is a member of; keys of those ranges)
 * against the fair share (every range's members, or keys × members, spread over all daemons).
 * 1.0 is perfectly even; 1.5 means the busiest daemon carries half as much again as its share.
 *
 * A daemon counts the keys of the ranges it serves itself (every 0.5 s); the count it has of
 * another group's range is the first one gossip brought and is not refreshed, so each range's
 * count is taken from the view of one of its own members.
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

/** The first view's ranges, each with the key count its own members report. */
export function withOwnCounts(views: { peerId: string; view: GroupsView }[]): GroupsView {
  const byPeer = new Map(views.map((v) => [v.peerId, new Map(v.view.ranges.map((r) => [r.range, r]))]))
  const base = views[0]!.view
  const ranges = base.ranges.map((r) => {
    for (const m of r.members) {
      const own = byPeer.get(m)?.get(r.range)
      if (own !== undefined && own.epoch === r.epoch && own.keys !== null) return { ...r, keys: own.keys }
    }
    return { ...r, keys: null }
  })
  return { ...base, ranges }
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
