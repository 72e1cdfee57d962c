import { resolve } from 'node:path'
import { type Command, InvalidArgumentError, Option } from 'commander'
import { parseHostPort } from '../address.js'
import { CliError, ExitCode } from '../errors.js'
import {
  collect,
  type GlobalOptions,
  globalOptions,
  hostPortArg,
  positiveIntArg,
  sizeArg,
} from '../options.js'
import { printJson } from '../output.js'

/**
 * What the CLI hands to `runDaemon`: only the keys the user set, so that the daemon's own layers
 * (defaults ← `<dataDir>/config.json` ← `SWARMSTORE_*` env) decide the rest.
 */
export interface DaemonFlags {
  dataDir?: string
  listen?: string[]
  bootstrap?: string[]
  api?: string
  swarm?: string
  replicas?: number
  writeQuorum?: number
  capacity?: number
  announce?: string[]
  chunkSize?: number
  swarmKey?: string
  metricsListen?: string
  logLevel?: string
  logFormat?: 'auto' | 'json' | 'pretty'
  scrubInterval?: number
  repairGrace?: number
  repairRate?: number
}

/** The daemon subcommand's own options, as commander parsed them (dataDir and api are global options). */
export type DaemonCommandOptions = Omit<DaemonFlags, 'dataDir' | 'api'>

function secondsArg(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number of seconds')
  return Number(v)
}

export function registerDaemon(program: Command): void {
  program
    .command('daemon')
    .description('run a swarmstore node in the foreground (Ctrl-C stops it)')
    .option('--listen <multiaddr>', 'libp2p listen address (repeatable)', collect)
    .option('--bootstrap <multiaddr>', 'a peer to join through, with /p2p/<id> (repeatable)', collect)
    .option('--swarm <name>', 'swarm name; peers of other swarms are refused')
    .option('--replicas <n>', 'R: copies kept of every chunk', positiveIntArg)
    .option('--write-quorum <n>', 'W: copies a put waits for before it answers', positiveIntArg)
    .option('--capacity <bytes>', 'local store limit, e.g. 10G, 500M; 0 = store nothing', sizeArg)
    .option(
      '--announce <multiaddr>',
      'address to tell peers instead of the listen ones (repeatable)',
      collect,
    )
    .option(
      '--chunk-size <bytes>',
      'swarm-wide chunk size, e.g. 1M (all daemons of a swarm must agree)',
      sizeArg,
    )
    .option('--swarm-key <file>', 'pre-shared key file: only peers with the same key can connect')
    .addOption(
      new Option(
        '--metrics-listen <host:port>',
        'also serve GET /metrics here, without a token, for Prometheus (nothing else is served there)',
      ).argParser(hostPortArg),
    )
    .option('--log-level <level>', 'e.g. debug, info, warn, error')
    .addOption(
      new Option(
        '--log-format <format>',
        'logs on stderr: json, pretty, auto = pretty on a terminal (default)',
      ).choices(['auto', 'json', 'pretty']),
    )
    .option(
      '--scrub-interval <seconds>',
      'verify every stored chunk from disk this often (default 3600; 0 = off)',
      secondsArg,
    )
    .option(
      '--repair-grace <seconds>',
      'extra seconds before re-replicating around a dead member, on top of the suspicion timeout (default 0)',
      secondsArg,
    )
    .option(
      '--repair-rate <bytes>',
      'repair/handoff bytes per second this node sends, e.g. 50M (default 50M)',
      sizeArg,
    )
    .addHelpText(
      'after',
      '\nThe global --data-dir DIR (default $SWARMSTORE_DATA_DIR, $XDG_DATA_HOME/swarmstore or\n' +
        '~/.local/share/swarmstore) is where the node keeps its chunks, token and api file; the global\n' +
        '--api HOST:PORT (default 127.0.0.1:5890, port 0 = any free one) is where it serves the control API.\n' +
        'Options not given come from <data-dir>/config.json, then SWARMSTORE_* environment variables.',
    )
    .action(async (options: DaemonCommandOptions, command: Command) => {
      const global = globalOptions(command)
      await runInForeground(daemonFlags(options, global), global.json === true)
    })
}

/**
 * Runs a daemon in this process; a bad setting exits 2, any other start failure 1. With `json`, logs
 * stay JSON lines (unless --log-format says otherwise) and stdout gets one NDJSON event once it listens.
 */
export async function runInForeground(flags: DaemonFlags, json: boolean): Promise<void> {
  if (json) flags.logFormat ??= 'json'
  // Imported here, not at the top: the daemon pulls in libp2p, which every other command would
  // otherwise load (and wait for) only to make one HTTP request.
  const { runDaemon } = await import('@swarmstore/daemon')
  try {
    const daemon = await runDaemon(flags)
    if (json) {
      const { config, node, apiUrl } = daemon
      const addrs = node.getMultiaddrs().map((m) => m.toString())
      printJson({
        event: 'listening',
        peerId: node.peerId.toString(),
        addrs,
        api: apiUrl,
        swarm: config.swarm,
        dataDir: config.dataDir,
      })
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code
    const message = err instanceof Error ? err.message : String(err)
    if (code === 'BAD_CONFIG')
      throw new CliError('BAD_CONFIG', ExitCode.BAD_ARGUMENTS, message, { cause: err })
    throw new CliError(typeof code === 'string' ? code : 'ERROR', ExitCode.ERROR, message, { cause: err })
  }
  // runDaemon has installed its own SIGINT/SIGTERM handlers; its sockets keep the process alive.
}

/** Builds runDaemon's flags from what was given on the command line, and nothing else. */
export function daemonFlags(options: DaemonCommandOptions, global: GlobalOptions): DaemonFlags {
  const flags: DaemonFlags = {}
  if (global.dataDir !== undefined) flags.dataDir = resolve(global.dataDir)
  if (global.api !== undefined) {
    try {
      const { host, port } = parseHostPort(global.api, { allowPortZero: true })
      flags.api = `${host}:${port}`
    } catch (err) {
      throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, `--api: ${(err as Error).message}`)
    }
  }
  if (options.listen !== undefined) flags.listen = options.listen
  if (options.bootstrap !== undefined) flags.bootstrap = options.bootstrap
  if (options.swarm !== undefined) flags.swarm = options.swarm
  if (options.replicas !== undefined) flags.replicas = options.replicas
  if (options.writeQuorum !== undefined) flags.writeQuorum = options.writeQuorum
  if (options.capacity !== undefined) flags.capacity = options.capacity
  if (options.announce !== undefined) flags.announce = options.announce
  if (options.chunkSize !== undefined) flags.chunkSize = options.chunkSize
  // Made absolute here so it means the file the user pointed at, whatever dir the daemon resolves from.
  if (options.swarmKey !== undefined) flags.swarmKey = resolve(options.swarmKey)
  if (options.metricsListen !== undefined) flags.metricsListen = options.metricsListen
  if (options.logLevel !== undefined) flags.logLevel = options.logLevel
  if (options.logFormat !== undefined) flags.logFormat = options.logFormat
  if (options.scrubInterval !== undefined) flags.scrubInterval = options.scrubInterval
  if (options.repairGrace !== undefined) flags.repairGrace = options.repairGrace
  if (options.repairRate !== undefined) flags.repairRate = options.repairRate
  return flags
}
