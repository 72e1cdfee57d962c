import type { IncomingMessage, ServerResponse } from 'node:http'
import { getManifest, type Manifest, readFile } from '@swarmstore/storage'
import type { CID } from 'multiformats/cid'
import { BadRequestError, NotFoundError, NotReadyError } from '../errors.js'
import type { ApiContext } from './context.js'
import { intParam, withTimeout } from './http.js'

/** Chunks fetched ahead per get (see PUT_WINDOW: the window bounds one file's throughput). */
const GET_WINDOW = 16

export interface FileRead {
  /** aborted when the client goes away */
  ac: AbortController
  manifest: Manifest
  /** bytes in the range asked for */
  length: number
  /** the blocks of the range, in order, verified */
  blocks: () => AsyncIterable<Uint8Array>
}

/** What both ways of reading a file need: its manifest, the range asked for, and a block source that stops when the client goes. */
export async function openRead(api: ApiContext, req: IncomingMessage, u: URL, root: CID): Promise<FileRead> {
  const timeout = intParam(u, 'timeout')
  const ac = new AbortController()
  req.on('close', () => ac.abort(new Error('client went away')))
  const getBlock = (c: CID) => withTimeout(api.reader.getBlock(c, ac.signal), timeout, `fetching ${c}`)
  // Not joined: a miss would be "not found" for a file the swarm may well hold.
  if (!api.isReady()) throw new NotReadyError()
  const manifest = await getManifest(root, getBlock).catch((err: Error & { code?: string }) => {
    if (err.code !== 'NOT_FOUND' && err.code !== 'CHUNK_NOT_FOUND') throw err
    // the root missing: the file is not in this swarm (a chunk missing later says which chunk)
    throw new NotFoundError(
      `file ${root} not found: no peer of this swarm that would hold it has it ` +
        '(check the CID, and that it was put in this swarm)',
    )
  })
  const offset = intParam(u, 'offset', 0)!
  if (offset > manifest.size)
    throw new BadRequestError(`offset ${offset} is past the end (${manifest.size} bytes)`)
  const length = Math.min(intParam(u, 'length', manifest.size - offset)!, manifest.size - offset)
  // the blocks of the range, in order, GET_WINDOW fetched ahead; verified by getBlock
  const blocks = () =>
    readFile(root, getBlock, { offset, length, concurrency: GET_WINDOW, trustBlocks: true })
  return { ac, manifest, length, blocks }
}

/** `GET /v1/files/<cid>?offset=…&length=…&timeout=…`: the file's bytes, streamed. */
export async function getFile(
  api: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  u: URL,
  root: CID,
): Promise<void> {
  const { ac, manifest, length, blocks } = await openRead(api, req, u, root)
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': length,
    'x-swarmstore-size': manifest.size,
  })
  try {
    for await (const bytes of blocks()) {
      if (!res.write(bytes)) await new Promise<void>((resolve) => res.once('drain', resolve))
      if (ac.signal.aborted) {
        api.metrics.getsTotal.inc({ result: 'ABORTED' })
        return
      }
    }
    res.end()
    api.metrics.getsTotal.inc({ result: 'ok' })
  } catch (err) {
    api.metrics.getsTotal.inc({ result: ac.signal.aborted ? 'ABORTED' : 'INCOMPLETE' })
    // Midway: the status line is gone; cutting the connection short of content-length tells the client.
    api.log.warn({ cid: root.toString(), err: (err as Error).message }, 'get failed midway')
    res.destroy(err as Error)
  }
}
