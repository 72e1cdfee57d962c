/**
 * The ring as this node knows it: each range's latest configuration (epoch and members) and its
 * size as its members last reported. Configurations only ever move to a higher epoch (one is
 * chosen per epoch, so two nodes never disagree about an epoch's members); a node learns them from
 * its own acceptor, from redirects, and by gossip (`toWire` / `merge`: a digest first, the whole
 * map only when the digests differ — ~20 bytes a range).
 */
import { createHash } from 'node:crypto'
import { type GroupConfig, parseConfig, RANGE_COUNT } from '@swarmstore/kv'

export interface RingEntry {
  readonly config: GroupConfig
  /** keys held (tombstones included), as a member last reported; null if unknown */
  readonly keys: number | null
  /** `keys` is this node's own count (it serves the range): gossip does not replace it */
  readonly own?: boolean
}

/** The ring on the wire: member ids once, each range as [range, epoch, member indexes, keys]. */
export interface WireRing {
  ids: string[]
  r: [number, number, number[], number | null][]
}

export class RingMap {
  private readonly entries: (RingEntry | undefined)[] = new Array(RANGE_COUNT)
  private digestCache: string | undefined
  private epochChanges = 0

  get(range: number): GroupConfig | undefined {
    return this.entries[range]?.config
  }

  /** Counts the configurations learned (a range's new epoch; sizes do not count). */
  get changes(): number {
    return this.epochChanges
  }

  entry(range: number): RingEntry | undefined {
    return this.entries[range]
  }

  /**
   * Adopts `config` if it is newer. A size comes with it: `own` (this node serves the range and
   * counted) replaces the size of the same epoch; a gossiped one replaces any but an own count.
   * Sizes are not in the digest, so they change nothing about what gossip ships.
   */
  learn(range: number, config: GroupConfig, keys: number | null = null, own = false): boolean {
    const cur = this.entries[range]
    if (cur !== undefined && cur.config.epoch > config.epoch) return false
    if (cur !== undefined && cur.config.epoch === config.epoch) {
      if (keys === null || keys === cur.keys || (!own && cur.own === true)) return false
    }
    if (cur?.config.epoch !== config.epoch) {
      this.epochChanges++
      this.digestCache = undefined
    }
    const sameEpoch = cur?.config.epoch === config.epoch
    this.entries[range] =
      keys === null && sameEpoch ? { ...cur, config } : { config, keys, ...(own ? { own } : {}) }
    return true
  }

  /**
   * A short hash of every range's epoch: equal digests, the same configurations. Sizes are left
   * out: a member counts its ranges every few seconds and others keep the count they heard, so
   * under writes two nodes' sizes rarely agree, and a digest covering them made nearly every
   * gossip exchange ship the whole map (~80 KB to encode, send and merge). Sizes travel with the
   * whole map, which RingGossip also asks for every so often.
   */
  digest(): string {
    if (this.digestCache === undefined) {
      const h = createHash('sha256')
      const epochs = new Float64Array(RANGE_COUNT).fill(-1)
      this.entries.forEach((e, range) => {
        epochs[range] = e?.config.epoch ?? -1
      })
      h.update(epochs)
      this.digestCache = h.digest('base64url').slice(0, 22)
    }
    return this.digestCache
  }

  toWire(): WireRing {
    const index = new Map<string, number>()
    const r: WireRing['r'] = []
    this.entries.forEach((e, range) => {
      if (e === undefined) return
      const members = e.config.members.map((id) => {
        const known = index.get(id)
        if (known !== undefined) return known
        index.set(id, index.size)
        return index.size - 1
      })
      r.push([range, e.config.epoch, members, e.keys])
    })
    return { ids: [...index.keys()], r }
  }

  /** Merges a peer's ring (untrusted: malformed rows are skipped). Returns the ranges that moved. */
  merge(wire: unknown): number[] {
    const w = wire as Partial<WireRing> | null
    if (w === null || typeof w !== 'object' || !Array.isArray(w.ids) || !Array.isArray(w.r)) return []
    const moved: number[] = []
    for (const row of w.r.slice(0, RANGE_COUNT)) {
      if (!Array.isArray(row) || row.length !== 4) continue
      const [range, epoch, idx, keys] = row as unknown[]
      if (!Number.isSafeInteger(range) || (range as number) < 0 || (range as number) >= RANGE_COUNT) continue
      if (!Array.isArray(idx)) continue
      const config = parseConfig({ epoch, members: idx.map((i) => (w.ids as unknown[])[i as number]) })
      if (config === undefined) continue
      const size = Number.isSafeInteger(keys) && (keys as number) >= 0 ? (keys as number) : null
      const before = this.entries[range as number]?.config.epoch
      if (this.learn(range as number, config, size) && before !== config.epoch) moved.push(range as number)
    }
    return moved
  }
}
