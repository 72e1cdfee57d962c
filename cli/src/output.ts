import { CommanderError } from 'commander'
import { CliError, ExitCode } from './errors.js'

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

export function printLine(line = ''): void {
  process.stdout.write(`${line}\n`)
}

/**
 * When whoever reads stdout stops reading (`swarmstore peers | head -1`), writes fail with EPIPE.
 * That is not an error to report (nobody is reading); exit at once, non-zero as a process killed by
 * SIGPIPE would, instead of crashing with a stack trace.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.ERROR)
    throw err
  })
}

/**
 * The one place an error becomes output and an exit status: `error: <message>` on stderr (a `hint:`
 * line after it when there is something to do about it) and, with `--json`, `{"error":{...}}` on
 * stdout so a script reading stdout always gets JSON (with the facts the daemon sent beside it, such as a
 * key's `version`).
 */
export function reportError(err: unknown, json: boolean): ExitCode {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return ExitCode.OK // --help, --version
    // commander has already written its message (with a suggestion) to stderr.
    if (json) printJson({ error: { code: 'BAD_ARGUMENTS', message: err.message.replace(/^error: /, '') } })
    return ExitCode.BAD_ARGUMENTS
  }
  const cliError =
    err instanceof CliError
      ? err
      : new CliError('ERROR', ExitCode.ERROR, err instanceof Error ? err.message : String(err))
  process.stderr.write(`error: ${cliError.message}\n`)
  if (cliError.hint !== undefined) process.stderr.write(`hint: ${cliError.hint}\n`)
  if (json) printJson({ error: { code: cliError.code, message: cliError.message }, ...cliError.details })
  return cliError.exitCode
}
