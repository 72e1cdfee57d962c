import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { boundAddrs, type Contact, contactFromPeerId } from '@swarmstore/core'

/** At most this many contacts are remembered across restarts. */
const MAX_SAVED = 64

export interface PeerCacheInit {
  /** the daemon's data dir: the cache is `peers.json` in it */
  dataDir: string
}

/**
 * The routing table's contacts, saved in `<dataDir>/peers.json`, so a restarted node finds the
 * swarm again even when it has no --bootstrap (it was the first node) or its bootstrap is gone.
 */
export class PeerCache {
  private readonly file: string

  constructor(init: PeerCacheInit) {
    this.file = join(init.dataDir, 'peers.json')
  }

  async load(): Promise<Contact[]> {
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(this.file, 'utf8'))
    } catch {
      return [] // absent or unreadable: it is only a hint
    }
    if (!Array.isArray(parsed)) return []
    const out: Contact[] = []
    for (const e of parsed.slice(0, MAX_SAVED)) {
      try {
        const id = peerIdFromString(String(e.id))
        out.push(contactFromPeerId(id, boundAddrs(Array.isArray(e.addrs) ? e.addrs : [])))
      } catch {
        // skip a bad entry
      }
    }
    return out
  }

  async save(contacts: readonly Contact[]): Promise<void> {
    const list = contacts.slice(0, MAX_SAVED).map((c) => ({ id: c.peerId, addrs: c.addrs }))
    const tmp = `${this.file}.tmp-${process.pid}`
    await writeFile(tmp, JSON.stringify(list))
    await rename(tmp, this.file)
  }
}
