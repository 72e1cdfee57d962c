import { randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ChunkStore } from '@swarmstore/storage'
import type { Libp2p } from 'libp2p'
import type { DaemonConfig } from './config.js'
import { BadConfigError, PortInUseError } from './errors.js'
import { loadOrCreateIdentity, loadOrCreateToken } from './identity.js'
import { createNode } from './libp2p-node.js'
import { lockDataDir } from './lock.js'

/**
 * What the daemon's parts run on, opened before any of them is built: the data dir (locked), the
 * API token, the chunk store and the libp2p node. Closed after every part has stopped.
 */
export interface Resources {
  readonly token: string
  readonly store: ChunkStore
  readonly node: Libp2p
  /** the swarm key file's bytes (a private swarm), or undefined */
  readonly swarmKey: Uint8Array | undefined
  /** Stops the node, closes the store, releases the lock (errors ignored: it is the last step). */
  close(): Promise<void>
}

/** Opens them in order; when one fails, what was opened is closed again and the error thrown. */
export async function openResources(config: DaemonConfig): Promise<Resources> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const lock = await lockDataDir(config.dataDir)
  const opened: (() => Promise<void>)[] = [() => lock.release()]
  const close = async () => {
    for (const c of [...opened].reverse()) await c().catch(() => {})
  }
  try {
    const privateKey = await loadOrCreateIdentity(config.dataDir)
    const token = await loadOrCreateToken(config.dataDir, () => randomBytes(32))
    const store = await ChunkStore.open(join(config.dataDir, 'chunks'), {
      ...(config.capacity !== null ? { capacityBytes: config.capacity } : {}),
      maxChunkBytes: Math.max(config.chunkSize, 1 << 20),
    })
    opened.push(() => store.close())
    const swarmKey = await readSwarmKey(config)
    const node = await createNode({
      privateKey,
      listen: config.listen,
      announce: config.announce,
      ...(swarmKey ? { swarmKey } : {}),
    }).catch((err: unknown) => Promise.reject(listenError(err)))
    opened.push(async () => {
      await node.stop()
    })
    return { token, store, node, swarmKey, close }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * libp2p reports a taken port as one long message with each address's stack; the user needs the
 * address and the option. Anything else passes through.
 */
function listenError(err: unknown): unknown {
  const m = /(\/ip[46]\/[^\s:]+(?:\/[^\s:]+)*): Error: listen EADDRINUSE/.exec(
    String((err as Error)?.message),
  )
  if (m === null) return err
  const addr = m[1]!
  return new PortInUseError('--listen', addr, addr.replace(/\/tcp\/\d+/, '/tcp/0'))
}

async function readSwarmKey(config: DaemonConfig): Promise<Uint8Array | undefined> {
  if (config.swarmKey === null) return undefined
  try {
    return await readFile(config.swarmKey)
  } catch (err) {
    throw new BadConfigError(`swarmKey ${config.swarmKey}: ${(err as Error).message}`)
  }
}
