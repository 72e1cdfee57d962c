import type { Command } from 'commander'
import { DaemonClient } from '../client.js'
import { resolveConnection } from '../connection.js'
import { DEFAULT_METADATA_TIMEOUT_MS, type GlobalOptions, globalOptions } from '../options.js'

export interface ClientContext {
  client: DaemonClient
  options: GlobalOptions
  /** Deadline for a metadata request: `--timeout`, else the default. */
  metadataDeadlineMs: number
}

/** The daemon client for a subcommand's action, from the global options wherever they were written. */
export async function connect(command: Command): Promise<ClientContext> {
  const options = globalOptions(command)
  const connection = await resolveConnection(options)
  return {
    client: new DaemonClient(connection),
    options,
    metadataDeadlineMs: options.timeout ?? DEFAULT_METADATA_TIMEOUT_MS,
  }
}
