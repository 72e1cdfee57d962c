/**
 * Exit statuses and the error type that carries one. Scripts branch on these numbers (retry on 5 or
 * 10, start a daemon on 3), so each condition a user can act on gets its own and they never change.
 */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  BAD_ARGUMENTS: 2,
  DAEMON_NOT_RUNNING: 3,
  NOT_FOUND: 4,
  TIMEOUT: 5,
  UNAUTHORIZED: 6,
  INCOMPLETE_DOWNLOAD: 7,
  INSUFFICIENT_REPLICAS: 8,
  CAPACITY: 9,
  NOT_READY: 10,
  /** a key-value cas whose expected version was not the key's (the error carries the current one) */
  CONFLICT: 11,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * An error the CLI reports as `error: <message>` (plus `hint` on its own line) and exits with
 * `exitCode`. `code` is the daemon's error code when the daemon sent one, else a CLI-side code of the
 * same shape, so `--json` output has one format whichever side failed.
 */
export class CliError extends Error {
  readonly code: string
  readonly exitCode: ExitCode
  readonly hint: string | undefined
  /** Facts the daemon sent beside its error (a key's `version`), printed beside it with `--json`. */
  readonly details: Record<string, unknown> | undefined

  constructor(
    code: string,
    exitCode: ExitCode,
    message: string,
    options?: { hint?: string | undefined; cause?: unknown; details?: Record<string, unknown> | undefined },
  ) {
    super(message, { cause: options?.cause })
    this.name = 'CliError'
    this.code = code
    this.exitCode = exitCode
    this.hint = options?.hint
    this.details = options?.details
  }
}

/** Exit status for a daemon error code; the HTTP status decides when the code is unknown or absent. */
export function exitCodeForDaemonError(code: string | undefined, status: number): ExitCode {
  switch (code) {
    case 'BAD_REQUEST':
      return ExitCode.BAD_ARGUMENTS
    case 'UNAUTHORIZED':
      return ExitCode.UNAUTHORIZED
    case 'NOT_FOUND':
      return ExitCode.NOT_FOUND
    case 'TIMEOUT':
      return ExitCode.TIMEOUT
    case 'INSUFFICIENT_REPLICAS':
      return ExitCode.INSUFFICIENT_REPLICAS
    case 'NOT_READY':
      return ExitCode.NOT_READY
    case 'CAPACITY':
      return ExitCode.CAPACITY
    case 'CONFLICT':
      return ExitCode.CONFLICT
  }
  switch (status) {
    case 400:
      return ExitCode.BAD_ARGUMENTS
    case 401:
      return ExitCode.UNAUTHORIZED
    case 404:
      return ExitCode.NOT_FOUND
    case 413: // a key-value value over the limit
      return ExitCode.BAD_ARGUMENTS
    case 504:
      return ExitCode.TIMEOUT
    case 507:
      return ExitCode.CAPACITY
    default:
      return ExitCode.ERROR
  }
}
