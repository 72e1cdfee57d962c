import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import { type Command, Option } from 'commander'
import { type DaemonClient, readBody } from '../client.js'
import type { StatusResponse } from '../daemon-api.js'
import { CliError, ExitCode } from '../errors.js'
import { openInputFile } from '../input-file.js'
import { CLIENT_TIMEOUT_GRACE_MS } from '../options.js'
import { printJson, printLine } from '../output.js'
import { startProgress } from '../progress.js'
import { connect } from './connect.js'

interface PutOptions {
  wait: 'w' | 'all'
  pin?: boolean
}

interface PutResult {
  cid: string
  size: number
  chunks: number
}

export function registerPut(program: Command): void {
  program
    .command('put')
    .description('store a file in the swarm and print its CID')
    .argument('<file>', 'the file to store, or - for stdin')
    .addOption(
      new Option('--wait <mode>', 'w: answer once every chunk is on W peers; all: once on all R')
        .choices(['w', 'all'])
        .default('w'),
    )
    .option('--pin', 'also keep every chunk in this node’s own store (counts against its --capacity)')
    .action(async (file: string, options: PutOptions, command: Command) => {
      // The input is opened first: a wrong path is the user's to fix whether or not a daemon runs.
      const input = await openInput(file)
      const { client, options: global } = await connect(command)
      const progress = startProgress({ label: 'put', total: input.size, enabled: !global.json })
      try {
        const response = await client
          .request('/v1/files', {
            method: 'POST',
            query: { wait: options.wait, pin: options.pin === true, timeout: global.timeout },
            body: input.stream,
            onUploadProgress: (bytes) => progress.update(bytes),
            idleTimeoutMs:
              global.timeout === undefined ? undefined : global.timeout + CLIENT_TIMEOUT_GRACE_MS,
          })
          .catch(async (err: unknown) => {
            throw await withLoneNodeHint(err, client)
          })
        const result = await readResult(response.res)
        progress.stop()
        if (global.json) printJson(result)
        else printLine(result.cid)
      } finally {
        progress.stop()
        input.stream.destroy()
      }
    })
}

/**
 * A put that found fewer daemons than W: when the node has fewer peers than W needs, the hint
 * says how to give it some (or how to run alone), with this node's own address filled in.
 */
async function withLoneNodeHint(err: unknown, client: DaemonClient): Promise<unknown> {
  if (!(err instanceof CliError) || err.code !== 'INSUFFICIENT_REPLICAS') return err
  const status = await client.json<StatusResponse>('/v1/status', { deadlineMs: 5000 }).catch(() => undefined)
  // an older daemon (or anything else on the port) may not say: then the daemon's words stand alone
  if (typeof status?.members !== 'number' || typeof status.writeQuorum !== 'number') return err
  if (status.members >= status.writeQuorum) return err
  const addr = status.listenAddrs?.[0] ?? '<address from `swarmstore id`>'
  const hint =
    `this swarm has ${status.members} daemon(s) and a put needs W=${status.writeQuorum}: start another with ` +
    `\`swarmstore daemon --data-dir <another dir> --listen /ip4/0.0.0.0/tcp/0 --api 127.0.0.1:0 --bootstrap ${addr}\`` +
    ' (or restart this one with `--replicas 1 --write-quorum 1` to keep one copy)'
  return new CliError(err.code, err.exitCode, err.message, { hint, cause: err, details: err.details })
}

async function openInput(file: string): Promise<{ stream: Readable; size: number | undefined }> {
  if (file === '-') return { stream: process.stdin, size: undefined }
  const { handle, stat } = await openInputFile(file, `${file} is a directory; put takes one file`)
  // A pipe or device has no size up front; the bar then counts bytes without a total.
  // 1 MiB reads (the default is 64 KiB): a sixteenth of the reads, HTTP chunks and socket writes.
  return {
    stream: handle.createReadStream({ highWaterMark: 1 << 20 }),
    size: stat.isFile() ? stat.size : undefined,
  }
}

async function readResult(res: IncomingMessage): Promise<PutResult> {
  const text = await readBody(res, 64 * 1024)
  try {
    const parsed = JSON.parse(text) as PutResult
    if (typeof parsed.cid === 'string') return parsed
  } catch {
    // Reported below with the text that came.
  }
  throw new CliError(
    'BAD_RESPONSE',
    ExitCode.ERROR,
    `the daemon answered the put without a CID: ${text.slice(0, 200)}`,
  )
}
