import { type Contact, keyForCid } from '@swarmstore/core'
import type { CID } from 'multiformats/cid'
import type { ChunkService } from './chunk-service.js'
import type { ReplicaAdapter } from './replica-adapter.js'

/** CIDs asked about in one `has` request. */
const HAS_BATCH = 1000

export interface HoldersComponents {
  replicas: Pick<ReplicaAdapter, 'closest'>
  chunks: Pick<ChunkService, 'hasAt'>
}

/** Who holds which chunk (`stat`): the closest nodes of each, asked in batches, one peer at a time. */
export class Holders {
  private readonly replicas: HoldersComponents['replicas']
  private readonly chunks: HoldersComponents['chunks']

  constructor(components: HoldersComponents) {
    this.replicas = components.replicas
    this.chunks = components.chunks
  }

  /** CID (string) → peer ids that answered they hold it; a peer that did not answer holds nothing. */
  async find(cids: CID[]): Promise<Map<string, string[]>> {
    const byPeer = new Map<string, { contact: Contact; cids: CID[] }>()
    await Promise.all(
      cids.map(async (cid) => {
        for (const c of await this.replicas.closest(keyForCid(cid))) {
          const e = byPeer.get(c.peerId) ?? { contact: c, cids: [] }
          byPeer.set(c.peerId, e)
          e.cids.push(cid)
        }
      }),
    )
    const out = new Map<string, string[]>()
    await Promise.all([...byPeer.values()].map(({ contact, cids: list }) => this.ask(contact, list, out)))
    return out
  }

  private async ask(contact: Contact, list: CID[], out: Map<string, string[]>): Promise<void> {
    for (let i = 0; i < list.length; i += HAS_BATCH) {
      const part = list.slice(i, i + HAS_BATCH)
      const have = await this.chunks.hasAt(contact, part).catch(() => part.map(() => false))
      part.forEach((c, j) => {
        if (!have[j]) return
        const k = c.toString()
        out.set(k, [...(out.get(k) ?? []), contact.peerId])
      })
    }
  }
}
