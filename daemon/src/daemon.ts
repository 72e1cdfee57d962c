import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { boundAddrs, type Contact, contactFromPeerId, keyForCid, keyToHex } from '@swarmstore/core'
import { ChunkStore, DAG_CBOR_CODE, toChunkCid } from '@swarmstore/storage'
import type { Libp2p } from 'libp2p'
import { LRUCache } from 'lru-cache'
import type { CID } from 'multiformats/cid'
import { pino } from 'pino'
import { createApiServer } from './api-server.js'
import { ChunkService } from './chunk-service.js'
import { type DaemonConfig, resolveConfig } from './config.js'
import { BadConfigError } from './errors.js'
import { loadOrCreateIdentity, loadOrCreateToken } from './identity.js'
import { KadService } from './kad-service.js'
import { createNode } from './libp2p-node.js'
import { lockDataDir } from './lock.js'
import { MembershipService, memberContact } from './membership-service.js'
import { Metrics } from './metrics.js'
import { PeerCache } from './peer-cache.js'
import { PeerRpc } from './peer-rpc.js'
import { ReplicaAdapter } from './replica-adapter.js'

export interface Daemon {
  readonly config: DaemonConfig
  readonly node: Libp2p
  readonly apiUrl: string
  stop(): Promise<void>
}

const DAEMON_VERSION = '0.1.0'
/** Anti-entropy (range-summary sessions with the nearest members) runs this often. */
const AUDIT_INTERVAL_MS = 60_000
/**
 * Verified manifest blocks kept in memory (content-addressed, so never stale): a ranged read
 * (`get --offset`, a reader seeking in a file) otherwise fetched its file's root from the swarm
 * twice, one round trip after the other, before its one chunk.
 */
const MANIFEST_CACHE_BYTES = 16 << 20
/** How often free capacity is re-checked for the membership metadata. */
const CAPACITY_ADVERT_MS = 15_000

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

async function writeAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, text, { mode })
  await rename(tmp, file)
}

/** Starts a daemon; resolves once it listens (libp2p and the control API). Joining goes on in the background. */
export async function startDaemon(flags: Partial<Record<keyof DaemonConfig, unknown>> = {}): Promise<Daemon> {
  const config = await resolveConfig(flags)
  const log = pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2))
  const bootstraps = config.bootstrap.map(bootstrapContact)
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const lock = await lockDataDir(config.dataDir)
  const cleanups: (() => Promise<void>)[] = [() => lock.release()]
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {})
  }
  try {
    const privateKey = await loadOrCreateIdentity(config.dataDir)
    const token = await loadOrCreateToken(config.dataDir, () => randomBytes(32))
    const store = await ChunkStore.open(join(config.dataDir, 'chunks'), {
      ...(config.capacity !== null ? { capacityBytes: config.capacity } : {}),
      maxChunkBytes: Math.max(config.chunkSize, 1 << 20),
    })
    cleanups.push(() => store.close())
    let swarmKey: Uint8Array | undefined
    if (config.swarmKey !== null) {
      try {
        swarmKey = await readFile(config.swarmKey)
      } catch (err) {
        throw new BadConfigError(`swarmKey ${config.swarmKey}: ${(err as Error).message}`)
      }
    }
    const node = await createNode({
      privateKey,
      listen: config.listen,
      announce: config.announce,
      ...(swarmKey ? { swarmKey } : {}),
    })
    cleanups.push(async () => {
      await node.stop()
    })
    const metrics = new Metrics()
    const selfId = node.peerId.toString()
    const myAddrs = () => boundAddrs(node.getMultiaddrs().map((m) => dialAddr(m.toString())))
    const self = contactFromPeerId(node.peerId, myAddrs())
    const settings = { r: config.replicas, cs: config.chunkSize }
    const rpc = new PeerRpc({ node, log, addrs: myAddrs }, { settings })
    const kad = new KadService({ rpc, self }, { swarm: config.swarm })
    const chunks = new ChunkService(
      {
        rpc,
        kad,
        store,
        self,
        log,
        metrics,
        isLiveMember: (peerId) => {
          const st = members.membership.get(peerId)?.state
          return st === 'alive' || st === 'suspect'
        },
      },
      { swarm: config.swarm, replicas: config.replicas, capacity: config.capacity },
    )
    const settingsMeta = { r: String(config.replicas), cs: String(config.chunkSize) }
    const freeBytes = async () => (config.capacity === 0 ? 0 : (await store.stats()).freeBytes)
    const meta = {
      addrs: myAddrs(),
      capacityFree: await freeBytes(),
      settings: settingsMeta,
      version: DAEMON_VERSION,
    }
    const members = new MembershipService(
      { node, rpc, log, addrsOf: (id) => kad.kad.contacts().find((c) => c.peerId === id)?.addrs ?? [] },
      { swarm: config.swarm, meta },
    )
    const membership = members.membership
    // a member with less room than one chunk is full: placement skips it (it keeps what it has)
    const advertisedFull = (peerId: string) => {
      const free = membership.get(peerId)?.meta.capacityFree
      return free !== undefined && free < config.chunkSize
    }
    // Re-advertise free capacity when it crosses "full" or moves by a quarter (each change bumps
    // our incarnation and is gossiped, so not on every put).
    let advertised = meta.capacityFree
    const capacityTimer = setInterval(async () => {
      try {
        const free = await freeBytes()
        const crossed = free < config.chunkSize !== advertised < config.chunkSize
        if (crossed || Math.abs(free - advertised) > 0.25 * Math.max(advertised, 1)) {
          advertised = free
          membership.setMeta({ ...meta, addrs: myAddrs(), capacityFree: free })
        }
      } catch {
        // stats failed (store closing): try again next time
      }
    }, CAPACITY_ADVERT_MS)
    capacityTimer.unref()
    cleanups.push(async () => clearInterval(capacityTimer))
    const replicas = new ReplicaAdapter(
      {
        self,
        store,
        chunks,
        kad,
        log,
        metrics,
        isAdvertisedFull: advertisedFull,
        // a member that failed a probe is asked last by reads (still asked before not-found)
        isSuspect: (peerId) => membership.get(peerId)?.state === 'suspect',
      },
      {
        replicas: config.replicas,
        writeQuorum: config.writeQuorum,
        selfFull: config.capacity === 0,
        repairBytesPerSecond: config.repairRate,
        graceMs: config.repairGrace * 1000,
        auditIntervalMs: AUDIT_INTERVAL_MS,
      },
    )
    const sameSettings = (m: { meta: { settings: Readonly<Record<string, string>> } }) =>
      m.meta.settings.r === settingsMeta.r && m.meta.settings.cs === settingsMeta.cs
    const epochs = new Map<string, number>()
    membership.bindLiveness(kad.kad)
    membership.onEvent((e) => {
      if (e.member.id === selfId || !sameSettings(e.member)) return
      let c: Contact
      try {
        c = memberContact(e.member)
      } catch {
        return
      }
      if (e.type === 'alive' || e.type === 'updated') {
        kad.kad.observe(c)
        // Ask it about its chunks when it is new, back, or restarted (a new epoch: its disk may be
        // gone) — not on every metadata change (free capacity is re-advertised as it moves).
        const epoch = e.member.incarnation.epoch
        const restarted = epochs.get(e.member.id) !== epoch
        epochs.set(e.member.id, epoch)
        replicas.memberUp(c, { ask: e.type === 'alive' || restarted })
      } else if (e.type === 'suspect') {
        // our own health (Lifeguard) scales how long we wait before we declare it dead
        log.info({ peer: e.member.id, localHealth: membership.localHealth }, 'member suspected')
      } else if (e.type === 'dead' || e.type === 'left') {
        log.info({ peer: e.member.id, state: e.type, localHealth: membership.localHealth }, 'member down')
        replicas.memberDown(c)
      }
    })
    await kad.start()
    await chunks.start()
    await members.start()
    await replicas.start()
    cleanups.push(() => replicas.stop())

    let ready = bootstraps.length === 0
    let stopping = false
    const started = Date.now() // io-edge

    const manifests = new LRUCache<string, Uint8Array>({
      maxSize: MANIFEST_CACHE_BYTES,
      sizeCalculation: (b) => Math.max(1, b.byteLength),
    })
    const getBlock = async (cid: CID, signal?: AbortSignal): Promise<Uint8Array> => {
      if (cid.code !== DAG_CBOR_CODE) return getVerified(cid, signal)
      const id = cid.toString()
      const hit = manifests.get(id)
      if (hit !== undefined) return hit
      const bytes = await getVerified(cid, signal)
      manifests.set(id, bytes)
      return bytes
    }

    /** A block, SHA-256-checked against its CID: the local copy when good, else from a replica. */
    const getVerified = async (cid: CID, signal?: AbortSignal): Promise<Uint8Array> => {
      let corrupt = false
      if (await store.has(cid)) {
        try {
          return await store.get(cid)
        } catch (err) {
          // corrupt here (now quarantined): fetch a good copy from a replica instead
          corrupt = true
          replicas.localCopyBad(cid, (err as Error).message)
        }
      }
      const bytes = await replicas.get(cid, signal ? { signal } : {})
      if (corrupt) {
        // read repair of our own copy: it was ours to hold
        // a copy: the caller may give `bytes` back to the reply pool before this write ends
        replicas
          .restoreLocalCopy(cid, bytes.slice())
          .catch((err) =>
            log.warn(
              { cid: cid.toString(), err: (err as Error).message },
              'could not restore a corrupt copy',
            ),
          )
      }
      return bytes
    }

    const holders = async (cids: CID[]): Promise<Map<string, string[]>> => {
      const byPeer = new Map<string, { contact: Contact; cids: CID[] }>()
      await Promise.all(
        cids.map(async (cid) => {
          for (const c of await replicas.closest(keyForCid(cid))) {
            const e = byPeer.get(c.peerId) ?? { contact: c, cids: [] }
            byPeer.set(c.peerId, e)
            e.cids.push(cid)
          }
        }),
      )
      const out = new Map<string, string[]>()
      await Promise.all(
        [...byPeer.values()].map(async ({ contact, cids: list }) => {
          for (let i = 0; i < list.length; i += 1000) {
            const part = list.slice(i, i + 1000)
            const have = await chunks.hasAt(contact, part).catch(() => part.map(() => false))
            part.forEach((c, j) => {
              if (!have[j]) return
              const k = c.toString()
              out.set(k, [...(out.get(k) ?? []), contact.peerId])
            })
          }
        }),
      )
      return out
    }

    // Scrub: read every chunk from disk (past the cache) and verify it; a corrupt or vanished copy
    // is replaced from a replica, since it is ours to hold.
    let scrubbing: Promise<unknown> | undefined
    const scrub = () => {
      scrubbing ??= (async () => {
        const r = await store.verify({ concurrency: 2 })
        let repaired = 0
        for (const c of [...r.corrupt, ...r.missing]) {
          const cid = toChunkCid(c)
          replicas.localCopyBad(cid, 'scrub')
          try {
            await replicas.restoreLocalCopy(cid, await replicas.get(cid))
            repaired++
          } catch (err) {
            log.warn({ cid: c, err: (err as Error).message }, 'scrub: no good replica found')
          }
        }
        if (r.corrupt.length + r.missing.length > 0) metrics.chunksCorrupt.inc(r.corrupt.length)
        log.info(
          {
            checked: r.checked,
            corrupt: r.corrupt.length,
            missing: r.missing.length,
            repaired,
            ms: r.durationMs,
          },
          'scrub',
        )
        return {
          checked: r.checked,
          corrupt: r.corrupt,
          missing: r.missing,
          repaired,
          durationMs: r.durationMs,
        }
      })().finally(() => {
        scrubbing = undefined
      })
      return scrubbing
    }
    if (config.scrubInterval > 0) {
      const t = setInterval(
        () => scrub().catch((err) => log.warn({ err }, 'scrub failed')),
        config.scrubInterval * 1000,
      )
      t.unref()
      cleanups.push(async () => clearInterval(t))
    }

    const server = createApiServer({
      scrub,
      token,
      log,
      chunkSize: config.chunkSize,
      isReady: () => ready,
      putBlock: async (cid, bytes, { wait, pin }) => {
        if (pin) await store.put(cid, bytes, { trusted: true })
        if (pin) await store.pin(cid)
        // --wait all: this node makes all R copies itself and waits for them. Otherwise W copies,
        // acknowledged at W; the holders make the rest between themselves (Replicator.put).
        const p = replicas.put(cid, bytes, {
          fanout: wait === 'all' ? config.replicas : config.writeQuorum,
        })
        await (wait === 'all' ? p.settled : p.acknowledged)
      },
      pinLocal: (cid) => store.pin(cid),
      getBlock,
      release: (bytes) => rpc.pool.release(bytes),
      holders,
      status: async () => {
        const s = await store.stats()
        return {
          peerId: selfId,
          listenAddrs: node.getMultiaddrs().map((m) => m.toString()),
          ready,
          swarm: config.swarm,
          replicas: config.replicas,
          writeQuorum: config.writeQuorum,
          chunkSize: config.chunkSize,
          peers: kad.kad.size,
          connections: node.getConnections().length,
          chunks: s.chunks,
          bytes: s.bytes,
          capacity: config.capacity,
          freeBytes: s.freeBytes,
          quarantined: s.quarantined,
          pinned: s.pinned,
          ...replicas.stats(),
          members: membership.liveCount,
          uptimeSeconds: Math.round((Date.now() - started) / 1000),
          memory: process.memoryUsage(),
        }
      },
      // routing contacts, plus members routing no longer lists (dead or left ones stay visible)
      peers: async () => {
        const out = kad.kad.contacts().map((c) => ({
          peerId: c.peerId,
          addrs: c.addrs,
          key: keyToHex(c.key),
          connected: node.getConnections(peerIdFromString(c.peerId)).length > 0,
          state: membership.get(c.peerId)?.state ?? 'unknown',
        }))
        const listed = new Set(out.map((p) => p.peerId))
        for (const m of membership.members(['alive', 'suspect', 'dead', 'left'])) {
          if (m.id === selfId || listed.has(m.id)) continue
          try {
            const c = memberContact(m)
            out.push({
              peerId: c.peerId,
              addrs: c.addrs,
              key: keyToHex(c.key),
              connected: node.getConnections(peerIdFromString(c.peerId)).length > 0,
              state: m.state,
            })
          } catch {
            // not a peer id: not listed
          }
        }
        return out
      },
      id: () => ({ peerId: selfId, addrs: node.getMultiaddrs().map((m) => m.toString()) }),
      metrics: async () => {
        const s = await store.stats()
        metrics.peers.set(kad.kad.size)
        metrics.chunksStored.set(s.chunks)
        metrics.bytesStored.set(s.bytes)
        metrics.underReplicated.set(replicas.stats().underReplicated)
        metrics.badFrames.set(rpc.badFrames)
        return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }
      },
    })
    const [host, portText] = [
      config.api.slice(0, config.api.lastIndexOf(':')),
      config.api.slice(config.api.lastIndexOf(':') + 1),
    ]
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(Number(portText), host, () => resolve())
    })
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
    )
    const addr = server.address() as AddressInfo
    const apiUrl = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
    await writeAtomic(join(config.dataDir, 'api'), apiUrl + '\n')
    log.info(
      {
        peerId: selfId,
        addrs: node.getMultiaddrs().map((m) => m.toString()),
        api: apiUrl,
        swarm: config.swarm,
      },
      'daemon listening',
    )

    // Join in the background with backoff: a bootstrap that is not up yet is retried, forever.
    // Contacts saved by an earlier run join the configured bootstraps, so a restarted first node
    // (no --bootstrap) finds its swarm again.
    const peerCache = new PeerCache({ dataDir: config.dataDir })
    const saved = (await peerCache.load()).filter(
      (c) => c.peerId !== selfId && !bootstraps.some((b) => b.peerId === c.peerId),
    )
    const joinWith = [...bootstraps, ...saved]
    const saveTimer = setInterval(() => {
      if (kad.kad.size > 0) peerCache.save(kad.kad.contacts()).catch(() => {})
    }, 30_000)
    saveTimer.unref()
    cleanups.push(async () => {
      clearInterval(saveTimer)
      if (kad.kad.size > 0) await peerCache.save(kad.kad.contacts())
    })
    const joinSwarm = async () => {
      let delay = 500
      while (!stopping && joinWith.length > 0) {
        try {
          const r = await kad.kad.join(joinWith)
          // membership: one reachable seed suffices; routing already found several
          const seeds = kad.kad
            .contacts()
            .slice(0, 8)
            .map((c) => c.peerId)
          const m = await membership.join(seeds).catch((err) => {
            log.warn({ err: (err as Error).message }, 'membership join failed; gossip will find us')
            return 0
          })
          ready = true
          log.info({ contacts: r.contacts, lookups: r.lookups, members: m }, 'joined the swarm')
          return
        } catch (err) {
          const e = err as Error & { code?: string }
          if (bootstraps.length === 0) {
            // a first node whose saved peers are all gone: it is a swarm of one until someone joins it
            log.info({ saved: saved.length }, 'no saved peer answered; running alone until a peer joins')
            return
          }
          log.warn({ code: e.code, err: e.message, retryInMs: delay }, 'join failed; retrying')
          await new Promise((r) => setTimeout(r, delay).unref())
          delay = Math.min(delay * 2, 30_000)
        }
      }
    }
    kad.kad.start()
    cleanups.push(async () => kad.kad.stop())
    joinSwarm().catch((err) => log.error({ err }, 'join loop failed'))

    let stopped: Promise<void> | undefined
    const stop = () => {
      stopped ??= (async () => {
        stopping = true
        log.info({ replicating: replicas.stats().replicating }, 'stopping')
        // announce a graceful leave (bounded), so peers hand off instead of waiting for a suspicion
        await membership.leave().catch(() => {})
        // Finish replications in flight (bounded), so acknowledged puts reach R when they can.
        await replicas.drain(10_000)
        await cleanup()
        log.info('stopped')
        log.flush()
      })()
      return stopped
    }
    return { config, node, apiUrl, stop }
  } catch (err) {
    await cleanup()
    throw err
  }
}

/** `swarmstore daemon`: starts, and stops cleanly on SIGINT/SIGTERM. */
export async function runDaemon(flags: Partial<Record<keyof DaemonConfig, unknown>> = {}): Promise<Daemon> {
  const d = await startDaemon(flags)
  let signals = 0
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130) // a second Ctrl-C: do not wait
    d.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`error while stopping after ${sig}: ${(err as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return d
}
