/**
 * The ids of other members that are alive or suspect, with O(1) add, remove and random pick.
 * Gossip and indirect probes pick random members several times a second; rebuilding a list of
 * a few hundred members each time would dominate a large simulation.
 */
import type { Random } from '@swarmstore/core'
import type { MemberId } from './types.js'

export class LiveSet {
  private readonly ids: MemberId[] = []
  private readonly index = new Map<MemberId, number>()

  get size(): number {
    return this.ids.length
  }

  has(id: MemberId): boolean {
    return this.index.has(id)
  }

  add(id: MemberId): void {
    if (this.index.has(id)) return
    this.index.set(id, this.ids.length)
    this.ids.push(id)
  }

  remove(id: MemberId): void {
    const i = this.index.get(id)
    if (i === undefined) return
    const last = this.ids.pop()!
    if (last !== id) {
      this.ids[i] = last
      this.index.set(last, i)
    }
    this.index.delete(id)
  }

  all(): MemberId[] {
    return [...this.ids]
  }

  /** Up to k distinct random ids, none of them in `exclude`. */
  pick(k: number, random: Random, exclude: readonly MemberId[] = []): MemberId[] {
    const avail = this.ids.length - exclude.filter((e) => this.index.has(e)).length
    const want = Math.min(k, avail)
    const out: MemberId[] = []
    if (want <= 0) return out
    if (want * 4 >= this.ids.length) {
      // Dense pick: a partial shuffle of a copy is cheaper than rejection sampling.
      const pool = this.ids.filter((id) => !exclude.includes(id))
      for (let i = 0; i < want; i++) {
        const j = i + random.int(pool.length - i)
        const t = pool[i]!
        pool[i] = pool[j]!
        pool[j] = t
        out.push(pool[i]!)
      }
      return out
    }
    while (out.length < want) {
      const id = this.ids[random.int(this.ids.length)]!
      if (!exclude.includes(id) && !out.includes(id)) out.push(id)
    }
    return out
  }
}
