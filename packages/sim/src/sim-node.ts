import type { Clock, Random, TimerHandle } from '@swarmstore/core'
import type { Handler, RequestOptions, Simulator } from './simulator.js'

/**
 * One simulated host. State machines (routing, membership, replication) are installed by the
 * node's `boot` function, which registers protocol handlers and keeps its timers on `node.clock`.
 * A crash drops every handler and timer of the node (its volatile state is gone); a restart
 * bumps `incarnation` and calls `boot` again, as a process restart would.
 */
export class SimNode {
  readonly id: string
  /** Dense index, used by the link model. */
  readonly index: number
  /** Increments on every restart; in-flight work of an older incarnation is discarded. */
  incarnation = 0
  up = true
  /** This node's random stream, derived from the simulation seed, index and incarnation. */
  random: Random
  /** This node's view of the virtual clock; its timers die with the node. */
  readonly clock: Clock
  readonly handlers = new Map<string, Handler>()
  readonly timers = new Set<TimerHandle>()
  readonly boot: ((node: SimNode) => void) | undefined

  constructor(
    private readonly sim: Simulator,
    id: string,
    index: number,
    random: Random,
    boot: ((node: SimNode) => void) | undefined,
  ) {
    this.id = id
    this.index = index
    this.random = random
    this.boot = boot
    const node = this
    this.clock = {
      now: () => sim.now(),
      setTimer(ms: number, fn: () => void): TimerHandle {
        const inc = node.incarnation
        const handle = sim.clock.setTimer(ms, () => {
          node.timers.delete(handle)
          if (node.up && node.incarnation === inc) fn()
        })
        node.timers.add(handle)
        return handle
      },
      clearTimer(handle: TimerHandle): void {
        node.timers.delete(handle)
        sim.clock.clearTimer(handle)
      },
    }
  }

  /** Registers the handler for incoming messages of `protocol` (replaces an earlier one). */
  handle<Req = unknown, Res = unknown>(protocol: string, handler: Handler<Req, Res>): void {
    this.handlers.set(protocol, handler as Handler)
  }

  request<Res = unknown, Req = unknown>(
    to: string,
    protocol: string,
    msg: Req,
    opts?: RequestOptions,
  ): Promise<Res> {
    return this.sim.request<Res, Req>(this.id, to, protocol, msg, opts)
  }

  send<Req = unknown>(to: string, protocol: string, msg: Req): void {
    this.sim.send(this.id, to, protocol, msg)
  }
}
