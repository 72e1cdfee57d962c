import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import type { DaemonClient } from '../client.js'
import { lockHolder, resolveDataDir } from '../data-dir.js'
import { CliError, ExitCode } from '../errors.js'
import { printJson, printLine } from '../output.js'
import { formatSize } from '../size.js'
import { connect } from './connect.js'

/** `stop` waits this long for the daemon to be gone when no `--timeout` is given. */
const DEFAULT_STOP_TIMEOUT_MS = 120_000
const POLL_MS = 100
/** Longest NDJSON line `leave` accepts from the daemon. */
const MAX_EVENT_LINE = 64 * 1024

type Mode = 'restart' | 'leave'

interface LeaveEvent {
  event: 'handoff' | 'progress' | 'waiting' | 'handed-off' | 'stopping' | 'error'
  pid?: number
  chunks?: number
  members?: number
  pass?: number
  checked?: number
  sent?: number
  bytes?: number
  short?: number
  error?: { code?: string; message?: string }
}

export function registerStop(program: Command): void {
  program
    .command('stop')
    .description(
      'stop the daemon for a while (a restart, an upgrade): peers wait 5 minutes before re-making its copies',
    )
    .action(async (_options: unknown, command: Command) => {
      const { client, options } = await connect(command)
      // read before asking: a quick daemon has released its lock by the time it is watched
      const holder = await lockHolder(resolveDataDir(options.dataDir))
      const limitMs = options.timeout ?? DEFAULT_STOP_TIMEOUT_MS
      const deadline = Date.now() + limitMs
      const { pid } = await client
        .json<{ pid: number }>('/v1/stop', { method: 'POST', deadlineMs: limitMs })
        .catch((err: unknown) => Promise.reject(withLockPid(err, options.dataDir)))
      if (!options.json) printLine(`stopping: daemon pid ${pid}`)
      await waitGone(client, holder === pid, pid, deadline, limitMs)
      if (options.json) printJson({ pid, mode: 'restart' satisfies Mode, stopped: true })
      else printLine(`stopped: daemon pid ${pid} has exited`)
    })

  program
    .command('leave')
    .description('decommission the daemon: hand its chunks off until each has R copies elsewhere, then stop')
    .action(async (_options: unknown, command: Command) => {
      const { client, options } = await connect(command)
      const holder = await lockHolder(resolveDataDir(options.dataDir))
      const limitMs = options.timeout
      const deadline = limitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + limitMs
      const response = await client
        .request('/v1/leave', { method: 'POST', ...(limitMs === undefined ? {} : { deadlineMs: limitMs }) })
        .catch((err: unknown) => Promise.reject(withLockPid(err, options.dataDir)))
      const pid = await followLeave(response.res, options.json === true, limitMs)
      await waitGone(client, holder === pid, pid, deadline, limitMs ?? 0)
      if (options.json) printJson({ event: 'stopped', pid })
      else printLine(`left: daemon pid ${pid} has exited; its chunks have R copies on other members`)
    })
}

/** Reads the daemon's events (printed as they are with --json, as lines otherwise) up to `stopping`. */
async function followLeave(
  res: IncomingMessage,
  json: boolean,
  limitMs: number | undefined,
): Promise<number> {
  let pid: number | undefined
  let last: LeaveEvent | undefined
  const timer =
    limitMs === undefined ? undefined : setTimeout(() => res.destroy(new Error('deadline')), limitMs)
  try {
    for await (const line of createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line.length > MAX_EVENT_LINE)
        throw new CliError('BAD_RESPONSE', ExitCode.ERROR, 'the daemon sent an event line over 64 KiB')
      const e = JSON.parse(line) as LeaveEvent
      last = e
      pid ??= e.pid
      if (json) printJson(e)
      else showLeaveEvent(e)
      if (e.event === 'error') {
        const code = e.error?.code ?? 'ERROR'
        throw new CliError(code, exitCodeFor(code), e.error?.message ?? 'the leave failed')
      }
      if (e.event === 'stopping' && pid !== undefined) return pid
    }
  } catch (err) {
    if (err instanceof CliError) throw err
    if (res.destroyed && limitMs !== undefined) {
      throw new CliError(
        'TIMEOUT',
        ExitCode.TIMEOUT,
        `leave not finished after ${limitMs / 1000}s${pid === undefined ? '' : `: daemon pid ${pid} keeps running`}` +
          ` (${last?.checked ?? 0} of ${last?.chunks ?? '?'} chunks checked this pass); run \`swarmstore leave\` again to go on`,
      )
    }
    throw new CliError('ERROR', ExitCode.ERROR, `the leave was cut off: ${(err as Error).message}`)
  } finally {
    clearTimeout(timer)
  }
  throw new CliError(
    'ERROR',
    ExitCode.ERROR,
    'the daemon ended the leave without saying it stops; it keeps running',
  )
}

function exitCodeFor(code: string): ExitCode {
  if (code === 'INSUFFICIENT_REPLICAS') return ExitCode.INSUFFICIENT_REPLICAS
  if (code === 'BAD_REQUEST') return ExitCode.BAD_ARGUMENTS
  return ExitCode.ERROR
}

function showLeaveEvent(e: LeaveEvent): void {
  if (e.event === 'handoff')
    printLine(
      `handing off: pass ${e.pass}, ${e.chunks} chunks to R other members of ${e.members} (daemon pid ${e.pid})`,
    )
  else if (e.event === 'progress')
    printLine(
      `  ${e.checked}/${e.chunks} chunks checked, ${e.sent} copies sent (${formatSize(e.bytes ?? 0)})`,
    )
  else if (e.event === 'waiting')
    printLine(`  ${e.short} copies could not be made on this pass (a member down or full); retrying`)
  else if (e.event === 'handed-off')
    printLine(`handed off: every one of ${e.chunks} chunks has R copies elsewhere`)
  else if (e.event === 'stopping') printLine(`stopping: daemon pid ${e.pid}`)
}

/** Waits until the daemon's process is gone; exit 5 naming the PID past the deadline. */
async function waitGone(
  client: DaemonClient,
  /** the daemon runs on this machine (its PID held our data dir's lock): watch the process itself */
  local: boolean,
  pid: number,
  deadline: number,
  limitMs: number,
): Promise<void> {
  while (!(local ? processGone(pid) : await apiGone(client))) {
    if (Date.now() >= deadline) {
      throw new CliError(
        'TIMEOUT',
        ExitCode.TIMEOUT,
        `daemon pid ${pid} is still running after ${limitMs / 1000}s; wait longer (--timeout) or end it with \`kill ${pid}\``,
      )
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

/** A daemon that did not even answer in time (frozen, overloaded): the timeout names its PID from the lock. */
function withLockPid(err: unknown, dataDirFlag: string | undefined): unknown {
  if (!(err instanceof CliError) || err.exitCode !== ExitCode.TIMEOUT) return err
  const lock = join(resolveDataDir(dataDirFlag), 'daemon.lock')
  let pid = Number.NaN
  try {
    pid = Number.parseInt(readFileSync(lock, 'utf8'), 10)
  } catch {
    // no lock here: a daemon reached with --api; its PID is not known
  }
  if (!Number.isInteger(pid)) return err
  return new CliError(
    err.code,
    err.exitCode,
    `${err.message}; the daemon (pid ${pid}) still runs: \`kill ${pid}\` ends it`,
  )
}

/** Gone: no such process, or a zombie (exited, not yet reaped by its parent). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true // vanished between the two looks
  }
}

/** For a daemon reached with --api from elsewhere: gone once its API refuses connections. */
async function apiGone(client: DaemonClient): Promise<boolean> {
  try {
    await client.json('/health', { deadlineMs: 2000 })
    return false
  } catch (err) {
    return (err as CliError).exitCode === ExitCode.DAEMON_NOT_RUNNING
  }
}
