/**
 * The comparison peer of bench:kv: `--nodes` js-libp2p Kademlia DHT nodes (`@libp2p/kad-dht`) in
 * this one process, TCP + Noise + yamux on loopback, k = 20, every node a server. Their routing
 * tables are filled before anything is timed (every node dials every other; then each waits until
 * its table holds all the others), so a lookup starts from a table as full as the daemons' own.
 * Then, after `warmupOps` untimed pairs, `ops` puts of 1 KiB values, each through a random node,
 * and the get of each key through a different node, checked byte for byte.
 *
 * kad-dht keeps the value of a put on the k closest peers it found and answers a get from every
 * peer its query reaches (with 20 nodes and k = 20: all of them), then sends the newest record to
 * those that hold another. So one put or get is one lookup plus k record RPCs; there are no
 * versions, quorums or consistency promises, which is what the daemons' KV routes add.
 */
import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { KadDHT, SingleKadDHT } from '@libp2p/kad-dht'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { waitFor } from '../../support/swarm.js'
import { otherIndex, p50p95 } from './stats.js'

/** The record namespace of the benchmark's keys: kad-dht refuses a key without a validator for it. */
const NAMESPACE = 'swarmstore-bench'
const K = 20
/** A put or get that takes longer is abandoned and counted as an error. */
const OP_TIMEOUT_MS = 30_000

type KadNode = Libp2p<{ dht: KadDHT }>

/** kadDHT() is typed as the general interface; one DHT (not a LAN + WAN pair) is a SingleKadDHT. */
const tableSize = (node: KadNode) => (node.services.dht as SingleKadDHT).routingTable.size

export interface KadInit {
  nodes: number
  ops: number
  valueBytes: number
  /** untimed put + get pairs first */
  warmupOps: number
  log: (s: string) => void
}

export interface KadResult {
  kadNodes: number
  kadOps: number
  kadPutP50Ms: number | null
  kadPutP95Ms: number | null
  kadGetP50Ms: number | null
  kadGetP95Ms: number | null
  /** puts that threw, timed out or reached no peer; gets that threw, timed out, found nothing or other bytes */
  kadErrors: number
  /** peers that acknowledged a put with the same record (kad-dht sends it to the k closest it found) */
  kadPutAcksMean: number | null
  /** the smallest routing table when timing began */
  kadTableMin: number
  kadSetupSeconds: number
}

function createNode(): Promise<KadNode> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // All nodes dial each other at once from one host: the default (5 inbound per second per
      // host) would reset most of those connections.
      inboundConnectionThreshold: 10_000,
      maxIncomingPendingConnections: 1_000,
    },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        kBucketSize: K,
        clientMode: false,
        // the default mapper drops private addresses, loopback among them: nobody would be dialable
        peerInfoMapper: passthroughMapper,
        validators: { [NAMESPACE]: async () => {} },
        selectors: { [NAMESPACE]: () => 0 },
      }),
    },
  })
}

/** Every node dials every other (one connection per pair), then each table must hold all the others. */
async function fillTables(nodes: KadNode[]): Promise<void> {
  const n = nodes.length
  await Promise.all(
    nodes.map(async (a, i) => {
      for (let j = i + 1; j < n; j++) await a.dial(nodes[j]!.getMultiaddrs()[0]!)
    }),
  )
  await waitFor(
    `every kad-dht routing table holding ${n - 1} peers`,
    async () => nodes.every((x) => tableSize(x) >= n - 1),
    60_000,
    100,
  )
}

const keyOf = (i: number) =>
  new TextEncoder().encode(`/${NAMESPACE}/key-${i}-${randomBytes(6).toString('hex')}`)

async function put(node: KadNode, key: Uint8Array, value: Uint8Array): Promise<number> {
  let acks = 0
  for await (const ev of node.services.dht.put(key, value, { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })) {
    if (ev.name === 'PEER_RESPONSE' && ev.record !== undefined) acks++
  }
  return acks
}

async function get(node: KadNode, key: Uint8Array): Promise<Uint8Array | undefined> {
  let value: Uint8Array | undefined
  for await (const ev of node.services.dht.get(key, { signal: AbortSignal.timeout(OP_TIMEOUT_MS) })) {
    if (ev.name === 'VALUE') value = ev.value
  }
  return value
}

/** Times `fn`; undefined if it threw (the error is counted by the caller). */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T } | undefined> {
  const t0 = performance.now()
  try {
    const value = await fn()
    return { ms: performance.now() - t0, value }
  } catch {
    return undefined
  }
}

export async function measureKad(init: KadInit): Promise<KadResult> {
  const t0 = performance.now()
  init.log(`kad-dht: starting ${init.nodes} nodes in this process…`)
  const nodes: KadNode[] = []
  try {
    for (let i = 0; i < init.nodes; i++) nodes.push(await createNode())
    await fillTables(nodes)
    const kadTableMin = Math.min(...nodes.map((x) => tableSize(x)))
    const kadSetupSeconds = (performance.now() - t0) / 1000

    // untimed, as the daemons' sequential phase: the first operations also pay for JIT
    for (let i = 0; i < init.warmupOps; i++) {
      const key = keyOf(-1 - i)
      const t = Math.floor(Math.random() * nodes.length)
      await put(nodes[t]!, key, new Uint8Array(init.valueBytes)).catch(() => 0)
      await get(nodes[otherIndex(nodes.length, t)]!, key).catch(() => undefined)
    }

    init.log(`kad-dht: ${init.ops} puts, then a get of each through another node…`)
    const keys = Array.from({ length: init.ops }, (_, i) => keyOf(i))
    const values = keys.map(() => new Uint8Array(randomBytes(init.valueBytes)))
    const putVia = keys.map(() => Math.floor(Math.random() * nodes.length))
    const putMs: number[] = []
    const getMs: number[] = []
    const acks: number[] = []
    let errors = 0
    for (let i = 0; i < keys.length; i++) {
      const r = await timed(() => put(nodes[putVia[i]!]!, keys[i]!, values[i]!))
      if (r === undefined || r.value === 0) errors++
      else {
        putMs.push(r.ms)
        acks.push(r.value)
      }
    }
    for (let i = 0; i < keys.length; i++) {
      const via = nodes[otherIndex(nodes.length, putVia[i]!)]!
      const r = await timed(() => get(via, keys[i]!))
      if (r === undefined || r.value === undefined || !Buffer.from(r.value).equals(values[i]!)) errors++
      else getMs.push(r.ms)
    }
    const putQ = p50p95(putMs)
    const getQ = p50p95(getMs)
    return {
      kadNodes: init.nodes,
      kadOps: init.ops,
      kadPutP50Ms: putQ.p50,
      kadPutP95Ms: putQ.p95,
      kadGetP50Ms: getQ.p50,
      kadGetP95Ms: getQ.p95,
      kadErrors: errors,
      kadPutAcksMean: acks.length
        ? Math.round((acks.reduce((a, b) => a + b, 0) / acks.length) * 10) / 10
        : null,
      kadTableMin,
      kadSetupSeconds: Math.round(kadSetupSeconds * 10) / 10,
    }
  } finally {
    await Promise.allSettled(nodes.map((x) => x.stop()))
  }
}
