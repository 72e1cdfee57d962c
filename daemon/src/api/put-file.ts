import type { IncomingMessage, ServerResponse } from 'node:http'
import { buildFile } from '@swarmstore/storage'
import { BadRequestError, NotReadyError } from '../errors.js'
import type { ApiContext } from './context.js'
import { intParam, sendJson, withTimeout } from './http.js'

/**
 * Chunks in flight per put. Each chunk's latency is a lookup plus a transfer, so the window, not
 * bandwidth, bounds a single file's throughput; memory is window × chunk size.
 */
const PUT_WINDOW = 24

/** `POST /v1/files?wait=w|all&pin=…&timeout=…`: the body, chunked and stored; answers its root CID. */
export async function putFile(
  api: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  u: URL,
): Promise<void> {
  const wait = u.searchParams.get('wait') ?? 'w'
  if (wait !== 'w' && wait !== 'all') throw new BadRequestError('wait must be w or all')
  const pinParam = u.searchParams.get('pin') ?? 'false'
  if (pinParam !== 'true' && pinParam !== 'false') throw new BadRequestError('pin must be true or false')
  const pin = pinParam === 'true'
  const timeout = intParam(u, 'timeout')
  if (!api.isReady()) throw new NotReadyError()
  const started = Date.now() // io-edge
  try {
    const built = await withTimeout(
      buildFile(req, (cid, bytes) => api.writer.putBlock(cid, bytes, { wait, pin }), {
        chunkSize: api.chunkSize,
        concurrency: PUT_WINDOW,
      }),
      timeout,
      'put',
    )
    if (pin) await api.writer.pin(built.cid)
    api.log.info(
      { cid: built.cid.toString(), size: built.size, chunks: built.chunks, ms: Date.now() - started, wait },
      'put',
    )
    api.metrics.putsTotal.inc({ result: 'ok' })
    api.filePut?.(built.cid.toString(), built.size)
    sendJson(res, 200, { cid: built.cid.toString(), size: built.size, chunks: built.chunks })
  } catch (err) {
    req.resume() // drain what the client still sends so it can read our answer
    throw err
  }
}
