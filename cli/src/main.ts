/**
 * @packageDocumentation
 * The `swarmstore` command. `daemon` runs a node in this process; every other command is a client of
 * a running daemon's control API (docs/CONTROL-API.md), found through its data dir.
 */
import { Command } from 'commander'
import { registerDaemon } from './commands/daemon.js'
import { registerDashboard } from './commands/dashboard.js'
import { registerGet } from './commands/get.js'
import { registerInvite } from './commands/invite.js'
import { registerJoin } from './commands/join.js'
import { registerKv } from './commands/kv.js'
import { registerPut } from './commands/put.js'
import { registerStat } from './commands/stat.js'
import { registerStatus } from './commands/status.js'
import { registerStop } from './commands/stop.js'
import { registerSwarm } from './commands/swarm.js'
import { ExitCode } from './errors.js'
import { addGlobalOptions } from './options.js'
import { exitQuietlyWhenStdoutCloses, reportError } from './output.js'

const VERSION = '0.1.0'

export function buildProgram(): Command {
  const program = new Command('swarmstore')
    .description('a peer-to-peer content-addressed store: run a daemon, put and get files through it')
    .version(VERSION)
    // Commander would call process.exit itself, with status 1 for a usage error; throwing instead
    // lets main() give usage errors their own status (2) and the --json error line.
    .exitOverride()
    .showHelpAfterError('(run swarmstore --help, or swarmstore <command> --help)')
    .configureHelp({ showGlobalOptions: true })
  addGlobalOptions(program)
  // Each register* uses program.command(), which copies exitOverride and the help settings to the
  // subcommand; set them above, before any subcommand exists.
  registerPut(program)
  registerGet(program)
  registerStat(program)
  registerKv(program)
  registerStatus(program)
  registerDaemon(program)
  registerStop(program)
  registerSwarm(program)
  registerInvite(program)
  registerJoin(program)
  registerDashboard(program)
  return program
}

/** Runs one command line (`process.argv` shape: node, script, args…) and sets process.exitCode. */
export async function main(argv: string[]): Promise<void> {
  // If a bug leaves a promise that never settles, Node exits once nothing else is pending, with
  // status 0: a script would take a half-done get for success. Say so and fail instead.
  let finished = false
  const onExit = (): void => {
    if (finished || process.exitCode !== undefined) return
    process.stderr.write('error: internal: the command stopped before it finished\n')
    process.exitCode = ExitCode.ERROR
  }
  process.once('exit', onExit)
  exitQuietlyWhenStdoutCloses()
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    // Read from the line, not from parsed options: a usage error can stop parsing before --json.
    const json = argv.slice(2).includes('--json')
    process.exitCode = reportError(err, json)
  } finally {
    finished = true
  }
}
