import type { ChunkStore } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import { InsufficientReplicasError } from './errors.js'
import type { ReplicaAdapter } from './replica-adapter.js'

export interface BlockWriterComponents {
  store: Pick<ChunkStore, 'put' | 'pin'>
  replicas: Pick<ReplicaAdapter, 'put'>
}

export interface BlockWriterInit {
  /** R: copies a `--wait all` put makes itself */
  replicas: number
  /** W: copies a put makes before it is acknowledged */
  writeQuorum: number
}

/** The write path of a put: each block to its closest nodes, and pinned here when asked. */
export class BlockWriter {
  private readonly store: BlockWriterComponents['store']
  private readonly replicas: BlockWriterComponents['replicas']
  private readonly r: number
  private readonly w: number

  constructor(components: BlockWriterComponents, init: BlockWriterInit) {
    this.store = components.store
    this.replicas = components.replicas
    this.r = init.replicas
    this.w = init.writeQuorum
  }

  async putBlock(cid: CID, bytes: Uint8Array, opts: { wait: 'w' | 'all'; pin: boolean }): Promise<void> {
    if (opts.pin) await this.store.put(cid, bytes, { trusted: true })
    if (opts.pin) await this.store.pin(cid)
    // --wait all: this node makes all R copies itself and waits for them. Otherwise W copies,
    // acknowledged at W; the holders make the rest between themselves (ReplicaAdapter.put).
    const p = this.replicas.put(cid, bytes, { fanout: opts.wait === 'all' ? this.r : this.w })
    if (opts.wait !== 'all') {
      await p.acknowledged
      return
    }
    // A put settles with fewer than R copies when the swarm has no more members to take one (a
    // member down, or fewer than R in all): `--wait all` promises R, so that is a failure, not a
    // success; the copies made stay and repair completes them once enough members are up.
    const holders = await p.settled
    if (holders.length < this.r) {
      throw new InsufficientReplicasError(
        `chunk ${cid}: ${holders.length} of R=${this.r} copies made (--wait all needs all R; ` +
          `fewer than ${this.r} members could take one — see \`swarmstore peers\`)`,
      )
    }
  }

  /** Pins a block we hold (a file's root, once its put is done). */
  pin(cid: CID): Promise<void> {
    return this.store.pin(cid)
  }
}
