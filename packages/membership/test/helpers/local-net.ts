import { SeededRandom } from '@swarmstore/core'
import {
  type MemberId,
  type MemberMeta,
  Membership,
  type MembershipInit,
  type MembershipMessage,
  validateMessage,
} from '../../src/index.js'
import type { ManualClock } from './manual-clock.js'

export function metaFor(id: string, capacityFree = 1000): MemberMeta {
  return { addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${id}`], capacityFree, settings: { r: '3' }, version: '0.1.0' }
}

/**
 * A zero-latency wiring of a few Membership instances for unit tests: every request is validated
 * on the way in and out (as the daemon's adapter will), and a node in `down` never answers and
 * never gets its requests through.
 */
export class LocalNet {
  readonly nodes = new Map<MemberId, Membership>()
  readonly down = new Set<MemberId>()
  /** How late a request's timeout fires (real timers do; a fraction makes the prober's clock readings fractional). */
  timeoutLagMs = 0
  private readonly seed: SeededRandom

  constructor(
    readonly clock: ManualClock,
    seed = 1,
  ) {
    this.seed = new SeededRandom(seed)
  }

  add(id: MemberId, init: Partial<MembershipInit> = {}): Membership {
    const m = new Membership(
      {
        clock: this.clock,
        random: this.seed.fork(),
        network: { request: (to, msg, t) => this.request(id, to, msg, t) },
      },
      { id, epoch: 1, meta: metaFor(id), ...init },
    )
    this.nodes.set(id, m)
    return m
  }

  request(
    from: MemberId,
    to: MemberId,
    msg: MembershipMessage,
    timeoutMs: number,
  ): Promise<MembershipMessage> {
    return new Promise((resolve, reject) => {
      // the daemon's adapter hands it to AbortSignal.timeout, which throws on anything else
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
        throw new Error(`timeoutMs ${timeoutMs} is not whole ms ≥ 1`)
      const timer = this.clock.setTimer(timeoutMs + this.timeoutLagMs, () =>
        reject(new Error(`timeout ${from}->${to}`)),
      )
      const target = this.nodes.get(to)
      if (target === undefined || this.down.has(to) || this.down.has(from)) return
      target.handle(from, validateMessage(JSON.parse(JSON.stringify(msg)))).then(
        (reply) => {
          if (this.down.has(to) || this.down.has(from)) return
          this.clock.clearTimer(timer)
          resolve(validateMessage(JSON.parse(JSON.stringify(reply))))
        },
        (err) => {
          this.clock.clearTimer(timer)
          reject(err)
        },
      )
    })
  }
}
