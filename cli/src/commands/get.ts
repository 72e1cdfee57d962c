import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { unlinkSync, type WriteStream } from 'node:fs'
import { type FileHandle, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { BackgroundSync } from '@swarmstore/daemon/background-sync'
import type { Command } from 'commander'
import type { DaemonClient, DaemonResponse } from '../client.js'
import { CliError, ExitCode } from '../errors.js'
import { CLIENT_TIMEOUT_GRACE_MS, nonNegativeIntArg } from '../options.js'
import { printJson } from '../output.js'
import { startProgress } from '../progress.js'
import { connect } from './connect.js'

interface GetOptions {
  output?: string
  offset?: number
  length?: number
  stream?: boolean
}

/** The longest NDJSON line read from the daemon's answer to a write (they are a few dozen bytes). */
const MAX_LINE = 64 * 1024

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('write the verified bytes of a file to stdout, or to FILE once all of them arrived')
    .argument('<cid>', 'the CID that put printed')
    .option('-o, --output <file>', 'write to FILE (via a temp file in the same dir, renamed when complete)')
    .option('--offset <bytes>', 'start at this byte of the file', nonNegativeIntArg)
    .option('--length <bytes>', 'at most this many bytes', nonNegativeIntArg)
    .option(
      '--stream',
      'with -o: receive the bytes over the API connection even when the daemon, on this machine, could write FILE itself',
    )
    .action(async (cid: string, options: GetOptions, command: Command) => {
      const target = options.output === undefined ? undefined : await TempTarget.create(options.output)
      try {
        const { client, options: global } = await connect(command)
        const query = { offset: options.offset, length: options.length, timeout: global.timeout }
        const idleTimeoutMs =
          global.timeout === undefined ? undefined : global.timeout + CLIENT_TIMEOUT_GRACE_MS
        // Drawing a bar into the same terminal the bytes go to would garble both.
        const showBar = !global.json && (target !== undefined || !process.stdout.isTTY)
        let size: number | undefined
        if (target !== undefined && options.stream !== true) {
          size = await writtenByDaemon(client, cid, target, { ...query, idleTimeoutMs }, showBar)
        }
        if (size === undefined) {
          const response = await client.request(`/v1/files/${encodeURIComponent(cid)}`, {
            query,
            idleTimeoutMs,
          })
          const sink = target === undefined ? process.stdout : await target.streamSink()
          size = await download(response, sink, showBar, (n) => target?.wrote(n))
        }
        if (target !== undefined) {
          await target.commit()
          if (global.json) printJson({ cid, path: target.path, size })
        }
      } finally {
        await target?.discard()
      }
    })
}

/**
 * `get -o` with the daemon on this machine: the daemon writes the temp file itself (the bytes do not
 * cross the API connection; docs/CONTROL-API.md, POST /v1/files/{cid}/write) and answers with
 * progress lines. undefined when the daemon cannot (NOT_LOCAL: it runs elsewhere, or as another
 * user): the caller streams instead.
 */
async function writtenByDaemon(
  client: DaemonClient,
  cid: string,
  target: TempTarget,
  opts: { offset?: number; length?: number; timeout?: number; idleTimeoutMs?: number },
  showBar: boolean,
): Promise<number | undefined> {
  let response: DaemonResponse
  try {
    response = await client.request(`/v1/files/${encodeURIComponent(cid)}/write`, {
      method: 'POST',
      query: {
        path: target.tempPath,
        nonce: target.nonce,
        offset: opts.offset,
        length: opts.length,
        timeout: opts.timeout,
      },
      idleTimeoutMs: opts.idleTimeoutMs,
    })
  } catch (err) {
    if (err instanceof CliError && err.code === 'NOT_LOCAL') return undefined
    throw err
  }
  const { res } = response
  const header = res.headers['x-swarmstore-length']
  const total = typeof header === 'string' ? Number(header) : undefined
  const progress = startProgress({ label: 'get', total, enabled: showBar })
  let written = 0
  let outcome: { size: number } | { error: string } | undefined
  try {
    let pending = ''
    for await (const chunk of res as AsyncIterable<Buffer>) {
      pending += chunk.toString('utf8')
      if (pending.length > MAX_LINE) throw new Error('the daemon sent a line longer than 64 KiB')
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const msg = JSON.parse(pending.slice(0, nl)) as {
          written?: number
          done?: boolean
          size?: number
          error?: { code?: string; message?: string }
        }
        pending = pending.slice(nl + 1)
        if (typeof msg.written === 'number') {
          written = msg.written
          progress.update(written)
        } else if (msg.done === true && typeof msg.size === 'number') {
          outcome = { size: msg.size }
        } else if (msg.error !== undefined) {
          outcome = { error: `${msg.error.message ?? 'failed'} (${msg.error.code ?? 'INTERNAL'})` }
        }
      }
    }
  } catch (err) {
    outcome ??= { error: response.failure()?.message ?? (err as Error).message }
  } finally {
    progress.stop()
  }
  if (outcome === undefined || 'error' in outcome || (total !== undefined && outcome.size !== total)) {
    const why =
      outcome !== undefined && 'error' in outcome
        ? outcome.error
        : (response.failure()?.message ?? 'the connection ended early')
    throw new CliError(
      'INCOMPLETE_DOWNLOAD',
      ExitCode.INCOMPLETE_DOWNLOAD,
      `incomplete download: the daemon wrote ${written}${total === undefined ? '' : ` of ${total}`} bytes (${why})`,
    )
  }
  return outcome.size
}

async function download(
  response: DaemonResponse,
  sink: Writable,
  showBar: boolean,
  onWritten: (bytes: number) => void,
): Promise<number> {
  const { res } = response
  const header = res.headers['content-length']
  const expected = header === undefined ? undefined : Number(header)
  const progress = startProgress({ label: 'get', total: expected, enabled: showBar })
  let received = 0
  let failure: Error | undefined
  try {
    await copy(res, sink, (bytes) => {
      received += bytes
      progress.update(received)
      onWritten(bytes)
    })
  } catch (err) {
    failure = err as Error
  } finally {
    progress.stop()
  }
  // The daemon destroys the connection when a chunk cannot be fetched midway, so short means failed.
  if (failure !== undefined || (expected !== undefined && received !== expected)) {
    const of = expected === undefined ? '' : ` of ${expected}`
    const why = (response.failure() ?? failure)?.message ?? 'the connection ended early'
    throw new CliError(
      'INCOMPLETE_DOWNLOAD',
      ExitCode.INCOMPLETE_DOWNLOAD,
      `incomplete download: received ${received}${of} bytes (${why})`,
      { cause: failure },
    )
  }
  return received
}

/**
 * Copies with backpressure but, unlike stream.pipeline, never destroys the sink: when the sink is
 * stdout, `--json` still needs it to print the error.
 */
async function copy(res: Readable, sink: Writable, onBytes: (bytes: number) => void): Promise<void> {
  let sinkError: Error | undefined
  const onSinkError = (err: Error): void => {
    sinkError ??= err
    res.destroy()
  }
  sink.on('error', onSinkError)
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      onBytes(chunk.length)
      if (!sink.write(chunk)) await once(sink, 'drain')
    }
  } catch (err) {
    throw sinkError ?? err
  } finally {
    sink.off('error', onSinkError)
  }
  if (sinkError !== undefined) throw sinkError
}

/**
 * `-o FILE` writes `FILE.swarmstore-tmp-<pid>` in FILE's own directory (so the rename cannot cross
 * file systems), fsyncs it, and renames it over FILE only when every byte arrived: FILE is either the
 * whole verified file or untouched, even if the machine loses power. The temp file starts out
 * holding a random nonce, which proves to a daemon on this machine that it was made for this get
 * (it then writes the file itself); otherwise the CLI streams into it.
 */
class TempTarget {
  readonly path: string
  readonly tempPath: string
  readonly nonce: string
  private stream: WriteStream | undefined
  private readonly handle: FileHandle
  private done = false
  private readonly onSignal: (signal: NodeJS.Signals) => void
  /** the disk writes back while the bytes arrive, so the fsync at the end waits for the tail only */
  private readonly sync: BackgroundSync

  private constructor(path: string, tempPath: string, handle: FileHandle, nonce: string) {
    this.path = path
    this.tempPath = tempPath
    this.handle = handle
    this.nonce = nonce
    this.sync = new BackgroundSync(handle)
    // A Ctrl-C midway must not leave the temp file behind; the exit status is the shell's 128 + signal.
    this.onSignal = (signal) => {
      try {
        unlinkSync(tempPath)
      } catch {}
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    process.once('SIGINT', this.onSignal)
    process.once('SIGTERM', this.onSignal)
  }

  /** Opens the temp file before anything is asked of the daemon, so a bad path fails at once. */
  static async create(output: string): Promise<TempTarget> {
    const path = resolve(output)
    const tempPath = join(dirname(path), `${basename(path)}.swarmstore-tmp-${process.pid}`)
    const nonce = randomBytes(16).toString('hex')
    let handle: FileHandle
    try {
      handle = await open(tempPath, 'w')
      await handle.write(nonce, 0)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const exitCode = code === 'ENOENT' || code === 'ENOTDIR' ? ExitCode.BAD_ARGUMENTS : ExitCode.ERROR
      throw new CliError('BAD_OUTPUT', exitCode, `cannot write ${tempPath}: ${(err as Error).message}`)
    }
    return new TempTarget(path, tempPath, handle, nonce)
  }

  /** The file emptied (the nonce goes), as a stream the CLI writes the bytes into. */
  async streamSink(): Promise<WriteStream> {
    await this.handle.truncate(0)
    // flush: the stream fsyncs the file before it closes it. A 4 MiB buffer lets the 64 KiB pieces
    // the socket delivers go to disk as batched writes (the 16 KiB default waited for a drain, one
    // thread-pool write, after every piece).
    this.stream = this.handle.createWriteStream({ start: 0, flush: true, highWaterMark: 4 << 20 })
    return this.stream
  }

  /** `bytes` more were handed to the stream. */
  wrote(bytes: number): void {
    this.sync.wrote(bytes)
  }

  /** Flush and close (fsync included), rename into place, then fsync the directory for the rename. */
  async commit(): Promise<void> {
    try {
      await this.sync.settle() // before the stream closes the file under it
      if (this.stream === undefined) {
        await this.handle.close() // the daemon wrote and fsync'd it
      } else {
        this.stream.end()
        await once(this.stream, 'close')
      }
      await rename(this.tempPath, this.path)
    } catch (err) {
      throw new CliError(
        'INCOMPLETE_DOWNLOAD',
        ExitCode.INCOMPLETE_DOWNLOAD,
        `cannot finish ${this.path}: ${(err as Error).message}`,
      )
    }
    this.done = true
    await syncDirectory(dirname(this.path))
  }

  /** Removes the temp file unless commit() renamed it; always stops catching signals. */
  async discard(): Promise<void> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    if (this.done) return
    this.done = true
    await this.sync.settle().catch(() => {})
    if (this.stream === undefined) {
      await this.handle.close().catch(() => {})
    } else if (!this.stream.closed) {
      const closed = once(this.stream, 'close').catch(() => {})
      this.stream.destroy()
      await closed
    }
    await unlink(this.tempPath).catch(() => {})
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Not every platform lets a directory be opened and fsynced (Windows does not); the file is whole
  // either way, only the rename's durability across a power cut depends on this.
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {}
}
