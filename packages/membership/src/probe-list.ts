/**
 * SWIM's round-robin probe order: members are visited in a shuffled order, one per round, and the
 * list is reshuffled after each pass. This bounds the time until any member is probed by one pass
 * (n rounds) instead of leaving it to chance; newcomers are inserted at a random position.
 */
import type { Random } from '@swarmstore/core'
import type { MemberId } from './types.js'

export class ProbeList {
  private order: MemberId[] = []
  private readonly inOrder = new Set<MemberId>()
  private index = 0

  constructor(private readonly random: Random) {}

  add(id: MemberId): void {
    if (this.inOrder.has(id)) return
    this.inOrder.add(id)
    const at = this.index + this.random.int(this.order.length - this.index + 1)
    this.order.splice(at, 0, id)
  }

  /** Next member accepted by `eligible`; reshuffles `all` at the end of a pass. */
  next(eligible: (id: MemberId) => boolean, all: () => MemberId[]): MemberId | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.index < this.order.length) {
        const id = this.order[this.index++]!
        if (eligible(id)) return id
      }
      this.order = shuffle(all(), this.random)
      this.inOrder.clear()
      for (const id of this.order) this.inOrder.add(id)
      this.index = 0
    }
    return undefined
  }
}

/** Fisher–Yates, in place. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    const t = items[i]!
    items[i] = items[j]!
    items[j] = t
  }
  return items
}

/** Up to k distinct random picks from items (does not modify items). */
export function pickRandom<T>(items: readonly T[], k: number, random: Random): T[] {
  if (k >= items.length) return shuffle([...items], random)
  const copy = [...items]
  const out: T[] = []
  for (let i = 0; i < k; i++) {
    const j = i + random.int(copy.length - i)
    const t = copy[i]!
    copy[i] = copy[j]!
    copy[j] = t
    out.push(copy[i]!)
  }
  return out
}
