/**
 * The write path in the simulator: uploaders drive PutQuorum + ChainTracker, holders relay with
 * ChainRelay and admit with shouldAccept, over @swarmstore/sim's lossy, latent message bus, with
 * crashed and full nodes. Reports flow back in each hop's reply (the daemon streams them; the
 * state machines are the same). Membership/lookup: global knowledge of the initial set (crashed
 * nodes are not removed, so they are found by timeouts, the hard case).
 */
import { type Contact, keyToHex, SeededRandom } from '@swarmstore/core'
import { type SimNode, Simulator } from '@swarmstore/sim'
import {
  type ChainHop,
  ChainRelay,
  ChainTracker,
  MemberRing,
  type PutOutcome,
  PutQuorum,
  type PutStep,
  planChain,
  shouldAccept,
} from '../../src/index.js'

export const HEAD = '/swarmstore/sim/put/head/1'
export const RELAY = '/swarmstore/sim/put/relay/1'
/** "You hold this chunk: start a chain to these targets" — replacements cost the uploader 64 bytes. */
export const DELEGATE = '/swarmstore/sim/put/delegate/1'
const CHUNK = 1 << 20

interface Hop {
  key: Uint8Array
  forward: string[]
}

/**
 * A hop's deadline covers the whole chain below it: each relay may spend one hop timeout on a dead
 * next hop before skipping it, so an upstream that timed out first would declare live, storing
 * nodes `unknown` and send them the chunk again.
 */
const HOP_TIMEOUT_MS = 1_000
const hopBudget = (hop: ChainHop) => HOP_TIMEOUT_MS * (2 * hop.forward.length + 1)

export interface PutSimResult {
  puts: number
  acknowledged: number
  complete: number
  failed: number
  /** Acknowledged puts with fewer than W live nodes actually storing the chunk (must be 0). */
  ackedButUnderW: number
  /** Nodes storing a chunk they refused or were never sent (must be 0). */
  refusedRefusals: number
  uploaderBytesPerPut: number
  relayBytesPerPut: number
  delegations: number
}

export async function runPutSim(opts: {
  seed: number
  nodes?: number
  puts?: number
  fullFraction?: number
  crashes?: number
  lossRate?: number
}): Promise<PutSimResult> {
  const sim = new Simulator({
    seed: opts.seed,
    lossRate: opts.lossRate ?? 0.01,
    defaultTimeoutMs: 2_000,
    sizeOf: (protocol, payload) =>
      (protocol === HEAD || protocol === RELAY) &&
      payload !== null &&
      typeof payload === 'object' &&
      'forward' in payload
        ? CHUNK + 64
        : 64,
  })
  const rnd = new SeededRandom(opts.seed ^ 0x9e7)
  const n = opts.nodes ?? 60
  const contacts: Contact[] = Array.from({ length: n }, (_, i) => ({
    peerId: `n${i}`,
    key: rnd.bytes(32),
    addrs: [],
  }))
  const view = new MemberRing(contacts)
  const full = new Set(contacts.filter(() => rnd.next() < (opts.fullFraction ?? 0.1)).map((c) => c.peerId))
  const stores = new Map<string, Set<string>>(contacts.map((c) => [c.peerId, new Set()]))

  const handleHop = async (node: SimNode, m: Hop, delegated = false): Promise<PutOutcome[]> => {
    const self = view.get(node.id)!
    if (delegated && !stores.get(node.id)!.has(keyToHex(m.key))) {
      return m.forward.map((peerId) => ({ peerId, outcome: 'unknown' as const }))
    }
    const d = shouldAccept({
      selfKey: self.key,
      key: m.key,
      closestKnown: view.closest(m.key, 7),
      hasCapacity: !full.has(node.id),
    })
    const relay = new ChainRelay(m.forward.map((id) => view.get(id)!))
    const reports: PutOutcome[] = []
    if (delegated) {
      // Already a holder: only forward.
    } else if (d.accept) {
      stores.get(node.id)!.add(keyToHex(m.key))
      reports.push({ peerId: node.id, outcome: 'stored' })
    } else reports.push({ peerId: node.id, outcome: 'refused', reason: d.reason })
    // Forward even when refusing: the bytes are passing through anyway, the chain must go on.
    let hop: ChainHop | undefined = relay.next
    while (hop !== undefined) {
      try {
        const down = await node.request<PutOutcome[]>(
          hop.to.peerId,
          RELAY,
          { key: m.key, forward: hop.forward.map((c) => c.peerId) },
          { timeoutMs: hopBudget(hop) },
        )
        reports.push(...down)
        break
      } catch {
        const s = relay.skip({ outcome: 'failed', reason: 'timeout' })
        reports.push(s.report)
        hop = s.next
      }
    }
    return reports
  }
  for (const c of contacts) {
    sim.addNode(c.peerId, (node) => {
      node.handle<Hop, PutOutcome[]>(HEAD, (_f, m) => handleHop(node, m))
      node.handle<Hop, PutOutcome[]>(RELAY, (_f, m) => handleHop(node, m))
      node.handle<Hop, PutOutcome[]>(DELEGATE, (_f, m) => handleHop(node, m, true))
    })
  }
  const crashed = new Set<string>()
  for (let i = 0; i < (opts.crashes ?? 5); i++) {
    const id = contacts[rnd.int(n)]!.peerId
    crashed.add(id)
    sim.crash(id)
  }

  const put = (uploader: string, key: Uint8Array): Promise<PutQuorum> =>
    new Promise((resolve) => {
      const q = new PutQuorum({ key, candidates: view.closest(key, 20) })
      let running = 0
      const launch = (step: PutStep) => {
        const hop = planChain(step.send)
        if (hop !== undefined) {
          const tracker = new ChainTracker(hop)
          running++
          // Replacements go through the nearest holder when there is one (it has the bytes), so
          // the uploader's uplink carries one copy per put plus 64-byte requests.
          const via = q.holders.find((c) => c.peerId !== uploader)
          const req =
            via === undefined
              ? sim.request<PutOutcome[]>(
                  uploader,
                  hop.to.peerId,
                  HEAD,
                  { key, forward: hop.forward.map((c) => c.peerId) },
                  { timeoutMs: hopBudget(hop) },
                )
              : sim.request<PutOutcome[]>(
                  uploader,
                  via.peerId,
                  DELEGATE,
                  { key, forward: step.send.map((c) => c.peerId) },
                  { timeoutMs: hopBudget(hop) + HOP_TIMEOUT_MS },
                )
          req
            .then(
              (reports) => {
                for (const r of reports) if (tracker.report(r)) launch(q.apply(r))
              },
              () => {},
            )
            .finally(() => {
              for (const u of tracker.broken()) launch(q.apply(u))
              running--
              if (running === 0) resolve(q)
            })
        } else if (running === 0) resolve(q)
      }
      launch(q.start())
    })

  const puts = opts.puts ?? 300
  const results: { key: Uint8Array; q: PutQuorum }[] = []
  for (let i = 0; i < puts; i++) {
    const live = contacts.filter((c) => !crashed.has(c.peerId))
    const uploader = live[rnd.int(live.length)]!.peerId
    const key = rnd.bytes(32)
    results.push({ key, q: await sim.settle(put(uploader, key)) })
  }
  let ackedButUnderW = 0
  let refusedRefusals = 0
  for (const { key, q } of results) {
    const h = keyToHex(key)
    const holding = contacts.filter((c) => !crashed.has(c.peerId) && stores.get(c.peerId)!.has(h))
    if (q.acknowledged && holding.length < q.writeQuorum) ackedButUnderW++
    for (const c of holding) if (full.has(c.peerId)) refusedRefusals++
  }
  const bytes = (p: string) => sim.stats.byProtocol.get(p)?.bytes ?? 0
  return {
    puts,
    acknowledged: results.filter((r) => r.q.acknowledged).length,
    complete: results.filter((r) => r.q.status === 'complete').length,
    failed: results.filter((r) => r.q.status === 'failed').length,
    ackedButUnderW,
    refusedRefusals,
    uploaderBytesPerPut: bytes(HEAD) / puts / CHUNK,
    relayBytesPerPut: bytes(RELAY) / puts / CHUNK,
    delegations: sim.stats.byProtocol.get(DELEGATE)?.messages ?? 0,
  }
}
