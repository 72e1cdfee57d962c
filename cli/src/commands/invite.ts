import type { Command } from 'commander'
import { durationArg } from '../options.js'
import { printJson, printLine } from '../output.js'
import { connect } from './connect.js'

interface InviteOptions {
  expires: number
}

/** What `POST /v1/invite` answers (docs/CONTROL-API.md). */
interface InviteResponse {
  token: string
  swarm: string
  bootstrap: string[]
  replicas: number
  writeQuorum: number
  chunkSize: number
  private: boolean
  expiresAt?: string
}

const DEFAULT_EXPIRY_MS = 24 * 3600_000

export function registerInvite(program: Command): void {
  program
    .command('invite')
    .description(
      'print a join token for this node’s swarm: `swarmstore join TOKEN` on a new machine joins it',
    )
    .option(
      '--expires <duration>',
      'join refuses the token after this long, e.g. 10m, 7d (default 24h)',
      durationArg,
      DEFAULT_EXPIRY_MS,
    )
    .action(async (options: InviteOptions, command: Command) => {
      const { client, options: global, metadataDeadlineMs } = await connect(command)
      const invite = await client.json<InviteResponse>('/v1/invite', {
        method: 'POST',
        query: { expires: options.expires },
        deadlineMs: metadataDeadlineMs,
      })
      // the warning goes to stderr whatever the format: a script that stores the token should know too
      if (invite.private) {
        process.stderr.write(
          'warning: this token carries the swarm key: whoever has it can join the swarm (the key does not ' +
            'expire with the token). Send it only over a private channel.\n',
        )
      }
      if (global.json) {
        printJson(invite)
        return
      }
      printLine(invite.token)
      process.stderr.write(
        `swarm ${invite.swarm} (R=${invite.replicas} W=${invite.writeQuorum}), ` +
          `${invite.bootstrap.length} bootstrap address${invite.bootstrap.length === 1 ? '' : 'es'}, ` +
          `${invite.expiresAt === undefined ? 'no expiry' : `join refuses it after ${invite.expiresAt}`}.\n` +
          'On the new machine: swarmstore join TOKEN [--data-dir DIR]\n',
      )
    })
}
