import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import { type Command, Option } from 'commander'
import { readBody } from '../client.js'
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
        const response = await client.request('/v1/files', {
          method: 'POST',
          query: { wait: options.wait, pin: options.pin === true, timeout: global.timeout },
          body: input.stream,
          onUploadProgress: (bytes) => progress.update(bytes),
          idleTimeoutMs: global.timeout === undefined ? undefined : global.timeout + CLIENT_TIMEOUT_GRACE_MS,
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
