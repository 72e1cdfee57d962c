/**
 * A swarm of Kademlia nodes inside the deterministic simulator: each node runs the real
 * `Kademlia` over a RoutingNetwork backed by the simulator's message bus. Used by the simulation
 * tests and the benchmark. The network is built by joins through bootstrap contacts only.
 */
import { type Contact, compareDistance, type Key, SeededRandom } from '@swarmstore/core'
import { Kademlia, type KademliaInit, type LookupResult, type RoutingNetwork } from '@swarmstore/routing'
import { type SimNode, type SimOptions, Simulator } from '@swarmstore/sim'

export const FIND_NODE = '/swarmstore/kad/find-node/1'
export const PING = '/swarmstore/kad/ping/1'

interface FindNodeMsg {
  from: Contact
  target: Key
}

export interface SwarmOptions {
  seed: number
  /** Per-request timeout used by the simulated network. Default 1000 ms. */
  requestTimeoutMs?: number
  sim?: Partial<SimOptions>
  kad?: KademliaInit
}

/** Approximate wire sizes: a contact is a 34-byte peer id multihash, a 32-byte key, two ~30-byte addrs. */
const CONTACT_BYTES = 34 + 32 + 60
function sizeOf(protocol: string, payload: unknown): number {
  if (Array.isArray(payload)) return 4 + payload.length * CONTACT_BYTES
  if (protocol === FIND_NODE) return 4 + CONTACT_BYTES + 32
  return 4 + CONTACT_BYTES
}

export class SimSwarm {
  readonly sim: Simulator
  readonly kads = new Map<string, Kademlia>()
  readonly contacts = new Map<string, Contact>()
  /** Contacts removed from some table while they were up (evictions of live nodes). */
  liveEvictions = 0
  /** Contacts removed while they were down (correct evictions). */
  deadEvictions = 0
  private readonly opts: SwarmOptions
  private readonly idRandom: SeededRandom

  constructor(opts: SwarmOptions) {
    this.opts = opts
    this.sim = new Simulator({
      seed: opts.seed,
      defaultTimeoutMs: opts.requestTimeoutMs ?? 1000,
      sizeOf,
      ...opts.sim,
    })
    this.idRandom = new SeededRandom(opts.seed ^ 0x1d1d1d1d)
  }

  /** Adds a node (not yet joined). Restarting it after a crash boots a fresh, empty Kademlia. */
  addNode(): Contact {
    const i = this.contacts.size
    const contact: Contact = {
      peerId: `peer-${i}`,
      key: this.idRandom.bytes(32),
      addrs: [`/ip4/10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/tcp/4001`],
    }
    this.contacts.set(contact.peerId, contact)
    this.sim.addNode(contact.peerId, (node) => this.boot(node, contact))
    return contact
  }

  private boot(node: SimNode, self: Contact): void {
    const timeoutMs = this.opts.requestTimeoutMs ?? 1000
    const network: RoutingNetwork = {
      findNode: (to, target) =>
        node.request<Contact[]>(to.peerId, FIND_NODE, { from: self, target }, { timeoutMs }),
      ping: (to) => node.request<void>(to.peerId, PING, self, { timeoutMs }),
    }
    const kad = new Kademlia({ self, clock: node.clock, random: node.random, network, ...this.opts.kad })
    kad.on('contact:removed', (c) => {
      if (this.sim.isUp(c.peerId)) this.liveEvictions++
      else this.deadEvictions++
    })
    node.handle<FindNodeMsg, Contact[]>(FIND_NODE, (_from, m) => kad.handleFindNode(m.from, m.target))
    node.handle<Contact, null>(PING, (_from, c) => {
      kad.handlePing(c)
      return null
    })
    this.kads.set(self.peerId, kad)
  }

  kad(peerId: string): Kademlia {
    const k = this.kads.get(peerId)
    if (k === undefined) throw new Error(`no node ${peerId}`)
    return k
  }

  liveIds(): string[] {
    return [...this.contacts.keys()].filter((id) => this.sim.isUp(id))
  }

  /**
   * Grows the swarm to `n` nodes: node 0 starts alone, every later node joins through one random
   * already-joined node (its self-lookup and bucket refreshes do the rest). `parallel` joins run at once.
   */
  async build(n: number, parallel = 50): Promise<void> {
    const joined: Contact[] = []
    if (this.contacts.size === 0) joined.push(this.addNode())
    else for (const id of this.liveIds()) joined.push(this.contacts.get(id)!)
    const pick = this.sim.random
    let next = this.contacts.size
    const worker = async (): Promise<void> => {
      while (next < n) {
        next++
        const c = this.addNode()
        const boot = joined[pick.int(joined.length)]!
        await this.kad(c.peerId).join([boot])
        joined.push(c)
      }
    }
    await this.sim.settle(Promise.all(Array.from({ length: parallel }, worker)))
  }

  /** The true k closest live nodes to target (global knowledge: for checking only). */
  trueClosest(target: Key, k: number): string[] {
    const best: Contact[] = []
    for (const [id, c] of this.contacts) {
      if (!this.sim.isUp(id)) continue
      if (best.length === k && compareDistance(c.key, best[k - 1]!.key, target) >= 0) continue
      let i = best.length
      while (i > 0 && compareDistance(c.key, best[i - 1]!.key, target) < 0) i--
      best.splice(i, 0, c)
      if (best.length > k) best.pop()
    }
    return best.map((c) => c.peerId)
  }

  /**
   * Runs `count` lookups from random origins (among `origins`, default: the live nodes) to random
   * keys, `parallel` at a time; `during` runs once they are under way (e.g. to crash nodes).
   */
  async lookups(
    count: number,
    opts: {
      parallel?: number
      origins?: string[]
      during?: () => void
      duringAtMs?: number
      truth?: boolean
    } = {},
  ): Promise<LookupOutcome[]> {
    const out: LookupOutcome[] = []
    const origins = opts.origins ?? this.liveIds()
    const pick = this.sim.random
    let started = 0
    const worker = async (): Promise<void> => {
      while (started < count) {
        started++
        const origin = origins[pick.int(origins.length)]!
        const target = pick.bytes(32)
        const result = await this.kad(origin).lookup(target)
        const truth = opts.truth === false ? [] : this.trueClosest(target, this.kad(origin).k)
        out.push({ origin, result, truth })
      }
    }
    if (opts.during) this.sim.clock.setTimer(opts.duringAtMs ?? 0, opts.during)
    await this.sim.settle(Promise.all(Array.from({ length: opts.parallel ?? 20 }, worker)))
    return out
  }

  /** Every live node refreshes all its buckets once; then liveness checks are let finish. */
  async refreshRound(): Promise<void> {
    await this.sim.settle(Promise.all(this.liveIds().map((id) => this.kad(id).refresh({ force: true }))))
    // No periodic timers run in this swarm (start() is not called), so the queue drains once the
    // liveness checks triggered by the refresh lookups are done.
    await this.sim.run()
  }
}

export interface LookupOutcome {
  origin: string
  result: LookupResult
  /** The true k closest live nodes at the moment the lookup ended (empty if not asked for). */
  truth: string[]
}
