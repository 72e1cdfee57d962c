import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { boundAddrs, type Contact, contactFromPeerId } from '@swarmstore/core'
import type { Libp2p } from 'libp2p'
import type { Logger } from 'pino'
import { ApiServer } from './api-server.js'
import { BlockReader } from './block-reader.js'
import { BlockWriter } from './block-writer.js'
import { BootstrapProbe } from './bootstrap-probe.js'
import { CapacityAdvertiser, freeCapacity } from './capacity-advertiser.js'
import { ChunkService } from './chunk-service.js'
import { type DaemonConfig, resolveConfig } from './config.js'
import { Dashboard } from './dashboard/dashboard.js'
import { Departure, type DepartureMode } from './departure.js'
import { BadConfigError } from './errors.js'
import { Handoff } from './handoff.js'
import { Holders } from './holders.js'
import { Invites } from './invites.js'
import { KadService } from './kad-service.js'
import { KvNode } from './kv/kv-node.js'
import { type Startable, startAll, stopAll } from './lifecycle.js'
import { createLogger } from './logger.js'
import { MemberEvents } from './member-events.js'
import { MembershipService } from './membership-service.js'
import { Metrics } from './metrics.js'
import { MetricsServer } from './metrics-server.js'
import { NodeStatus } from './node-status.js'
import { PeerCache } from './peer-cache.js'
import { PeerRpc } from './peer-rpc.js'
import { ReplicaAdapter } from './replica-adapter.js'
import { openResources } from './resources.js'
import { Scrubber } from './scrubber.js'
import { StopRequests } from './stop-requests.js'
import { SwarmJoiner } from './swarm-joiner.js'

export interface Daemon {
  readonly config: DaemonConfig
  readonly node: Libp2p
  readonly apiUrl: string
  /** asks made through the control API to stop (runDaemon acts on them) */
  readonly stopRequests: StopRequests
  /** Stops every part and closes the node; `restart` (default) or `leave` says how peers see it go. */
  stop(mode?: DepartureMode): Promise<void>
}

const DAEMON_VERSION = '0.1.0'
/** Anti-entropy (range-summary sessions with the nearest members) runs this often. */
const AUDIT_INTERVAL_MS = 60_000

/** The first call's promise, for every call: a stop runs once however often it is asked for. */
function once<A extends unknown[]>(f: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let running: Promise<void> | undefined
  return (...args) => {
    running ??= f(...args)
    return running
  }
}

/** Strip `/p2p/<id>`: contacts carry the id separately. */
function dialAddr(ma: string): string {
  const i = ma.indexOf('/p2p/')
  return i === -1 ? ma : ma.slice(0, i)
}

/** A bootstrap multiaddr must name its peer (`/p2p/<id>`): that is how we know who answers. */
function bootstrapContact(ma: string): Contact {
  let parsed: ReturnType<typeof multiaddr>
  try {
    parsed = multiaddr(ma)
  } catch (err) {
    throw new BadConfigError(`bootstrap ${ma}: not a multiaddr (${(err as Error).message})`)
  }
  const id = parsed.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (!id)
    throw new BadConfigError(
      `bootstrap ${ma}: must end in /p2p/<peer id> (see \`swarmstore id\` on that node)`,
    )
  return contactFromPeerId(peerIdFromString(id), [dialAddr(ma)])
}

/**
 * Starts a daemon; resolves once it listens (libp2p and the control API). Joining goes on in the
 * background. A composition root: it builds each part from what the parts before it offer, starts
 * them in one ordered list and stops them in reverse; what the node does lives in the parts.
 */
export async function startDaemon(flags: Partial<Record<keyof DaemonConfig, unknown>> = {}): Promise<Daemon> {
  const config = await resolveConfig(flags)
  const log = await createLogger(config)
  const bootstraps = config.bootstrap.map(bootstrapContact)
  const { token, store, node, swarmKey, close } = await openResources(config)
  try {
    const metrics = new Metrics()
    const selfId = node.peerId.toString()
    const myAddrs = () => boundAddrs(node.getMultiaddrs().map((m) => dialAddr(m.toString())))
    const self = contactFromPeerId(node.peerId, myAddrs())
    const { swarm, replicas: r, writeQuorum, chunkSize, capacity: cap, dataDir } = config
    const settingsMeta = { r: String(r), cs: String(chunkSize) }
    const capacityFree = await freeCapacity(store, cap)
    const meta = { addrs: myAddrs(), capacityFree, settings: settingsMeta, version: DAEMON_VERSION }

    const rpc = new PeerRpc({ node, log, addrs: myAddrs }, { settings: { r, cs: chunkSize } })
    const kad = new KadService({ rpc, self }, { swarm })
    const routing = kad.kad
    const addrsOf = (id: string) => routing.contacts().find((c) => c.peerId === id)?.addrs ?? []
    const members = new MembershipService({ node, rpc, log, addrsOf }, { swarm, meta })
    const membership = members.membership
    const isLiveMember = (id: string) => members.isLiveMember(id)
    const chunks = new ChunkService(
      { rpc, kad, store, self, log, metrics, isLiveMember },
      { swarm, replicas: r, capacity: cap },
    )
    const capacity = new CapacityAdvertiser(
      { store, membership, addrs: myAddrs },
      { meta, capacity: cap, chunkSize },
    )
    const replicas = new ReplicaAdapter(
      {
        self,
        store,
        chunks,
        kad,
        log,
        metrics,
        isAdvertisedFull: (id) => capacity.isAdvertisedFull(id),
        // a member that failed a probe is asked last by reads (still asked before not-found)
        isSuspect: (id) => members.isSuspect(id),
        liveMembers: () => members.liveContacts(),
      },
      {
        replicas: r,
        writeQuorum,
        selfFull: cap === 0,
        repairBytesPerSecond: config.repairRate,
        graceMs: config.repairGrace * 1000,
        auditIntervalMs: AUDIT_INTERVAL_MS,
      },
    )
    const events = new MemberEvents(
      { membership, routing, replicas, log, selfId },
      { settings: settingsMeta },
    )
    const stopping = new AbortController()
    const peerCache = new PeerCache({ dataDir })
    const joiner = swarmJoiner(
      { node, routing, membership, peerCache, log, stopping: stopping.signal, selfId },
      config,
      bootstraps,
    )
    const isReady = () => joiner.ready
    const joinProblem = () => joiner.problem
    const founder = bootstraps.length === 0
    const kv = new KvNode({ rpc, log, membership, self }, { swarm, replicas: r, dataDir, founder })
    const status = new NodeStatus(
      { node, store, kad, membership, replicas, rpc, metrics, isReady, joinProblem },
      { swarm, replicas: r, writeQuorum, chunkSize, capacity: cap },
    )
    const invites = new Invites({ status }, { swarm, replicas: r, writeQuorum, chunkSize, swarmKey })
    const scrubber = new Scrubber({ store, replicas, log }, { intervalMs: config.scrubInterval * 1000 })
    const stopRequests = new StopRequests()
    const isAdvertisedFull = (id: string) => capacity.isAdvertisedFull(id)
    const handoff = new Handoff(
      { store, chunks, membership, isAdvertisedFull, selfId, log },
      { replicas: r, settings: settingsMeta },
    )
    const reader = new BlockReader({ store, replicas, log })
    const holders = new Holders({ replicas, chunks })
    const liveMembers = () => members.liveContacts()
    const dashboard = new Dashboard(
      { node, membership, store, replicas, metrics, self, reader, holders, liveMembers },
      { replicas: r, capacity: cap },
    )
    const api = new ApiServer(
      {
        ...{ log, stopRequests, handoff, isReady, scrubber, status, invites, reader, holders, dashboard },
        writer: new BlockWriter({ store, replicas }, { replicas: r, writeQuorum }),
        release: (bytes) => rpc.pool.release(bytes),
        metrics,
        kv,
      },
      { listen: config.api, dataDir, token, chunkSize, replicas: r },
    )
    const metricsServer = new MetricsServer({ status }, { listen: config.metricsListen })
    const departure = new Departure({ membership, replicas, log })
    // Started in this order, stopped in reverse: the departure first, the routing table saved
    // once replication has drained, the API closed before what it reads from.
    const parts: Startable[] = [
      ...[kad, chunks, capacity, events, members, replicas, kv, status, invites, scrubber, dashboard],
      ...[api, metricsServer, handoff, joiner, departure],
    ]
    await startAll(parts)
    const addrs = node.getMultiaddrs().map((m) => m.toString())
    log.info(
      { peerId: selfId, addrs, api: api.url, metrics: metricsServer.url || undefined, swarm },
      'daemon listening',
    )

    const stop = stopOnce(parts, departure, stopping, close, log)
    return { config, node, apiUrl: api.url, stopRequests, stop }
  } catch (err) {
    await close()
    throw err
  }
}

/** Joins through `bootstraps`; a join that fails is explained by probing them (a swarm key differs?). */
function swarmJoiner(
  c: Omit<ConstructorParameters<typeof SwarmJoiner>[0], 'explainFailure'> & { node: Libp2p },
  config: DaemonConfig,
  bootstraps: Contact[],
): SwarmJoiner {
  const probe = new BootstrapProbe(
    { node: c.node },
    { bootstraps: config.bootstrap, swarmKeyPath: config.swarmKey },
  )
  return new SwarmJoiner({ ...c, explainFailure: () => probe.explain() }, { bootstraps })
}

/**
 * The daemon's stop, run once however often it is asked for: the departure told how peers see it go
 * (`restart` by default, or `leave`), the parts in reverse, then the resources.
 */
function stopOnce(
  parts: Startable[],
  departure: Departure,
  stopping: AbortController,
  close: () => Promise<void>,
  log: Logger,
): (mode?: DepartureMode) => Promise<void> {
  return once(async (mode: DepartureMode = 'restart') => {
    departure.prepare(mode)
    stopping.abort() // no join retried from here on
    await stopAll(parts)
    await close()
    log.info('stopped')
    log.flush()
  })
}
