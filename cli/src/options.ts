import { type Command, InvalidArgumentError, Option } from 'commander'
import { parseHostPort } from './address.js'
import { parseDuration } from './duration.js'
import { parseSize } from './size.js'

/** Options every client command understands, before or after the subcommand name. */
export interface GlobalOptions {
  dataDir?: string
  api?: string
  tokenFile?: string
  json?: boolean
  timeout?: number
}

/** Metadata requests (status, stat, peers, id) give up after this when no `--timeout` is given. */
export const DEFAULT_METADATA_TIMEOUT_MS = 60_000

/**
 * Added to `--timeout` for the client's own idle limit on file bodies, so the daemon's 504 (which
 * says which chunk it was waiting for) arrives before the client gives up on its own.
 */
export const CLIENT_TIMEOUT_GRACE_MS = 5_000

/**
 * Turns a parse function's Error into commander's InvalidArgumentError, so every bad value is
 * reported the one way commander reports them (and exits 2).
 */
function commanderParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text)
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message)
    }
  }
}

export const durationArg = commanderParser(parseDuration)
export const sizeArg = commanderParser(parseSize)

export const hostPortArg = commanderParser((text: string) => {
  // Clients also take the `http://HOST:PORT` form found in the api file; the daemon checks its own.
  if (/^https?:\/\//i.test(text)) return text
  parseHostPort(text, { allowPortZero: true })
  return text
})

export const nonNegativeIntArg = commanderParser((text: string) => {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
    throw new Error(`'${text}' is not a whole number >= 0`)
  }
  return Number(text)
})

export const positiveIntArg = commanderParser((text: string) => {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text)) || Number(text) === 0) {
    throw new Error(`'${text}' is not a whole number >= 1`)
  }
  return Number(text)
})

/** Collects a repeatable option's values in order (`--listen A --listen B` → `[A, B]`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/**
 * Declared on the program, not on each subcommand: commander then recognises them anywhere on the
 * line, so `swarmstore --json status` and `swarmstore status --json` mean the same. No defaults here,
 * so a command can tell "not given" from a value (the daemon applies its own config file and env).
 */
export function addGlobalOptions(program: Command): void {
  program
    .option('--data-dir <dir>', 'data dir of the daemon to talk to (reads <dir>/api and <dir>/token)')
    .addOption(
      new Option('--api <host:port>', 'control API address; overrides <data-dir>/api').argParser(hostPortArg),
    )
    .option(
      '--token-file <file>',
      'bearer token to send (default: $SWARMSTORE_TOKEN, else <data-dir>/token when --api is that dir’s daemon)',
    )
    .option('--json', 'machine-readable output on stdout (errors too)')
    .addOption(
      new Option(
        '--timeout <duration>',
        'e.g. 500ms, 30s, 2m, 1h (plain number = ms); default 60s for metadata, none for put/get',
      ).argParser(durationArg),
    )
}

/** The global options as seen from a subcommand's action. */
export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>()
}
