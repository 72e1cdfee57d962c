import { type ChunkStore, DAG_CBOR_CODE } from '@swarmstore/storage'
import { LRUCache } from 'lru-cache'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import type { ReplicaAdapter } from './replica-adapter.js'

/**
 * Verified manifest blocks kept in memory (content-addressed, so never stale): a ranged read
 * (`get --offset`, a reader seeking in a file) otherwise fetched its file's root from the swarm
 * twice, one round trip after the other, before its one chunk.
 */
const MANIFEST_CACHE_BYTES = 16 << 20

export interface BlockReaderComponents {
  store: Pick<ChunkStore, 'has' | 'get'>
  replicas: Pick<ReplicaAdapter, 'get' | 'localCopyBad' | 'restoreLocalCopy'>
  log: Logger
}

export interface BlockReaderInit {
  /** bytes of manifest blocks kept in memory; default 16 MiB */
  manifestCacheBytes?: number
}

/** The local read path: a block from our store when our copy is good, else from a replica. */
export class BlockReader {
  private readonly store: BlockReaderComponents['store']
  private readonly replicas: BlockReaderComponents['replicas']
  private readonly log: Logger
  private readonly manifests: LRUCache<string, Uint8Array>

  constructor(components: BlockReaderComponents, init: BlockReaderInit = {}) {
    this.store = components.store
    this.replicas = components.replicas
    this.log = components.log
    this.manifests = new LRUCache<string, Uint8Array>({
      maxSize: init.manifestCacheBytes ?? MANIFEST_CACHE_BYTES,
      sizeCalculation: (b) => Math.max(1, b.byteLength),
    })
  }

  /** A block, verified; manifest blocks are answered from memory once read. */
  async getBlock(cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    if (cid.code !== DAG_CBOR_CODE) return this.getVerified(cid, signal)
    const id = cid.toString()
    const hit = this.manifests.get(id)
    if (hit !== undefined) return hit
    const bytes = await this.getVerified(cid, signal)
    this.manifests.set(id, bytes)
    return bytes
  }

  /** A block, SHA-256-checked against its CID: the local copy when good, else from a replica. */
  async getVerified(cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    let corrupt = false
    if (await this.store.has(cid)) {
      try {
        return await this.store.get(cid)
      } catch (err) {
        // corrupt here (now quarantined): fetch a good copy from a replica instead
        corrupt = true
        this.replicas.localCopyBad(cid, (err as Error).message)
      }
    }
    const bytes = await this.replicas.get(cid, signal ? { signal } : {})
    if (corrupt) {
      // read repair of our own copy: it was ours to hold
      // a copy: the caller may give `bytes` back to the reply pool before this write ends
      this.replicas
        .restoreLocalCopy(cid, bytes.slice())
        .catch((err) =>
          this.log.warn(
            { cid: cid.toString(), err: (err as Error).message },
            'could not restore a corrupt copy',
          ),
        )
    }
    return bytes
  }
}
