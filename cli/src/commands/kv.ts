import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { Command } from 'commander'
import type { DaemonClient, DaemonResponse } from '../client.js'
import type { KvGroupsResponse, KvRangeInfo, KvWriteResponse } from '../daemon-api.js'
import { CliError, ExitCode } from '../errors.js'
import { openInputFile } from '../input-file.js'
import { nonNegativeIntArg } from '../options.js'
import { printJson, printLine } from '../output.js'
import { formatTable, shortPeerId } from '../table.js'
import { type ClientContext, connect } from './connect.js'

/**
 * `swarmstore kv …`: linearizable key-value registers (issue 21) through the daemon's
 * `/v1/kv/…` routes (docs/CONTROL-API.md). A key is any UTF-8 string of up to 1,024 bytes, a
 * value any bytes up to 1 MiB; every write answers the key's new version.
 */
export function registerKv(program: Command): void {
  const kv = program
    .command('kv')
    .description('linearizable key-value registers: put, get, rm, cas, and the groups that hold them')
  kv.command('put')
    .description('set KEY to VALUE, the bytes of --file F, or stdin (- or no VALUE); print the new version')
    .argument('<key>', 'the key (UTF-8, up to 1,024 bytes)')
    .argument('[value]', 'the value as UTF-8 text; - for stdin')
    .option('--file <file>', 'the value is the bytes of FILE')
    .action(async (key: string, value: string | undefined, options: { file?: string }, command: Command) => {
      await write(command, 'put', key, { value, file: options.file })
    })
  kv.command('cas')
    .description(
      'set KEY only if its version is N (0: only if absent); exit 11 with the current version if not',
    )
    .argument('<key>', 'the key')
    .argument('[value]', 'the value as UTF-8 text; - for stdin')
    .requiredOption('--expect <n>', "the key's expected version; 0 = absent", nonNegativeIntArg)
    .option('--file <file>', 'the value is the bytes of FILE')
    .action(async (key: string, value: string | undefined, options: CasOptions, command: Command) => {
      await write(command, 'cas', key, { value, file: options.file }, options.expect)
    })
  kv.command('get')
    .description("write KEY's value to stdout as is (no newline added); --json: with its version")
    .argument('<key>', 'the key')
    .action(async (key: string, _options: unknown, command: Command) => {
      await get(command, key)
    })
  kv.command('rm')
    .description('delete KEY (its version still grows: the next put continues from it)')
    .argument('<key>', 'the key')
    .action(async (key: string, _options: unknown, command: Command) => {
      await write(command, 'rm', key, undefined)
    })
  kv.command('groups')
    .description('the ranges of the keyspace, the group of peers holding each, and what each peer holds')
    .action(async (_options: unknown, command: Command) => {
      const { client, options, metadataDeadlineMs } = await connect(command)
      const view = await client.json<KvGroupsResponse>('/v1/kv/groups', { deadlineMs: metadataDeadlineMs })
      if (options.json) printJson(view)
      else printGroups(view)
    })
}

type WriteOp = 'put' | 'cas' | 'rm'

interface CasOptions {
  expect: number
  file?: string
}

/** `put`, `cas`, `rm`: the input opened and checked first, then one request, then one line. */
async function write(
  command: Command,
  op: WriteOp,
  key: string,
  input: { value: string | undefined; file: string | undefined } | undefined,
  expect?: number,
): Promise<void> {
  checkKey(key)
  const body = input === undefined ? undefined : await openValue(input)
  try {
    const ctx = await connect(command)
    const response = await kvRequest(ctx, key, { method: op === 'rm' ? 'DELETE' : 'PUT', body, expect })
    const result = await readJson<KvWriteResponse>(ctx.client, response)
    if (ctx.options.json) printJson({ key: result.key, version: result.version })
    else printLine(`${op} ${key}: version ${result.version}`)
  } finally {
    body?.destroy()
  }
}

async function get(command: Command, key: string): Promise<void> {
  checkKey(key)
  const ctx = await connect(command)
  const response = await kvRequest(ctx, key, { method: 'GET' })
  const value = await readBytes(ctx.client, response)
  const version = Number(response.res.headers['x-swarmstore-version'])
  if (!Number.isSafeInteger(version)) {
    throw new CliError('BAD_RESPONSE', ExitCode.ERROR, 'the daemon answered the get without a version')
  }
  if (ctx.options.json) {
    const text = utf8(value)
    printJson({
      key,
      version,
      value: text ?? value.toString('base64'),
      encoding: text === undefined ? 'base64' : 'utf8',
    })
  } else {
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(value, (err) => (err ? reject(err) : resolve())),
    )
  }
}

/**
 * Keys the API cannot name are refused here: the empty key has no path segment (`/v1/kv/keys/`).
 * Everything else (length, UTF-8) the daemon checks and answers 400, exit 2.
 */
function checkKey(key: string): void {
  if (key === '') throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, 'the key is empty')
}

/** VALUE, --file F, or stdin (`-`, or no VALUE when stdin is not a terminal): as a stream. */
async function openValue(input: { value: string | undefined; file: string | undefined }): Promise<Readable> {
  const { value, file } = input
  if (value !== undefined && file !== undefined) {
    throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, 'give VALUE or --file, not both')
  }
  if (file !== undefined) return openFile(file)
  if (value === '-' || (value === undefined && !process.stdin.isTTY)) return process.stdin
  if (value === undefined) {
    throw new CliError(
      'BAD_ARGUMENTS',
      ExitCode.BAD_ARGUMENTS,
      'no value: give VALUE, --file F, or - to read stdin',
    )
  }
  return Readable.from([Buffer.from(value, 'utf8')])
}

async function openFile(file: string): Promise<Readable> {
  const { handle } = await openInputFile(file, `${file} is a directory, not a value`)
  return handle.createReadStream()
}

/**
 * One request on `/v1/kv/keys/{key}`, its errors worded for a key: a conflict says the version the
 * key is at (and --json carries it), an unavailable write says whether it may still take effect.
 */
async function kvRequest(
  { client, metadataDeadlineMs }: ClientContext,
  key: string,
  { method, body, expect }: { method: 'GET' | 'PUT' | 'DELETE'; body?: Readable; expect?: number },
): Promise<DaemonResponse> {
  try {
    return await client.request(`/v1/kv/keys/${encodeURIComponent(key)}`, {
      method,
      query: { expect },
      body,
      deadlineMs: metadataDeadlineMs,
    })
  } catch (err) {
    throw kvError(err, key, expect)
  }
}

function kvError(err: unknown, key: string, expect: number | undefined): unknown {
  if (!(err instanceof CliError)) return err
  const { details } = err
  if (err.code === 'CONFLICT' && typeof details?.version === 'number') {
    const message = `cas ${key}: the key is at version ${details.version}, not ${expect}`
    return new CliError(err.code, ExitCode.CONFLICT, message, { details })
  }
  if (err.code === 'UNAVAILABLE') {
    // no majority of the key's group answered: like too few replicas for a chunk, wait for peers
    const after =
      details?.indeterminate === true
        ? ' (the write may still take effect: get the key to see)'
        : details?.indeterminate === false
          ? ' (the write did not take effect)'
          : ''
    return new CliError(err.code, ExitCode.INSUFFICIENT_REPLICAS, `${err.message}${after}`, { details })
  }
  return err
}

/** A value is at most 1 MiB; an answer larger than this is not the daemon's. */
const MAX_ANSWER = 2 << 20

async function readBytes(client: DaemonClient, { res, failure }: DaemonResponse): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.byteLength
      if (size > MAX_ANSWER) {
        res.destroy()
        throw new CliError(
          'BAD_RESPONSE',
          ExitCode.ERROR,
          `the daemon's answer is larger than ${MAX_ANSWER} bytes`,
        )
      }
      chunks.push(chunk)
    }
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError(
      'CONNECTION_CLOSED',
      ExitCode.ERROR,
      `the daemon at ${client.connection.baseUrl} stopped answering: ${(failure() ?? (err as Error)).message}`,
    )
  }
  if (!complete(res, size)) {
    throw new CliError('CONNECTION_CLOSED', ExitCode.ERROR, 'the daemon closed the connection mid-answer')
  }
  return Buffer.concat(chunks, size)
}

function complete(res: IncomingMessage, size: number): boolean {
  const length = res.headers['content-length']
  return length === undefined || Number(length) === size
}

async function readJson<T extends object>(client: DaemonClient, response: DaemonResponse): Promise<T> {
  const text = (await readBytes(client, response)).toString('utf8')
  try {
    return JSON.parse(text) as T
  } catch {
    throw new CliError(
      'BAD_RESPONSE',
      ExitCode.ERROR,
      `the daemon sent something not JSON: ${text.slice(0, 200)}`,
    )
  }
}

/** The bytes as text if they are UTF-8, else undefined. */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    return undefined
  }
}

/**
 * One row per run of consecutive ranges with the same group and epoch (a swarm of a few peers has
 * few distinct groups, not 4,096), then what each member holds.
 */
function printGroups(view: KvGroupsResponse): void {
  const digits = Math.max(1, Math.ceil(Math.log2(view.rangeCount) / 4))
  const rows = runs(view.ranges).map((run) => {
    const first = run[0]!
    const last = run[run.length - 1]!
    const keys = run.some((r) => r.keys === null) ? '?' : String(run.reduce((n, r) => n + r.keys!, 0))
    return [
      run.length === 1 ? String(first.range) : `${first.range}-${last.range}`,
      `${first.from.slice(0, digits)}-${last.to.slice(0, digits)}`,
      String(first.epoch),
      keys,
      first.members.map(shortPeerId).join(' '),
    ]
  })
  for (const line of formatTable([['ranges', 'keyspace', 'epoch', 'keys', 'members'], ...rows]))
    printLine(line)
  printLine()
  const members = new Map<string, { ranges: number; keys: number; unknown: number }>()
  for (const r of view.ranges) {
    for (const m of r.members) {
      const held = members.get(m) ?? { ranges: 0, keys: 0, unknown: 0 }
      held.ranges++
      if (r.keys === null) held.unknown++
      else held.keys += r.keys
      members.set(m, held)
    }
  }
  const memberRows = [...members].map(([m, held]) => [
    shortPeerId(m),
    String(held.ranges),
    `${held.keys}${held.unknown > 0 ? ` (+? in ${held.unknown} ranges)` : ''}`,
  ])
  for (const line of formatTable([['member', 'ranges', 'keys'], ...memberRows])) printLine(line)
  printLine()
  printLine(`${view.ranges.length} of ${view.rangeCount} ranges, ${members.size} members, R=${view.replicas}`)
}

/** Consecutive ranges with the same epoch and members, in order. */
function runs(ranges: readonly KvRangeInfo[]): KvRangeInfo[][] {
  const out: KvRangeInfo[][] = []
  for (const r of ranges) {
    const run = out[out.length - 1]
    const prev = run?.[run.length - 1]
    const same =
      prev !== undefined &&
      prev.range + 1 === r.range &&
      prev.epoch === r.epoch &&
      prev.members.join(' ') === r.members.join(' ')
    if (same) run!.push(r)
    else out.push([r])
  }
  return out
}
