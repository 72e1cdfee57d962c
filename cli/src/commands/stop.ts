import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import type { DaemonClient } from '../client.js'
import { resolveDataDir } from '../data-dir.js'
import { CliError, ExitCode } from '../errors.js'
import { printJson, printLine } from '../output.js'
import { connect } from './connect.js'

/** `stop` and `leave` wait this long for the daemon to be gone when no `--timeout` is given. */
const DEFAULT_STOP_TIMEOUT_MS = 120_000
const POLL_MS = 100

type Mode = 'restart' | 'leave'

export function registerStop(program: Command): void {
  program
    .command('stop')
    .description(
      'stop the daemon for a while (a restart, an upgrade): peers wait 5 minutes before re-making its copies',
    )
    .action((_options: unknown, command: Command) => stopDaemon(command, 'restart'))
}

/** Asks the daemon to go, then waits until its process is gone; exit 5 naming the PID if it outlives --timeout. */
export async function stopDaemon(
  command: Command,
  mode: Mode,
  onAccepted?: () => Promise<void>,
): Promise<void> {
  const { client, options } = await connect(command)
  const limitMs = options.timeout ?? DEFAULT_STOP_TIMEOUT_MS
  const deadline = Date.now() + limitMs
  const { pid } = await client.json<{ pid: number }>('/v1/stop', {
    method: 'POST',
    query: { mode },
    deadlineMs: limitMs,
  })
  if (!options.json) printLine(`${mode === 'leave' ? 'leaving' : 'stopping'}: daemon pid ${pid}`)
  await onAccepted?.()
  const local = await lockHolds(resolveDataDir(options.dataDir), pid)
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
  if (options.json) printJson({ pid, mode, stopped: true })
  else printLine(`stopped: daemon pid ${pid} has exited`)
}

/** Whether this machine's data dir is locked by that pid (then its process can be watched directly). */
async function lockHolds(dataDir: string, pid: number): Promise<boolean> {
  const text = await readFile(join(dataDir, 'daemon.lock'), 'utf8').catch(() => '')
  return Number.parseInt(text, 10) === pid
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
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
