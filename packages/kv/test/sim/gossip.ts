import type { Random } from '@swarmstore/core'
import type { SimNode } from '@swarmstore/sim'
import type { GroupConfig } from '../../src/index.js'

export const GOSSIP_PROTOCOL = '/swarmstore/sim/kv-config/1'

/** Gossip of a configuration reaches each peer after its own delay, uniform in this range (ms). */
export const GOSSIP_DELAY_MS = { min: 20, max: 2_000 }

/**
 * A host's view of each range's configuration (the daemon's ring map): only ever moves to a
 * higher epoch. Every client and mover host has its own, fed by what its own state machines
 * learn (a proposer's `config` action, a mover's outcome) and by gossip from the others.
 */
export class ConfigView {
  private readonly configs: Map<number, GroupConfig>

  constructor(genesis: ReadonlyMap<number, GroupConfig>) {
    this.configs = new Map(genesis)
  }

  get(range: number): GroupConfig {
    return this.configs.get(range)!
  }

  /** Adopts `config` if it is newer than what this view holds; true if it did. */
  learn(range: number, config: GroupConfig): boolean {
    const cur = this.configs.get(range)
    if (cur !== undefined && cur.epoch >= config.epoch) return false
    this.configs.set(range, config)
    return true
  }
}

/**
 * Tells every other peer (client and mover hosts) of a configuration learned first-hand, each
 * after an independent random delay, over the simulated network (so loss and partitions apply).
 * Peers do not relay what they heard: views differ for a while, as SWIM-fed maps would.
 */
export class Gossip {
  readonly peers: string[] = []

  spread(from: SimNode, random: Random, range: number, config: GroupConfig): void {
    for (const peer of this.peers) {
      if (peer === from.id) continue
      const ms = GOSSIP_DELAY_MS.min + random.next() * (GOSSIP_DELAY_MS.max - GOSSIP_DELAY_MS.min)
      from.clock.setTimer(ms, () => from.send(peer, GOSSIP_PROTOCOL, { range, config }))
    }
  }
}
