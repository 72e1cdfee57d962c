import type { ServerResponse } from 'node:http'
import { keyForCid, keyToHex } from '@swarmstore/core'
import { fileBlocks, getManifest } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import type { ApiContext } from './context.js'
import { intParam, sendJson, withTimeout } from './http.js'

/** The raw codec: a data chunk (a manifest is dag-cbor). */
const RAW_CODE = 0x55

/** `GET /v1/stat/<cid>`: a file's chunks and manifests, each with its key, size and holders. */
export async function stat(api: ApiContext, res: ServerResponse, u: URL, root: CID): Promise<void> {
  const timeout = intParam(u, 'timeout')
  const getBlock = (c: CID) => withTimeout(api.reader.getBlock(c), timeout, `fetching ${c}`)
  const manifest = await getManifest(root, getBlock)
  const all: CID[] = []
  for await (const c of fileBlocks(root, getBlock)) all.push(c)
  // sizes of data chunks from the manifests' links
  const sizes = new Map<string, number>()
  const dataCids = all.filter((c) => c.code === RAW_CODE)
  const manifestCids = all.filter((c) => c.code !== RAW_CODE)
  for (const mc of manifestCids) {
    const m = await getManifest(mc, getBlock)
    if (m.depth === 0) for (const l of m.links) sizes.set(l.cid.toString(), l.size)
  }
  const holders = await api.holders.find(all)
  const underReplicated = all.filter((c) => (holders.get(c.toString())?.length ?? 0) < api.replicas).length
  sendJson(res, 200, {
    cid: root.toString(),
    size: manifest.size,
    replicas: api.replicas,
    underReplicated,
    chunks: dataCids.map((c) => ({
      cid: c.toString(),
      key: keyToHex(keyForCid(c)),
      size: sizes.get(c.toString()) ?? null,
      holders: holders.get(c.toString()) ?? [],
    })),
    manifests: manifestCids.map((c) => ({ cid: c.toString(), holders: holders.get(c.toString()) ?? [] })),
  })
}
