import type { Random } from '@swarmstore/core'
import type { SimNode, Simulator } from '@swarmstore/sim'
import { type AcceptorAction, type GroupConfig, KvAcceptor, type KvReply } from '../../src/index.js'
import { SimDisk } from './disk.js'
import { LocalClock } from './local-clock.js'
import type { Asked, KvOracle } from './oracle.js'

export const KV_PROTOCOL = '/swarmstore/sim/kv/1'

/** A batch is durable this long after the acceptor asks for the write (uniform, ms). */
const WRITE_MS = { min: 0.2, max: 3 }

/**
 * One acceptor host: the production KvAcceptor behind the KV protocol handler, its `persist`
 * actions written to a SimDisk, its replies released to the network as the acceptor says (only
 * once durable). A crash loses everything but the disk; the boot restores from it.
 */
export class AcceptorHost {
  node!: SimNode
  acceptor!: KvAcceptor
  readonly disk = new SimDisk()
  private clock!: LocalClock
  private readonly drift: number
  /** request id → what it asked and where its reply goes */
  private readonly waiting = new Map<number, { asked: Asked; resolve: (r: KvReply) => void }>()
  private nextRequest = 1

  constructor(
    readonly id: string,
    private readonly sim: Simulator,
    private readonly oracle: KvOracle,
    /** the ranges this host founds (it is among their first members) */
    private readonly genesis: ReadonlyMap<number, GroupConfig>,
    random: Random,
  ) {
    this.drift = LocalClock.drawDrift(random)
  }

  boot(node: SimNode): void {
    this.node = node
    this.clock = new LocalClock(node, this.drift, node.random)
    this.waiting.clear()
    this.acceptor = new KvAcceptor({ id: this.id, restore: this.disk.log })
    this.oracle.restored(this.id, this.acceptor)
    node.handle<unknown, KvReply>(KV_PROTOCOL, (_from, msg) => {
      const id = this.nextRequest++
      const reply = new Promise<KvReply>((resolve) => this.waiting.set(id, { asked: asked(msg), resolve }))
      this.feed((now) => this.acceptor.receive(id, msg, now))
      return reply
    })
    // genesis: known ranges are not founded again (found is ignored), so this is safe at every boot
    this.feed(() => {
      for (const [range, config] of this.genesis) this.acceptor.found(range, config)
    })
  }

  /** Crashes the host: a torn write may leave part of its batch on the disk. */
  crash(random: Random): void {
    this.oracle.onDisk(this.id, this.disk.tear(random))
    this.sim.crash(this.id)
  }

  private feed(input: (now: number) => void): void {
    if (!this.sim.isUp(this.id)) return
    input(this.clock.now())
    for (const a of this.acceptor.takeActions()) this.execute(a)
  }

  private execute(a: AcceptorAction): void {
    if (a.type === 'reply') {
      const w = this.waiting.get(a.id)
      this.waiting.delete(a.id)
      if (w === undefined) return
      this.oracle.replied(this.id, this.acceptor, w.asked, a.reply)
      w.resolve(a.reply)
      return
    }
    this.oracle.writing(this.id, a.records)
    this.disk.begin(a.records)
    const ms = WRITE_MS.min + this.node.random.next() * (WRITE_MS.max - WRITE_MS.min)
    this.node.clock.setTimer(ms, () => {
      this.oracle.onDisk(this.id, this.disk.done())
      this.feed((now) => this.acceptor.persisted(a.batch, now))
    })
  }
}

function asked(msg: unknown): Asked {
  const m = (msg ?? {}) as Record<string, unknown>
  return {
    t: String(m.t),
    range: Number(m.range),
    epoch: Number(m.epoch),
    ...(typeof m.key === 'string' ? { key: m.key } : {}),
  }
}
