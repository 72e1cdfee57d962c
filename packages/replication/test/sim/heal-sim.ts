/**
 * Fault test 9 (issue 5) driver: a churning swarm in the deterministic simulator (@swarmstore/sim),
 * every node running the real HealingPlanner and the admission check, the bytes moving as simulated
 * request/response messages.
 *
 * Modelling choices (stated, not hidden):
 * - Membership is ideal-with-delay: every live node shares one view (a MemberRing) that learns of
 *   a death `detectMs` after it happens and of a join `joinMs` after it. Lookups are global
 *   knowledge of that view. The membership package's gossip is tested on its own.
 * - The initial 10,000 chunks are placed by the put path's result: on their R closest nodes, each
 *   holder told the others (as the put's final holder list would). The put state machines are
 *   covered by unit tests.
 * - Chunks are 1 MiB in the byte counters; a node's repair traffic goes through a TokenBucket
 *   (`repairMiBps`) on the simulated clock; links add 10–100 ms of latency per message.
 * - A replaced node crashes and never returns (its disk is gone); a fresh node with a new key joins.
 */
import { type Contact, SeededRandom } from '@swarmstore/core'
import { type SimNode, Simulator } from '@swarmstore/sim'
import { type HealingAction, HealingPlanner, MemberRing, shouldAccept, TokenBucket } from '../../src/index.js'

export interface HealSimOptions {
  seed: number
  nodes?: number
  chunks?: number
  replicas?: number
  /** Simulated duration of churn, ms. */
  durationMs?: number
  /** Fraction of nodes replaced per 10 simulated minutes. */
  churnPer10Min?: number
  healing?: boolean
  detectMs?: number
  joinMs?: number
  graceMs?: number
  repairMiBps?: number
  /** Quiet time after churn stops, to let repair converge before the final check. */
  settleMs?: number
  /**
   * False deaths: this fraction of nodes per 10 minutes is declared dead (removed from the view)
   * although it keeps running with its disk, and is re-added `falseDeathMs` later. Default 0.
   */
  falseDeathsPer10Min?: number
  falseDeathMs?: number
}

export interface HealSimResult {
  seed: number
  healing: boolean
  nodes: number
  chunks: number
  replaced: number
  /** Chunk copies that vanished with replaced nodes: the least repair must re-create. */
  copiesOnReplacedNodes: number
  falseDeaths: number
  lostChunks: number
  /** After settling: chunks whose R closest live nodes do not all hold them. */
  underReplicated: number
  /** After settling: copies held outside their chunk's R closest. */
  surplusCopies: number
  healingMessages: number
  healingBytes: number
  chunkTransfers: number
  offers: number
  drops: number
  refusals: number
  simulatedMs: number
  wallMs: number
}

const OFFER = '/swarmstore/sim/repl/offer/1'
const PUSH = '/swarmstore/sim/repl/push/1'
const CHUNK_BYTES = 1 << 20
const HEADER_BYTES = 64

interface Offer {
  key: Uint8Array
  /** The asker is a holder in P (repair), not a stray handing off. */
  holders: string[]
}
interface Push extends Offer {}
type Reply = { have: boolean } | { stored: true } | { refused: string }

interface NodeState {
  contact: Contact
  store: Map<string, Uint8Array>
  planner: HealingPlanner
  bucket: TokenBucket
  planTimer: boolean
  wakeAt: number | undefined
  queue: (HealingAction & { type: 'replicate' })[]
  busy: number
  alive: boolean
}

const hex = (k: Uint8Array) => Buffer.from(k).toString('hex')

export async function runHealSim(opts: HealSimOptions): Promise<HealSimResult> {
  const wallStart = performance.now() // io-edge: report only
  const seed = opts.seed
  const R = opts.replicas ?? 3
  const nNodes = opts.nodes ?? 1000
  const nChunks = opts.chunks ?? 10_000
  const duration = opts.durationMs ?? 2 * 3600_000
  const churn = opts.churnPer10Min ?? 0.05
  const healing = opts.healing ?? true
  const detectMs = opts.detectMs ?? 5_000
  const joinMs = opts.joinMs ?? 1_000
  const settleMs = opts.settleMs ?? 10 * 60_000
  const repairBytesPerSec = (opts.repairMiBps ?? 20) * CHUNK_BYTES

  const sim = new Simulator({
    seed,
    defaultTimeoutMs: 5_000,
    sizeOf: (protocol, payload) => {
      if (protocol === PUSH && payload !== null && typeof payload === 'object' && 'key' in payload) {
        return CHUNK_BYTES + HEADER_BYTES
      }
      return HEADER_BYTES
    },
  })
  const rnd = new SeededRandom(seed ^ 0x4ea1)
  const view = new MemberRing()
  const nodes = new Map<string, NodeState>()
  /** Oracle for the checks only (never consulted by a node): live holders of each chunk. */
  const holders = new Map<string, Set<string>>()
  let lost = 0
  let copiesGone = 0
  let falseDeaths = 0
  let transfers = 0
  let offers = 0
  let drops = 0
  let refusals = 0
  let nextId = 0

  const schedulePlan = (st: NodeState) => {
    if (!healing || st.planTimer || !st.alive) return
    st.planTimer = true
    sim.node(st.contact.peerId).clock.setTimer(0, () => {
      st.planTimer = false
      runPlan(st)
    })
  }

  const runPlan = (st: NodeState) => {
    const now = sim.now()
    const plan = st.planner.plan(now)
    for (const a of plan.actions) {
      if (a.type === 'drop') {
        st.store.delete(hex(a.key))
        holders.get(hex(a.key))?.delete(st.contact.peerId)
        drops++
      } else st.queue.push(a)
    }
    if (
      plan.nextWakeAt !== undefined &&
      (st.wakeAt === undefined || plan.nextWakeAt < st.wakeAt || st.wakeAt <= now)
    ) {
      st.wakeAt = plan.nextWakeAt
      sim.node(st.contact.peerId).clock.setTimer(plan.nextWakeAt - now, () => {
        if (st.wakeAt !== undefined && st.wakeAt <= sim.now()) st.wakeAt = undefined
        runPlan(st)
      })
    }
    pump(st)
  }

  const MAX_BUSY = 4
  const pump = (st: NodeState) => {
    const node = sim.node(st.contact.peerId)
    while (st.alive && st.busy < MAX_BUSY && st.queue.length > 0) {
      const wait = st.bucket.delayFor(CHUNK_BYTES)
      if (wait > 0) {
        node.clock.setTimer(wait, () => pump(st))
        return
      }
      st.bucket.tryTake(CHUNK_BYTES)
      const a = st.queue.shift()!
      st.busy++
      void replicate(st, node, a).finally(() => {
        st.busy--
        schedulePlan(st)
        pump(st)
      })
    }
  }

  const replicate = async (st: NodeState, node: SimNode, a: HealingAction & { type: 'replicate' }) => {
    const msg: Offer = { key: a.key, holders: st.planner.holdersToShare(a.key) }
    try {
      offers++
      const r1 = await node.request<Reply>(a.to.peerId, OFFER, msg)
      if (!st.alive) return
      if ('have' in r1 && r1.have) {
        st.planner.confirmed(a.key, a.to.peerId)
        return
      }
      if (!st.store.has(hex(a.key))) return // dropped meanwhile
      transfers++
      const r2 = await node.request<Reply>(a.to.peerId, PUSH, msg as Push)
      if (!st.alive) return
      if ('stored' in r2) st.planner.confirmed(a.key, a.to.peerId)
      else {
        refusals++
        st.planner.failed(a.key, a.to.peerId, sim.now())
      }
    } catch {
      if (st.alive) st.planner.failed(a.key, a.to.peerId, sim.now())
    }
  }

  const store = (st: NodeState, key: Uint8Array, known: string[]) => {
    const h = hex(key)
    st.store.set(h, key)
    let set = holders.get(h)
    if (set === undefined) {
      set = new Set()
      holders.set(h, set)
    }
    set.add(st.contact.peerId)
    st.planner.hold(key, known)
  }

  const boot = (node: SimNode) => {
    const st = nodes.get(node.id)!
    node.handle<Offer, Reply>(OFFER, (_from, m) => {
      const have = st.store.has(hex(m.key))
      if (have) for (const p of m.holders) st.planner.confirmed(m.key, p)
      if (have) schedulePlan(st)
      return { have }
    })
    node.handle<Push, Reply>(PUSH, (_from, m) => {
      const d = shouldAccept({
        selfKey: st.contact.key,
        key: m.key,
        closestKnown: view.closest(m.key, 2 * R + 1),
        replicas: R,
        hasCapacity: true,
      })
      if (!d.accept) return { refused: d.reason }
      if (!st.store.has(hex(m.key))) store(st, m.key, m.holders)
      schedulePlan(st)
      return { stored: true }
    })
  }

  const addNode = (): NodeState => {
    const id = `n${nextId++}`
    const contact: Contact = { peerId: id, key: rnd.bytes(32), addrs: [] }
    const st: NodeState = {
      contact,
      store: new Map(),
      planner: new HealingPlanner({ self: contact, view, replicas: R, graceMs: opts.graceMs }),
      bucket: new TokenBucket({ clock: sim.clock, ratePerSecond: repairBytesPerSec, burst: 4 * CHUNK_BYTES }),
      planTimer: false,
      wakeAt: undefined,
      queue: [],
      busy: 0,
      alive: true,
    }
    nodes.set(id, st)
    sim.addNode(id, boot)
    return st
  }

  const announce = (c: Contact, joined: boolean) => {
    if (joined) view.add(c)
    else view.remove(c.peerId)
    if (!healing) return
    for (const st of nodes.values()) {
      if (!st.alive) continue
      const touched = joined ? st.planner.memberJoined(c) : st.planner.memberLeft(c)
      if (touched) schedulePlan(st)
    }
  }

  // Initial swarm and data.
  for (let i = 0; i < nNodes; i++) view.add(addNode().contact)
  for (let i = 0; i < nChunks; i++) {
    const key = rnd.bytes(32)
    const p = view.closest(key, R)
    for (const c of p)
      store(
        nodes.get(c.peerId)!,
        key,
        p.map((x) => x.peerId),
      )
  }
  for (const st of nodes.values()) schedulePlan(st)

  // Churn: one replacement every `interval` ms.
  const interval = 600_000 / (churn * nNodes)
  let replaced = 0
  const live = () => [...nodes.values()].filter((s) => s.alive)
  const churnTick = () => {
    if (sim.now() > duration) return
    const ls = live()
    const victim = ls[rnd.int(ls.length)]!
    victim.alive = false
    sim.crash(victim.contact.peerId)
    copiesGone += victim.store.size
    for (const h of victim.store.keys()) {
      const set = holders.get(h)!
      set.delete(victim.contact.peerId)
      if (set.size === 0) lost++
    }
    victim.store.clear()
    replaced++
    sim.clock.setTimer(detectMs, () => announce(victim.contact, false))
    const fresh = addNode()
    sim.clock.setTimer(joinMs, () => announce(fresh.contact, true))
    sim.clock.setTimer(interval, churnTick)
  }
  if (churn > 0) sim.clock.setTimer(interval, churnTick)

  const falseRate = opts.falseDeathsPer10Min ?? 0
  const falseInterval = 600_000 / (falseRate * nNodes)
  const falseDeath = () => {
    if (sim.now() > duration) return
    const ls = live().filter((x) => view.has(x.contact.peerId))
    const victim = ls[rnd.int(ls.length)]!
    falseDeaths++
    announce(victim.contact, false)
    sim.clock.setTimer(opts.falseDeathMs ?? 10_000, () => {
      if (victim.alive) announce(victim.contact, true)
    })
    sim.clock.setTimer(falseInterval, falseDeath)
  }
  if (falseRate > 0) sim.clock.setTimer(falseInterval, falseDeath)
  await sim.run({ until: duration + settleMs })

  // Final check against the oracle: every surviving chunk on its R closest live nodes.
  let under = 0
  let surplus = 0
  for (const [h, set] of holders) {
    if (set.size === 0) continue
    const key = Buffer.from(h, 'hex')
    const p = view.closest(new Uint8Array(key), R)
    if (!p.every((m) => set.has(m.peerId))) under++
    surplus += [...set].filter((id) => !p.some((m) => m.peerId === id)).length
  }
  let healingMessages = 0
  let healingBytes = 0
  for (const proto of [OFFER, PUSH]) {
    const s = sim.stats.byProtocol.get(proto)
    healingMessages += s?.messages ?? 0
    healingBytes += s?.bytes ?? 0
  }
  return {
    seed,
    healing,
    nodes: nNodes,
    chunks: nChunks,
    replaced,
    copiesOnReplacedNodes: copiesGone,
    falseDeaths,
    lostChunks: lost,
    underReplicated: under,
    surplusCopies: surplus,
    healingMessages,
    healingBytes,
    chunkTransfers: transfers,
    offers,
    drops,
    refusals,
    simulatedMs: sim.now(),
    wallMs: Math.round(performance.now() - wallStart), // io-edge: report only
  }
}
