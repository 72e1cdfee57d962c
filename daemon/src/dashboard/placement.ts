import { type Contact, compareDistance, KEY_BYTES, type Key, keyForCid, keyToHex } from '@swarmstore/core'
import { fileBlocks } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import type { BlockReader } from '../block-reader.js'
import type { Holders } from '../holders.js'
import type { ReplicaAdapter } from '../replica-adapter.js'

/** Sample keys for the share estimate: 4,096 spread evenly (one per 12-bit prefix). */
const SHARE_SAMPLES = 4096
/** a file with more blocks than this is shown by its first ones (the answer says so) */
const MAX_BLOCKS = 2000

export interface PlacementComponents {
  self: Contact
  reader: Pick<BlockReader, 'getBlock'>
  holders: Pick<Holders, 'find'>
  replicas: Pick<ReplicaAdapter, 'closest'>
  /** the other live members (alive or suspect) */
  liveMembers: () => readonly Contact[]
}

export interface BlockPlacement {
  cid: string
  key: string
  /** a manifest block, not data */
  manifest: boolean
  /** the R members placement chooses for it now, closest first */
  placement: string[]
  /** the peers that answered they hold it */
  holders: string[]
}

/**
 * What the placement view shows for a file: each block's R closest live members, as the write
 * path picks them (`ReplicaAdapter.closest`, this node's view), beside who answered that they hold
 * it (asked like `stat` does). A placement member that does not hold its block is a gap.
 */
export async function filePlacement(
  c: PlacementComponents,
  root: CID,
  r: number,
): Promise<{ cid: string; blocks: BlockPlacement[]; truncated: boolean }> {
  const getBlock = (cid: CID) => c.reader.getBlock(cid)
  const all: CID[] = []
  let truncated = false
  for await (const cid of fileBlocks(root, getBlock)) {
    if (all.length === MAX_BLOCKS) {
      truncated = true
      break
    }
    all.push(cid)
  }
  const holders = await c.holders.find(all)
  const blocks = await Promise.all(
    all.map(async (cid) => {
      const key = keyForCid(cid)
      const placement = (await c.replicas.closest(key)).slice(0, r).map((m) => m.peerId)
      return {
        cid: cid.toString(),
        key: keyToHex(key),
        manifest: cid.code !== RAW_CODE,
        placement,
        holders: holders.get(cid.toString()) ?? [],
      }
    }),
  )
  return { cid: root.toString(), blocks, truncated }
}

const RAW_CODE = 0x55

/**
 * The fraction of the keyspace this node is one of the R closest live members for, i.e. the
 * share of all chunks placement gives it: estimated on SHARE_SAMPLES evenly spread keys (±1/4096 per
 * boundary crossing a sample's cell).
 */
export function keyspaceShare(self: Contact, others: readonly Contact[], r: number): number {
  let held = 0
  const target: Key = new Uint8Array(KEY_BYTES).fill(0x80)
  for (let i = 0; i < SHARE_SAMPLES; i++) {
    target[0] = i >> 4
    target[1] = ((i & 0xf) << 4) | 0x8
    let closer = 0
    for (const o of others) {
      if (compareDistance(o.key, self.key, target) < 0 && ++closer >= r) break
    }
    if (closer < r) held++
  }
  return held / SHARE_SAMPLES
}
