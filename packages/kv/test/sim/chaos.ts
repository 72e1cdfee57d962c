import type { SeededRandom } from '@swarmstore/core'
import type { Simulator } from '@swarmstore/sim'
import { type GroupConfig, MAX_GROUP_MEMBERS, majority } from '../../src/index.js'
import type { AcceptorHost } from './acceptor-host.js'
import type { ClientHost } from './client-host.js'
import type { MoverHost } from './mover-host.js'
import type { KvOracle } from './oracle.js'

/** What the driver acts on: the hosts, and the truth about configurations (for picking victims). */
export interface ChaosWorld {
  readonly sim: Simulator
  readonly random: SeededRandom
  readonly oracle: KvOracle
  readonly ranges: readonly number[]
  /** the size groups are kept at (a smaller one — a founder alone — is grown to it) */
  readonly group: number
  readonly acceptors: ReadonlyMap<string, AcceptorHost>
  readonly clients: ReadonlyMap<string, ClientHost>
  readonly movers: ReadonlyMap<string, MoverHost>
  /** true once every client has done its share: the driver stops */
  readonly finished: () => boolean
}

export interface ChaosCounts {
  acceptorCrashes: number
  clientCrashes: number
  moverCrashes: number
  partitions: number
  /** move scenarios started, by kind */
  replaceDead: number
  newcomer: number
  moverCrashMidMove: number
  racingMoves: number
  resizes: number
}

/** Between two faults (uniform, ms). */
const FAULT_EVERY_MS = { min: 50, max: 600 }
/** Between two move scenarios (uniform, ms). */
const MOVE_EVERY_MS = { min: 150, max: 900 }

const uniform = (r: SeededRandom, x: { min: number; max: number }) => x.min + r.next() * (x.max - x.min)

/**
 * The faults and the moves of a run, drawn from the seed.
 *
 * Faults, one every 50–600 ms: an acceptor crash (back after 20–600 ms, its unsynced writes lost,
 * a torn batch possible); a partition cutting off a minority of some range's members with some
 * clients and movers, or a majority with one client, healed after 100–1,500 ms; a client crash
 * (back after 50–500 ms as a new incarnation); a mover crash (back after 200–800 ms, its moves
 * forgotten).
 *
 * Move scenarios, one every 150–900 ms, each from a mover's own view of the range:
 * - replace a dead member: a member is crashed for 1–3 s, and 30–300 ms later a mover moves every
 *   range its view has that member in to a set with it replaced;
 * - a newcomer: a member replaced by a host that may never have held the range;
 * - a mover crash mid-move: mover A starts a move and dies 1–40 ms later; 50–400 ms after that,
 *   mover B moves the range out of the same old configuration (to its own choice of members),
 *   and must finish A's move if A's was chosen;
 * - racing movers (a false death): A and B move the range out of the same epoch to different
 *   member sets, B 0–10 ms after A. One successor per epoch, whatever the interleaving;
 * - a resize: a group grows by two members, or one grown shrinks back (quorums of different sizes
 *   on the two sides of a move).
 * A group smaller than the usual size (a founder alone, at genesis) is grown by any move.
 */
export class Chaos {
  readonly counts: ChaosCounts = {
    acceptorCrashes: 0,
    clientCrashes: 0,
    moverCrashes: 0,
    partitions: 0,
    replaceDead: 0,
    newcomer: 0,
    moverCrashMidMove: 0,
    racingMoves: 0,
    resizes: 0,
  }
  private partitioned = false

  constructor(private readonly w: ChaosWorld) {}

  start(opts: { faults: boolean; moves: boolean }): void {
    if (opts.faults) this.every(FAULT_EVERY_MS, () => this.fault())
    if (opts.moves) this.every(MOVE_EVERY_MS, () => this.move())
  }

  private every(gap: { min: number; max: number }, act: () => void): void {
    this.w.sim.clock.setTimer(uniform(this.w.random, gap), () => {
      if (this.w.finished()) return
      act()
      this.every(gap, act)
    })
  }

  // ------------------------------------------------------------------------------------------------
  // Faults

  private fault(): void {
    const r = this.w.random
    const x = r.next()
    if (x < 0.35)
      this.crashAcceptor(this.pick(this.members(this.pick(this.w.ranges))), uniform(r, { min: 20, max: 600 }))
    else if (x < 0.75) this.partition()
    else if (x < 0.95) this.crashClient(this.pick([...this.w.clients.values()]))
    else this.crashMover(this.pick([...this.w.movers.values()]))
  }

  crashAcceptor(id: string, downMs: number): void {
    if (!this.w.sim.isUp(id)) return
    this.counts.acceptorCrashes++
    this.w.acceptors.get(id)!.crash(this.w.random)
    this.w.sim.clock.setTimer(downMs, () => this.w.sim.restart(id))
  }

  private crashClient(c: ClientHost): void {
    if (!this.w.sim.isUp(c.id)) return
    this.counts.clientCrashes++
    c.crash()
    this.w.sim.clock.setTimer(uniform(this.w.random, { min: 50, max: 500 }), () => this.w.sim.restart(c.id))
  }

  private crashMover(m: MoverHost): void {
    if (!m.up) return
    this.counts.moverCrashes++
    this.w.sim.crash(m.id)
    this.w.sim.clock.setTimer(uniform(this.w.random, { min: 200, max: 800 }), () => this.w.sim.restart(m.id))
  }

  private partition(): void {
    if (this.partitioned) return
    const r = this.w.random
    this.partitioned = true
    this.counts.partitions++
    const members = shuffle(this.members(this.pick(this.w.ranges)), r)
    const majoritySide = r.next() < 0.5
    const cut = majoritySide ? majority(members.length) : members.length - majority(members.length)
    const clients = [...this.w.clients.keys()]
    const movers = [...this.w.movers.keys()].filter(() => r.next() < 0.3)
    const side = majoritySide ? clients.slice(0, 1) : clients.filter(() => r.next() < 0.4)
    this.w.sim.partition([[...members.slice(0, cut), ...side, ...movers]])
    this.w.sim.clock.setTimer(uniform(r, { min: 100, max: 1_500 }), () => {
      this.w.sim.heal()
      this.partitioned = false
    })
  }

  // ------------------------------------------------------------------------------------------------
  // Moves

  private move(): void {
    const x = this.w.random.next()
    if (x < 0.25) this.replaceDead()
    else if (x < 0.45) this.newcomer()
    else if (x < 0.65) this.moverCrashMidMove()
    else if (x < 0.9) this.race()
    else this.resize()
  }

  private replaceDead(): void {
    const r = this.w.random
    const victim = this.pick(this.members(this.pick(this.w.ranges)))
    if (!this.w.sim.isUp(victim)) return
    this.counts.replaceDead++
    this.crashAcceptor(victim, uniform(r, { min: 1_000, max: 3_000 }))
    const mover = this.upMover()
    if (mover === undefined) return
    this.w.sim.clock.setTimer(uniform(r, { min: 30, max: 300 }), () => {
      for (const range of this.w.ranges) {
        const from = mover.view.get(range)
        if (from.members.includes(victim)) mover.start(range, this.replace(from.members, victim))
      }
    })
  }

  private newcomer(): void {
    const mover = this.upMover()
    if (mover === undefined) return
    this.counts.newcomer++
    const range = this.pick(this.w.ranges)
    const from = mover.view.get(range)
    mover.start(range, this.replace(from.members, this.pick(from.members)))
  }

  private moverCrashMidMove(): void {
    const r = this.w.random
    const a = this.upMover()
    const b = this.upMover(a)
    if (a === undefined || b === undefined) return
    this.counts.moverCrashMidMove++
    const range = this.pick(this.w.ranges)
    const from = a.view.get(range)
    if (!a.start(range, this.replace(from.members, this.pick(from.members)))) return
    this.w.sim.clock.setTimer(uniform(r, { min: 1, max: 40 }), () => {
      this.crashMover(a)
      this.w.sim.clock.setTimer(uniform(r, { min: 50, max: 400 }), () => {
        b.start(range, this.replace(from.members, this.pick(from.members)), from)
      })
    })
  }

  private race(): void {
    const a = this.upMover()
    const b = this.upMover(a)
    if (a === undefined || b === undefined) return
    this.counts.racingMoves++
    const range = this.pick(this.w.ranges)
    const from = a.view.get(range)
    const toA = this.replace(from.members, this.pick(from.members))
    let toB = this.replace(from.members, this.pick(from.members))
    for (let i = 0; i < 8 && sameSet(toA, toB); i++) toB = this.replace(from.members, this.pick(from.members))
    a.start(range, toA, from)
    this.w.sim.clock.setTimer(this.w.random.next() * 10, () => b.start(range, toB, from))
  }

  /** A group of 3 grows to 5 (or 5 to 7), and one larger than the usual size shrinks back to it. */
  private resize(): void {
    const mover = this.upMover()
    if (mover === undefined) return
    const range = this.pick(this.w.ranges)
    const from = mover.view.get(range)
    const n = from.members.length
    let to: string[]
    if (n > this.w.group) to = shuffle(from.members, this.w.random).slice(0, this.w.group)
    else if (n === this.w.group && n + 2 <= MAX_GROUP_MEMBERS)
      to = [...from.members, ...this.outside(from.members, 2)]
    else return
    this.counts.resizes++
    mover.start(range, to)
  }

  /**
   * `members` with `victim` replaced by a host outside them (preferably one that is up); a group
   * smaller than the usual size (a founder alone) is grown to it instead.
   */
  private replace(members: readonly string[], victim: string): string[] {
    if (members.length < this.w.group)
      return [...members, ...this.outside(members, this.w.group - members.length)]
    const [newcomer] = this.outside(members, 1)
    return members.map((m) => (m === victim ? newcomer! : m))
  }

  /** `count` distinct hosts outside `members`, those that are up first. */
  private outside(members: readonly string[], count: number): string[] {
    const out = shuffle(
      [...this.w.acceptors.keys()].filter((id) => !members.includes(id)),
      this.w.random,
    )
    return [...out.filter((id) => this.w.sim.isUp(id)), ...out.filter((id) => !this.w.sim.isUp(id))].slice(
      0,
      count,
    )
  }

  /** The members of the newest configuration of `range` any acceptor installed. */
  private members(range: number): readonly string[] {
    const c: GroupConfig = this.w.oracle.latest(range)
    return c.members
  }

  private upMover(not?: MoverHost): MoverHost | undefined {
    const up = [...this.w.movers.values()].filter((m) => m.up && m !== not)
    return up.length === 0 ? undefined : this.pick(up)
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.w.random.int(xs.length)]!
  }
}

/** The items in a random order drawn from `rnd` (Fisher–Yates). */
export function shuffle<T>(xs: readonly T[], rnd: SeededRandom): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
