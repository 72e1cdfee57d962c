/**
 * Membership hosted in the shared simulator (@swarmstore/sim): one Membership per simulated node,
 * wired to the sim's request/response bus the way the daemon's adapter wires it to libp2p streams.
 *
 * The simulator has crash/restart but no "freeze", so a frozen process (SIGSTOP) is modelled here
 * at the node's edge: while frozen, its timers, inbound requests and the replies to its own
 * requests are held, and all run at once on resume — as after SIGCONT. Nothing else is simulated
 * here; time, latency, loss and partitions are the simulator's.
 */
import type { Clock, TimerHandle } from '@swarmstore/core'
import { type SimNode, type SimOptions, Simulator } from '@swarmstore/sim'
import {
  type MemberId,
  type MemberMeta,
  type MemberState,
  Membership,
  type MembershipMessage,
  type MembershipTimings,
  membershipProtocol,
  validateMessage,
} from '../../src/index.js'

const PROTO = membershipProtocol('sim')

export interface SwarmOptions extends Partial<SimOptions> {
  seed: number
  timings?: Partial<MembershipTimings>
  /** Run every message through validateMessage (as the daemon must); costs time in big swarms. */
  validate?: boolean
}

export interface Death {
  t: number
  observer: MemberId
  target: MemberId
}

class Freezer {
  frozen = false
  private held: (() => void)[] = []

  hold(fn: () => void): void {
    if (this.frozen) this.held.push(fn)
    else fn()
  }

  resume(): void {
    this.frozen = false
    for (const fn of this.held.splice(0)) fn()
  }
}

/** A node clock whose timers do not fire while the process is frozen. */
function freezableClock(inner: Clock, freezer: Freezer): Clock {
  const cancelled = new Set<number>()
  return {
    now: () => inner.now(),
    setTimer(ms: number, fn: () => void): TimerHandle {
      const h = inner.setTimer(ms, () =>
        freezer.hold(() => {
          if (!cancelled.delete(h.id)) fn()
        }),
      )
      return h
    },
    clearTimer(handle: TimerHandle): void {
      cancelled.add(handle.id)
      inner.clearTimer(handle)
    },
  }
}

export function metaOf(id: string): MemberMeta {
  return {
    addrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${id}`],
    capacityFree: 1 << 30,
    settings: { r: '3', w: '2' },
    version: '0.1.0',
  }
}

/**
 * Wire size of a message as the JSON encoding would make it with real libp2p peer ids (52 chars)
 * and one TCP multiaddr per member: ~290 bytes per alive record with metadata, ~150 per other
 * record. An estimate (the sim's ids are short), cheap enough to count every message of a 500-node run.
 */
export function estimateSize(m: MembershipMessage | { error: string }): number {
  if (!('type' in m)) return 64
  const list = m.type === 'sync' ? m.members : m.updates
  let n = 80
  for (const u of list) n += u.meta !== undefined ? 290 : 150
  return n
}

export class MembershipSwarm {
  readonly sim: Simulator
  readonly deaths: Death[] = []
  /** Messages that failed validateMessage (with `validate: true`); must stay 0. */
  invalid = 0
  /** Requests handled per node (diagnostics). */
  readonly received = new Map<MemberId, number>()
  private readonly members = new Map<MemberId, Membership>()
  private readonly freezers = new Map<MemberId, Freezer>()
  private readonly joinSeeds = new Map<MemberId, MemberId | undefined>()
  private readonly validate: boolean

  constructor(private readonly opts: SwarmOptions) {
    this.sim = new Simulator({
      microtaskTicks: 16,
      sizeOf: (_p, m) => estimateSize(m as MembershipMessage),
      ...opts,
    })
    this.validate = opts.validate ?? false
  }

  get ids(): MemberId[] {
    return this.sim.nodeIds()
  }

  member(id: MemberId): Membership {
    return this.members.get(id)!
  }

  /** Adds and starts a node; it joins through `seed` (if given) at the current virtual time. */
  add(id: MemberId, seed?: MemberId): Membership {
    this.joinSeeds.set(id, seed)
    this.sim.addNode(id, (node) => this.boot(node))
    return this.member(id)
  }

  /** Crash (kill -9): state and timers gone, messages to it dropped. */
  crash(id: MemberId): void {
    this.sim.crash(id)
  }

  /** Restart after a crash with fresh state; its epoch is its start time (as the daemon does). */
  restart(id: MemberId, seed: MemberId): Membership {
    this.joinSeeds.set(id, seed)
    this.sim.restart(id)
    return this.member(id)
  }

  freeze(id: MemberId): void {
    this.freezers.get(id)!.frozen = true
  }

  resume(id: MemberId): void {
    this.freezers.get(id)!.resume()
  }

  /** How many running members (excluding `target` itself) currently see `target` in `state`. */
  countSeeing(target: MemberId, state: MemberState | undefined): number {
    let c = 0
    for (const id of this.ids) {
      if (id === target || !this.sim.isUp(id)) continue
      if (this.member(id).get(target)?.state === state) c++
    }
    return c
  }

  /** Running members other than target. */
  observers(target?: MemberId): number {
    return this.ids.filter((id) => id !== target && this.sim.isUp(id)).length
  }

  /** True when every running member sees exactly the running set as live. */
  converged(): boolean {
    const up = this.ids.filter((id) => this.sim.isUp(id))
    for (const id of up) if (this.member(id).liveCount !== up.length) return false
    return true
  }

  /** Runs until pred() holds (checked every stepMs), or throws after maxMs; returns the elapsed ms. */
  async runUntil(pred: () => boolean, maxMs: number, what: string, stepMs = 50): Promise<number> {
    const start = this.sim.now()
    while (!pred()) {
      if (this.sim.now() - start >= maxMs) {
        throw new Error(`${what}: not reached within ${maxMs} ms of simulated time (seed=${this.opts.seed})`)
      }
      await this.sim.run({ until: this.sim.now() + stepMs })
    }
    return this.sim.now() - start
  }

  async runFor(ms: number): Promise<void> {
    await this.sim.run({ until: this.sim.now() + ms })
  }

  private boot(node: SimNode): void {
    const freezer = new Freezer()
    this.freezers.set(node.id, freezer)
    const validate = this.validate
    const check = (m: MembershipMessage): MembershipMessage => {
      if (!validate) return m
      try {
        return validateMessage(m)
      } catch (err) {
        this.invalid++
        throw err
      }
    }
    const m = new Membership(
      {
        clock: freezableClock(node.clock, freezer),
        random: node.random,
        network: {
          request: (to, msg, timeoutMs) =>
            new Promise((resolve, reject) => {
              node.request<MembershipMessage>(to, PROTO, check(msg), { timeoutMs }).then(
                (reply) => freezer.hold(() => resolve(check(reply))),
                (err) => freezer.hold(() => reject(err)),
              )
            }),
        },
      },
      { id: node.id, epoch: this.sim.now(), meta: metaOf(node.id), ...this.opts.timings },
    )
    node.handle<MembershipMessage, MembershipMessage>(PROTO, (from, msg) => {
      this.received.set(node.id, (this.received.get(node.id) ?? 0) + 1)
      return new Promise<MembershipMessage>((resolve, reject) =>
        freezer.hold(() => {
          m.handle(from, check(msg)).then(resolve, reject)
        }),
      )
    })
    m.onEvent((e) => {
      if (e.type === 'dead') this.deaths.push({ t: this.sim.now(), observer: node.id, target: e.member.id })
    })
    this.members.set(node.id, m)
    m.start()
    const seed = this.joinSeeds.get(node.id)
    if (seed !== undefined) m.join([seed]).catch(() => undefined)
  }
}

/**
 * Builds n nodes n0..n{n-1}, joining one by one through random earlier nodes, and waits until
 * every member sees all n. Hundreds of members joining within seconds is harsher than any real
 * start-up (each join's news races the later joins), so members that still miss someone after a
 * few seconds re-join through a random member — the same push/pull a daemon does on
 * `join(bootstrap)` — instead of waiting out the periodic push/pull. Returns the swarm; the
 * set-up time is not one of the measured figures.
 */
export async function convergedSwarm(
  opts: SwarmOptions & { n: number; joinGapMs?: number },
): Promise<MembershipSwarm> {
  const swarm = new MembershipSwarm(opts)
  swarm.add('n0')
  for (let i = 1; i < opts.n; i++) {
    await swarm.runFor(opts.joinGapMs ?? 10)
    swarm.add(`n${i}`, `n${swarm.sim.random.int(i)}`)
  }
  for (let round = 0; round < 20 && !swarm.converged(); round++) {
    await swarm.runFor(3000)
    for (const id of swarm.ids) {
      const m = swarm.member(id)
      if (m.liveCount < opts.n) m.join([`n${swarm.sim.random.int(opts.n)}`]).catch(() => undefined)
    }
  }
  await swarm.runUntil(() => swarm.converged(), 10_000, `initial convergence of ${opts.n} nodes`, 500)
  return swarm
}
