import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { DaemonConfig } from './config.js'
import { type Daemon, startDaemon } from './daemon.js'
import type { DepartureMode } from './departure.js'

/** Words for the banner: what the node listens on, and the address another machine would dial. */
function listening(d: Daemon): { where: string; dialable: string[] } {
  const addrs = d.node.getMultiaddrs().map((m) => m.toString())
  const wildcard = d.config.listen.some((l) => l.startsWith('/ip4/0.0.0.0/') || l.startsWith('/ip6/::/'))
  const bound = addrs.map((a) => a.replace(/\/p2p\/.*$/, ''))
  const where = wildcard
    ? `${d.config.listen.join(' ')} (all interfaces: ${bound.join(', ')})`
    : bound.join(', ')
  const outward = addrs.filter((a) => !a.startsWith('/ip4/127.') && !a.startsWith('/ip6/::1/'))
  return { where, dialable: outward.length > 0 ? outward : addrs }
}

/** What a first run prints on stdout: who it is, where it is reached, and how a swarm forms around it. */
export function banner(d: Daemon): string {
  const { where, dialable } = listening(d)
  const { dataDir, writeQuorum, bootstrap } = d.config
  const first = dialable[0] ?? ''
  const lines = [
    'swarmstore daemon ready',
    `  peer id    ${d.node.peerId.toString()}`,
    `  listening  ${where}`,
    `  api        ${d.apiUrl} (loopback; data dir ${dataDir})`,
    `  others join with   swarmstore daemon --bootstrap ${first}`,
    '                     (on this machine also: --data-dir <another dir> --listen /ip4/0.0.0.0/tcp/0 --api 127.0.0.1:0)',
    '  to join a swarm    restart with --bootstrap <address from `swarmstore id` on a member>',
  ]
  if (bootstrap.length === 0 && writeQuorum > 1)
    lines.push(
      `  alone for now: a put needs W=${writeQuorum} daemons, so start ${writeQuorum - 1} more as above` +
        ' (or run this one with --replicas 1 --write-quorum 1)',
    )
  return `${lines.join('\n')}\n`
}

/** How often a daemon run by npm/npx looks whether its parent is still there. */
const PARENT_CHECK_MS = 1000

/**
 * Under `npx swarmstore daemon` npm runs the bin through `sh -c`, and a SIGTERM to npm reaches
 * only that shell, which dies without passing it on: the daemon would run on under PID 1. So a
 * daemon started by npm (npm_command set) stops when its parent goes. Not done otherwise: a
 * daemon started with `nohup … &` from a shell that then exits must keep running.
 */
function stopWithWrapper(stop: () => void): void {
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) stop()
  }, PARENT_CHECK_MS).unref()
}

/**
 * `swarmstore daemon`: starts, prints the banner, and stops cleanly on SIGINT/SIGTERM (a restart:
 * peers wait for it) or on `swarmstore stop`/`leave` through the control API. A second signal
 * exits at once, removing the api file so clients do not knock on a closed port.
 */
export async function runDaemon(flags: Partial<Record<keyof DaemonConfig, unknown>> = {}): Promise<Daemon> {
  const d = await startDaemon(flags)
  let stopping = false
  const shutdown = (why: string, mode: DepartureMode) => {
    if (stopping) {
      if (why.startsWith('SIG')) {
        rmSync(join(d.config.dataDir, 'api'), { force: true })
        process.exit(130)
      }
      return
    }
    stopping = true
    d.stop(mode).then(
      () => process.exit(0),
      (err) => {
        console.error(`error while stopping after ${why}: ${(err as Error).message}`)
        process.exit(1)
      },
    )
  }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => shutdown(sig, 'restart'))
  if (process.env.npm_command !== undefined)
    stopWithWrapper(() => shutdown('the npm wrapper exited', 'restart'))
  d.stopRequests.onRequest((mode) =>
    shutdown(mode === 'leave' ? 'swarmstore leave' : 'swarmstore stop', mode),
  )
  process.stdout.write(banner(d))
  return d
}
