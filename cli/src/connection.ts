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
  tokenFile?: string | undefined
}

/** The default control address, named in the "not running" message when there is no api file to say. */
export const DEFAULT_API_URL = 'http://127.0.0.1:5890'

/**
 * The daemon's address and the token to send it. The data dir's token goes only to the address in
 * the data dir's `api` file: with `--api` naming another server, a token file on this machine belongs
 * to some other daemon, and sending it would hand that daemon's admin rights to whoever listens there.
 * A token given explicitly (`SWARMSTORE_TOKEN`, `--token-file`) goes wherever `--api` says.
 */
export async function resolveConnection(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const dataDir = resolveDataDir(flags.dataDir, env)
  const startHint = `start it with \`swarmstore daemon --data-dir ${dataDir}\``
  const explicit = await explicitToken(flags.tokenFile, env)
  const apiFileUrl = await readApiFile(dataDir, flags.api === undefined)
  const baseUrl = flags.api === undefined ? apiFileUrl! : parseApiFlag(flags.api)
  if (explicit !== undefined) return { baseUrl, dataDir, startHint, ...explicit }
  if (apiFileUrl !== baseUrl) {
    const tokenSource = `none (--api names ${baseUrl}, not the daemon of ${dataDir}; set SWARMSTORE_TOKEN or --token-file)`
    return { baseUrl, token: undefined, dataDir, tokenSource, startHint }
  }
  return { baseUrl, dataDir, startHint, ...(await dataDirToken(dataDir)) }
}

function parseApiFlag(api: string): string {
  try {
    return apiBaseUrl(api)
  } catch (err) {
    throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, `--api: ${(err as Error).message}`)
  }
}

/**
 * The base URL in `<dataDir>/api`. When it is `required` (no `--api`), its absence means no daemon has
 * ever served from this dir (a stale file from a crashed one is caught later as ECONNREFUSED).
 */
async function readApiFile(dataDir: string, required: boolean): Promise<string | undefined> {
  const apiFile = join(dataDir, 'api')
  let text: string
  try {
    text = await readFile(apiFile, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (!required) return undefined
    if (code === 'ENOENT') {
      throw new CliError(
        'DAEMON_NOT_RUNNING',
        ExitCode.DAEMON_NOT_RUNNING,
        `daemon not running at ${DEFAULT_API_URL} (no api file in ${dataDir}) — start it with \`swarmstore daemon --data-dir ${dataDir}\``,
      )
    }
    throw new CliError('ERROR', ExitCode.ERROR, `cannot read ${apiFile}: ${(err as Error).message}`)
  }
  const line = text.split('\n')[0]!.trim()
  try {
    return apiBaseUrl(line)
  } catch {
    if (!required) return undefined
    throw new CliError('ERROR', ExitCode.ERROR, `${apiFile} does not hold a base URL (found '${line}')`)
  }
}

type TokenChoice = { token: string | undefined; tokenSource: string }

/** `--token-file`, else `SWARMSTORE_TOKEN`: given for this command, so they win over the data dir's file. */
async function explicitToken(
  tokenFile: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<TokenChoice | undefined> {
  if (tokenFile !== undefined) {
    let token: string
    try {
      token = (await readFile(tokenFile, 'utf8')).trim()
    } catch (err) {
      throw new CliError(
        'BAD_ARGUMENTS',
        ExitCode.BAD_ARGUMENTS,
        `--token-file ${tokenFile}: ${(err as Error).message}`,
      )
    }
    if (token === '')
      throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, `--token-file ${tokenFile} is empty`)
    return { token, tokenSource: `--token-file ${tokenFile}` }
  }
  const fromEnv = env.SWARMSTORE_TOKEN?.trim()
  if (fromEnv) return { token: fromEnv, tokenSource: 'SWARMSTORE_TOKEN' }
  return undefined
}

/** The token file the data dir's daemon wrote; with none, the request goes without one and the 401 says so. */
async function dataDirToken(dataDir: string): Promise<TokenChoice> {
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
  return { token: undefined, tokenSource: `none (no ${tokenFile}, no SWARMSTORE_TOKEN, no --token-file)` }
}
