import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { apiBaseUrl } from './address.js'
import { resolveDataDir } from './data-dir.js'
import { CliError, ExitCode } from './errors.js'

/** Where the CLI finds a daemon and how it proves it may talk to it. */
export interface Connection {
  /** e.g. `http://127.0.0.1:5890`, no trailing slash */
  baseUrl: string
  token: string | undefined
  dataDir: string
  /** Said in the 401 hint, so a user sees which token was refused. */
  tokenSource: string
  /** The command that would start the daemon this connection looks for, for the "not running" hint. */
  startHint: string
}

export interface ConnectionFlags {
  dataDir?: string | undefined
  api?: string | undefined
}

/** The default control address, named in the "not running" message when there is no api file to say. */
export const DEFAULT_API_URL = 'http://127.0.0.1:5890'

export async function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const dataDir = resolveDataDir(flags.dataDir, env)
  const startHint = `start it with \`swarmstore daemon --data-dir ${dataDir}\``
  const { token, tokenSource } = await readToken(dataDir, env)

  if (flags.api !== undefined) {
    let baseUrl: string
    try {
      baseUrl = apiBaseUrl(flags.api)
    } catch (err) {
      throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, `--api: ${(err as Error).message}`)
    }
    return { baseUrl, token, dataDir, tokenSource, startHint }
  }

  const apiFile = join(dataDir, 'api')
  let text: string
  try {
    text = await readFile(apiFile, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // The daemon writes the api file after it listens, so its absence means no daemon has ever
      // served from this dir (a stale file from a crashed one is caught later as ECONNREFUSED).
      throw new CliError(
        'DAEMON_NOT_RUNNING',
        ExitCode.DAEMON_NOT_RUNNING,
        `daemon not running at ${DEFAULT_API_URL} (no api file in ${dataDir}) — ${startHint}`,
      )
    }
    throw new CliError('ERROR', ExitCode.ERROR, `cannot read ${apiFile}: ${(err as Error).message}`)
  }
  const line = text.split('\n')[0]!.trim()
  try {
    return { baseUrl: apiBaseUrl(line), token, dataDir, tokenSource, startHint }
  } catch {
    throw new CliError('ERROR', ExitCode.ERROR, `${apiFile} does not hold a base URL (found '${line}')`)
  }
}

/**
 * The token file in the data dir, else `SWARMSTORE_TOKEN`: the file belongs to the daemon the data dir
 * names, so it is right whenever it exists; the variable is for a daemon reached with `--api` from a
 * machine that has no copy of its data dir. With neither, the request goes without one and the
 * daemon's 401 says so.
 */
async function readToken(
  dataDir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ token: string | undefined; tokenSource: string }> {
  const tokenFile = join(dataDir, 'token')
  try {
    const token = (await readFile(tokenFile, 'utf8')).trim()
    if (token !== '') return { token, tokenSource: tokenFile }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      throw new CliError('ERROR', ExitCode.ERROR, `cannot read ${tokenFile}: ${(err as Error).message}`)
    }
  }
  if (env.SWARMSTORE_TOKEN) return { token: env.SWARMSTORE_TOKEN.trim(), tokenSource: 'SWARMSTORE_TOKEN' }
  return { token: undefined, tokenSource: `none (no ${tokenFile} and no SWARMSTORE_TOKEN)` }
}
