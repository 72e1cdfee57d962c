import type { Command } from 'commander'
import type { IdResponse, PeerInfo, StatusResponse } from '../daemon-api.js'
import { printJson, printLine } from '../output.js'
import { formatSize } from '../size.js'
import { formatTable } from '../table.js'
import { connect } from './connect.js'

/** `status`, `peers` and `id`: one GET each, shown as a table or, with `--json`, as the daemon sent it. */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('this node: peer id, swarm, readiness, what it stores')
    .action(async (_options: unknown, command: Command) => {
      const { client, options, metadataDeadlineMs } = await connect(command)
      const status = await client.json<StatusResponse>('/v1/status', { deadlineMs: metadataDeadlineMs })
      if (options.json) printJson(status)
      else printStatus(status)
    })

  program
    .command('peers')
    .description('the peers this node knows, with their membership state')
    .action(async (_options: unknown, command: Command) => {
      const { client, options, metadataDeadlineMs } = await connect(command)
      const peers = await client.json<PeerInfo[]>('/v1/peers', { deadlineMs: metadataDeadlineMs })
      if (options.json) printJson(peers)
      else printPeers(peers)
    })

  program
    .command('id')
    .description('this node’s multiaddrs, one a line (give one to another daemon’s --bootstrap)')
    .action(async (_options: unknown, command: Command) => {
      const { client, options, metadataDeadlineMs } = await connect(command)
      const id = await client.json<IdResponse>('/v1/id', { deadlineMs: metadataDeadlineMs })
      if (options.json) printJson(id)
      else for (const addr of id.addrs) printLine(addr)
    })
}

function printStatus(status: StatusResponse): void {
  const rows = [
    ['peer id', status.peerId],
    ['ready', status.ready ? 'yes' : 'no (not joined a swarm yet)'],
    ...(status.joinProblem ? [['join problem', status.joinProblem]] : []),
    ['swarm', status.swarm],
    ['replicas', `R=${status.replicas} W=${status.writeQuorum}`],
    ['chunk size', formatSize(status.chunkSize)],
    ['peers', String(status.peers)],
    ['stored', `${status.chunks} chunks, ${formatSize(status.bytes)}`],
    ['capacity', status.capacity === null ? 'unlimited' : formatSize(status.capacity)],
    ['under-replicated', String(status.underReplicated)],
    ['uptime', formatUptime(status.uptimeSeconds)],
    ...status.listenAddrs.map((addr, i) => [i === 0 ? 'listening' : '', addr]),
  ]
  for (const line of formatTable(rows)) printLine(line)
}

function printPeers(peers: PeerInfo[]): void {
  if (peers.length === 0) {
    printLine('no peers known yet')
    return
  }
  const rows = peers.map((peer) => [
    peer.peerId,
    peer.state,
    peer.connected ? 'connected' : '-',
    peer.addrs[0] ?? '',
  ])
  for (const line of formatTable([['peer id', 'state', 'link', 'address'], ...rows])) printLine(line)
}

function formatUptime(seconds: number): string {
  const s = Math.floor(seconds)
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ] as const
  const first = parts.findIndex(([n]) => n > 0)
  return first === -1
    ? '0s'
    : parts
        .slice(first)
        .map(([n, unit]) => `${n}${unit}`)
        .join(' ')
}
