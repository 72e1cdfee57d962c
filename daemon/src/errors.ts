import { SwarmstoreError } from '@swarmstore/core'

/** A config value (file, env or flag) is invalid; the message names the source and the key. */
export class BadConfigError extends SwarmstoreError {
  constructor(message: string) {
    super('BAD_CONFIG', message)
  }
}

/** Another daemon holds the data dir's lock. */
export class DataDirLockedError extends SwarmstoreError {
  constructor(dir: string, pid: number) {
    super(
      'DATA_DIR_LOCKED',
      `data dir ${dir} is in use by another swarmstore daemon (pid ${pid}); stop it or use another --data-dir`,
    )
  }
}

/** A port the daemon was told to listen on is taken; the message names the option and what to do. */
export class PortInUseError extends SwarmstoreError {
  constructor(option: '--listen' | '--api', address: string, example: string) {
    super(
      'PORT_IN_USE',
      `${option} ${address}: the port is in use (another swarmstore daemon, or another program); ` +
        `give another one, e.g. ${option} ${example} (port 0 = any free one)`,
    )
  }
}

/** A peer runs the same swarm with different swarm-wide settings. */
export class SettingsMismatchError extends SwarmstoreError {
  constructor(message: string) {
    super('SETTINGS_MISMATCH', message)
  }
}

/** A peer answered a request with an error or an unexpected reply. */
export class PeerError extends SwarmstoreError {}

export class NotFoundError extends SwarmstoreError {
  constructor(message: string) {
    super('NOT_FOUND', message)
  }
}

export class InsufficientReplicasError extends SwarmstoreError {
  constructor(message: string) {
    super('INSUFFICIENT_REPLICAS', message)
  }
}

export class NotReadyError extends SwarmstoreError {
  constructor(
    message = 'the daemon has not joined its swarm yet (its bootstrap peers have not answered): ' +
      'wait, or see `swarmstore status`',
  ) {
    super('NOT_READY', message)
  }
}

export class TimeoutError extends SwarmstoreError {
  constructor(message: string) {
    super('TIMEOUT', message)
  }
}

export class BadRequestError extends SwarmstoreError {
  constructor(message: string) {
    super('BAD_REQUEST', message)
  }
}

/** A file the client asked the daemon to write is not one it made for this request on this machine. */
export class NotLocalError extends SwarmstoreError {
  constructor(message: string) {
    super('NOT_LOCAL', message)
  }
}

/** The peers that should have a chunk did not answer in time (they may still have it). */
export class UnavailableError extends SwarmstoreError {
  constructor(message: string) {
    super('UNAVAILABLE', message)
  }
}
