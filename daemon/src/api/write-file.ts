import { timingSafeEqual } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { basename, isAbsolute } from 'node:path'
import type { CID } from 'multiformats/cid'
import { BackgroundSync } from '../background-sync.js'
import { DirectWriter } from '../direct-writer.js'
import { BadRequestError, NotLocalError } from '../errors.js'
import type { ApiContext } from './context.js'
import { errorCode, publicCode } from './http.js'
import { type FileRead, openRead } from './read-file.js'

/** A progress line goes to the client at most every this many bytes written. */
const WRITE_PROGRESS_EVERY = 4 << 20
/** What a client's temp file holds before the daemon may write it: its nonce, as hex (16 bytes). */
const NONCE_HEX = /^[0-9a-f]{32}$/

/**
 * Opens a client's temp file for writing if it proves it was made for this request on this machine
 * (see writeFileTo); NOT_LOCAL otherwise. Every check is on the opened descriptor, not the path.
 */
async function openClientFile(path: string, nonce: string): Promise<FileHandle> {
  let handle: FileHandle
  try {
    handle = await open(path, fsConstants.O_RDWR | fsConstants.O_NOFOLLOW)
  } catch (err) {
    throw new NotLocalError(`cannot open ${path} here: ${(err as Error).message}`)
  }
  try {
    const st = await handle.stat()
    const uid = process.getuid?.()
    if (!st.isFile()) throw new NotLocalError(`${path} is not a regular file`)
    if (uid !== undefined && st.uid !== uid)
      throw new NotLocalError(`${path} is not owned by the daemon's user`)
    if (st.size !== nonce.length) throw new NotLocalError(`${path} does not hold this request's nonce`)
    const got = Buffer.alloc(nonce.length)
    await handle.read(got, 0, got.length, 0)
    if (!timingSafeEqual(got, Buffer.from(nonce))) {
      throw new NotLocalError(`${path} does not hold this request's nonce`)
    }
    return handle
  } catch (err) {
    await handle.close().catch(() => {})
    throw err
  }
}

/**
 * `POST /v1/files/<cid>/write?path=…&nonce=…`: the file written by the daemon itself into a temp
 * file the client created on this machine (`get -o` on the daemon's own host): the bytes do not
 * cross the API connection, which costs both processes more CPU than the write (a 256 MiB get:
 * CLI 1.2 CPU-s streaming). Only a file that proves it was made for this request is written: an
 * absolute path named `*.swarmstore-tmp-*`, opened without following a symlink, a regular file
 * owned by the daemon's own user, holding exactly the request's nonce. Anything else is NOT_LOCAL
 * (409) and the client streams instead, as it does from a daemon on another machine. Answer:
 * NDJSON progress lines `{"written":N}`, then `{"done":true,"size":N}` once the data is fsync'd,
 * or `{"error":{…}}`.
 */
export async function writeFileTo(
  api: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  u: URL,
  root: CID,
): Promise<void> {
  const path = u.searchParams.get('path') ?? ''
  const nonce = u.searchParams.get('nonce') ?? ''
  if (!NONCE_HEX.test(nonce)) throw new BadRequestError('nonce must be 32 hex digits')
  if (!isAbsolute(path) || !basename(path).includes('.swarmstore-tmp-')) {
    throw new BadRequestError('path must be an absolute path to a *.swarmstore-tmp-* file')
  }
  const handle = await openClientFile(path, nonce)
  try {
    const read = await openRead(api, req, u, root)
    await handle.truncate(0)
    res.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'x-swarmstore-size': read.manifest.size,
      'x-swarmstore-length': read.length,
    })
    await writeBlocks(api, res, handle, read, root)
  } finally {
    await handle.close().catch(() => {})
  }
}

/** The range's blocks into the file, with progress lines; the last line says done or the error. */
async function writeBlocks(
  api: ApiContext,
  res: ServerResponse,
  handle: FileHandle,
  { ac, blocks }: FileRead,
  root: CID,
): Promise<void> {
  const line = (o: unknown) => res.write(`${JSON.stringify(o)}\n`)
  // past the page cache when the file system allows it (see DirectWriter); else buffered, with
  // writeback started as it goes
  const direct = await DirectWriter.open(handle)
  const sync = new BackgroundSync(handle)
  let written = 0
  let reported = 0
  try {
    for await (const bytes of blocks()) {
      if (ac.signal.aborted) {
        await direct?.abort()
        api.metrics.getsTotal.inc({ result: 'ABORTED' })
        return
      }
      if (direct) {
        await direct.write(bytes)
        written += bytes.byteLength
      } else {
        for (let o = 0; o < bytes.byteLength; ) {
          const r = await handle.write(bytes, o, bytes.byteLength - o, written)
          o += r.bytesWritten
          written += r.bytesWritten
        }
        sync.wrote(bytes.byteLength)
      }
      // written (or copied into the staging buffer): nothing holds these bytes any more
      api.release(bytes)
      if (written - reported >= WRITE_PROGRESS_EVERY) {
        reported = written
        line({ written })
      }
    }
    await direct?.finish()
    await sync.settle()
    await handle.sync()
    line({ done: true, size: written })
    res.end()
    api.metrics.getsTotal.inc({ result: 'ok' })
  } catch (err) {
    // Midway: the status line is gone; the error goes as the last line, and the client discards the file.
    await direct?.abort()
    await sync.settle().catch(() => {})
    const code = errorCode(err)
    api.metrics.getsTotal.inc({ result: publicCode(code) })
    api.log.warn({ cid: root.toString(), err: (err as Error).message }, 'get to a file failed midway')
    line({ error: { code: publicCode(code), message: (err as Error).message } })
    res.end()
  }
}
