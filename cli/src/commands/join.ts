import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { InviteToken } from '@swarmstore/daemon/invite-token'
import type { Command } from 'commander'
import { resolveDataDir } from '../data-dir.js'
import { CliError, ExitCode } from '../errors.js'
import { collect, globalOptions, sizeArg } from '../options.js'
import { printJson } from '../output.js'
import { daemonFlags, runInForeground } from './daemon.js'

interface JoinOptions {
  api?: string | undefined
  listen?: string[]
  announce?: string[]
  capacity?: number
}

export function registerJoin(program: Command): void {
  program
    .command('join')
    .description(
      'join the swarm of a token from `swarmstore invite`: write this node’s config, then run its daemon',
    )
    .argument('<token>', 'the join token (starts with ssi1.)')
    .option('--listen <multiaddr>', 'libp2p listen address, kept in the config (repeatable)', collect)
    .option('--announce <multiaddr>', 'address to tell peers, kept in the config (repeatable)', collect)
    .option('--capacity <bytes>', 'local store limit, kept in the config, e.g. 10G', sizeArg)
    .addHelpText(
      'after',
      '\nWrites <data-dir>/config.json (swarm, bootstrap, replicas, writeQuorum, chunkSize, --api and the\n' +
        'options above; other keys already there are kept) and, for a private swarm, <data-dir>/swarm.key (0600).\n' +
        'Then runs the daemon in the foreground, as `swarmstore daemon --data-dir DIR` will on later starts.',
    )
    .action(async (token: string, options: JoinOptions, command: Command) => {
      const global = globalOptions(command)
      const { decodeInvite } = await import('@swarmstore/daemon/invite-token')
      let invite: InviteToken
      try {
        invite = decodeInvite(token, Date.now())
      } catch (err) {
        throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, (err as Error).message)
      }
      const dataDir = resolveDataDir(global.dataDir)
      const flags = daemonFlags({}, { ...global, dataDir })
      const config = await writeJoinConfig(dataDir, invite, { ...options, api: flags.api })
      const event = {
        event: 'configured',
        dataDir,
        swarm: invite.swarm,
        bootstrap: invite.bootstrap,
        private: invite.swarmKey !== undefined,
      }
      if (global.json) printJson(event)
      else
        process.stderr.write(
          `wrote ${config} for swarm ${invite.swarm} (R=${invite.replicas} W=${invite.writeQuorum}, ` +
            `${invite.bootstrap.length} bootstrap addresses${event.private ? ', its swarm key in swarm.key' : ''}); ` +
            'starting the daemon (later: swarmstore daemon --data-dir ' +
            `${dataDir})\n`,
        )
      await runInForeground(flags, global.json === true)
    })
}

/** Merges the invite (and the options given) into `<dataDir>/config.json`; returns its path. */
async function writeJoinConfig(dataDir: string, invite: InviteToken, options: JoinOptions): Promise<string> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, 'config.json')
  const config = { ...(await readConfig(file)) }
  config.swarm = invite.swarm
  config.bootstrap = invite.bootstrap
  config.replicas = invite.replicas
  config.writeQuorum = invite.writeQuorum
  config.chunkSize = invite.chunkSize
  config.swarmKey = null
  if (invite.swarmKey !== undefined) {
    const keyFile = join(dataDir, 'swarm.key')
    await writeAtomic(keyFile, invite.swarmKey, 0o600)
    config.swarmKey = keyFile
  }
  if (options.api !== undefined) config.api = options.api
  if (options.listen !== undefined) config.listen = options.listen
  if (options.announce !== undefined) config.announce = options.announce
  if (options.capacity !== undefined) config.capacity = options.capacity
  await writeAtomic(file, `${JSON.stringify(config, null, 2)}\n`, 0o600)
  return file
}

async function readConfig(file: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new CliError('ERROR', ExitCode.ERROR, `cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>
  } catch {
    // said below
  }
  throw new CliError(
    'BAD_CONFIG',
    ExitCode.BAD_ARGUMENTS,
    `${file} does not hold a JSON object; fix or remove it, then join again`,
  )
}

async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, text, { mode })
  await chmod(tmp, mode)
  await rename(tmp, file)
}
