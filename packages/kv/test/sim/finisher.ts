import type { SeededRandom } from '@swarmstore/core'
import type { Simulator } from '@swarmstore/sim'
import type { AcceptorHost } from './acceptor-host.js'
import type { MoverHost } from './mover-host.js'

/** How often acceptors are looked at for ranges left frozen (ms). */
const CHECK_EVERY_MS = 500

/**
 * "Whoever finds a seal finishes the move" (the package README's design), done by the node that
 * holds the frozen range: when an acceptor has held a range sealed at an epoch through two checks
 * (0.5–1 s), a mover moves the range out of that acceptor's configuration, to the same members.
 * The mover finds what was chosen — an answer `moved`, or the accepted transition in a sealed
 * answer — and finishes it; when nothing was, it chooses a successor with the same members, which
 * unfreezes the range. Without this a move whose mover died after the seal leaves its range
 * frozen until some other move out of that epoch happens to start, and one chosen but installed at
 * fewer than a majority of its new members (its mover dead) stays unusable for good: every view has
 * already moved on to the new configuration, out of which no move can be made (the members that
 * never installed it answer `behind`). See the report: the daemon's range manager has that hole.
 */
export class Finisher {
  /** host/range/epoch seen frozen at the last check */
  private frozen = new Set<string>()
  started = 0

  constructor(
    private readonly w: {
      readonly sim: Simulator
      readonly random: SeededRandom
      readonly ranges: readonly number[]
      readonly acceptors: ReadonlyMap<string, AcceptorHost>
      readonly movers: ReadonlyMap<string, MoverHost>
      readonly finished: () => boolean
    },
  ) {}

  start(): void {
    this.w.sim.clock.setTimer(CHECK_EVERY_MS, () => {
      if (this.w.finished()) return
      this.check()
      this.start()
    })
  }

  private check(): void {
    const now = new Set<string>()
    const moving = new Set<string>()
    for (const host of this.w.acceptors.values()) {
      if (!this.w.sim.isUp(host.id)) continue
      for (const range of this.w.ranges) {
        const r = host.acceptor.rangeRecord(range)
        if (r?.sealed === undefined || !r.config.members.includes(host.id)) continue
        const k = `${host.id}/${range}/${r.config.epoch}`
        now.add(k)
        if (!this.frozen.has(k) || moving.has(`${range}/${r.config.epoch}`)) continue
        moving.add(`${range}/${r.config.epoch}`)
        const movers = [...this.w.movers.values()].filter((m) => m.up)
        if (movers.length === 0 || movers.some((m) => m.mover.moving(range))) continue
        const mover = movers[this.w.random.int(movers.length)]!
        if (mover.start(range, r.config.members, r.config)) this.started++
      }
    }
    this.frozen = now
  }
}
