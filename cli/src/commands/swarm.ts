import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { DaemonClient } from '../client.js'
import { resolveConnection } from '../connection.js'
import type { IdResponse } from '../daemon-api.js'
import { lockHolder } from '../data-dir.js'
import { CliError, ExitCode } from '../errors.js'
import { globalOptions, nonNegativeIntArg, positiveIntArg } from '../options.js'
import { printJson, printLine } from '../output.js'
import { formatTable } from '../table.js'

interface SwarmOptions {
  nodes: number
  basePort: number
  apiBasePort: number
  dir: string
  replicas?: number
  writeQuorum?: number
}

/** With --json, what happens is printed as one JSON object a line (NDJSON) instead of a table. */
type Events = ((event: Record<string, unknown>) => void) | undefined

interface Node {
  name: string
  dir: string
  listen: string
  api: string
  child: ChildProcess
  exited: Promise<void>
}

/** How long a node gets to write its api file and answer /v1/id before the swarm gives up on it. */
const START_TIMEOUT_MS = 30_000
/** The pause between looks at a starting node's api file. */
const POLL_MS = 100

/** This package's bin script, which the children run: dist/commands/swarm.js → bin/swarmstore.mjs. */
const BIN = fileURLToPath(new URL('../../bin/swarmstore.mjs', import.meta.url))

/** The Node flags on the bin's shebang line (`#!/usr/bin/env -S node FLAGS`): one place says how a daemon's V8 is set up. */
function shebangFlags(): string[] {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? ''
  const m = /^#!.*\bnode\b(.*)$/.exec(first)
  return m === null
    ? []
    : m[1]!
        .trim()
        .split(/\s+/)
        .filter((f) => f.startsWith('--'))
}

export function registerSwarm(program: Command): void {
  program
    .command('swarm')
    .description('run N daemons on 127.0.0.1 that join each other, for a demo or a test (Ctrl-C stops them)')
    .requiredOption('--nodes <n>', 'how many daemons', positiveIntArg)
    .option(
      '--base-port <port>',
      'libp2p port of node 1; node i listens on base + i - 1',
      nonNegativeIntArg,
      4101,
    )
    .option(
      '--api-base-port <port>',
      'control API port of node 1; node i uses base + i - 1',
      nonNegativeIntArg,
      5891,
    )
    .option('--dir <dir>', 'parent of the nodes’ data dirs node1..nodeN', '.swarm')
    .option('--replicas <n>', 'R for every node (default: the daemon’s)', positiveIntArg)
    .option('--write-quorum <n>', 'W for every node (default: the daemon’s)', positiveIntArg)
    .action(async (options: SwarmOptions, command: Command) => {
      for (const base of [options.basePort, options.apiBasePort]) {
        if (base < 1 || base + options.nodes - 1 > 65535) {
          throw new CliError(
            'BAD_ARGUMENTS',
            ExitCode.BAD_ARGUMENTS,
            `ports ${base}..${base + options.nodes - 1} do not fit in 1..65535`,
          )
        }
      }
      const global = globalOptions(command)
      const events: Events = global.json ? (event) => printJson(event) : undefined
      process.exitCode = await runSwarm(options, global.timeout ?? START_TIMEOUT_MS, events)
    })
}

async function runSwarm(options: SwarmOptions, startTimeout: number, events: Events): Promise<number> {
  const nodes: Node[] = []
  let stopping = false
  let signals = 0
  const stopAll = (signal: NodeJS.Signals): void => {
    stopping = true
    for (const node of nodes) {
      if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill(signal)
    }
  }
  // The children run in their own process group (detached), so a Ctrl-C reaches only this process
  // and each daemon gets exactly one SIGTERM from it; a second Ctrl-C means "now", and kills them.
  const onSignal = (): void => {
    signals++
    if (signals === 1) process.stderr.write('stopping the swarm…\n')
    if (signals === 1) events?.({ event: 'stopping' })
    stopAll(signals === 1 ? 'SIGTERM' : 'SIGKILL')
  }
  const handled: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const signal of handled) process.on(signal, onSignal)

  await refuseRunningSwarm(options)
  try {
    const first = await startNode(options, 1, [])
    nodes.push(first)
    const firstId = await waitUntilServing(first, startTimeout, events)
    const bootstrap = bootstrapAddress(firstId, options.basePort)
    const rest = Array.from({ length: options.nodes - 1 }, (_, i) => startNode(options, i + 2, [bootstrap]))
    nodes.push(...(await Promise.all(rest)))
    if (stopping) stopAll('SIGTERM') // a Ctrl-C while they were being spawned
    await Promise.all(nodes.slice(1).map((node) => waitUntilServing(node, startTimeout, events)))
  } catch (err) {
    stopAll('SIGTERM')
    await Promise.all(nodes.map((node) => node.exited))
    for (const signal of handled) process.off(signal, onSignal)
    if (stopping && signals > 0) return ExitCode.OK
    throw err
  }

  if (events) events({ event: 'ready', nodes: nodes.length })
  else printSummary(options, nodes)

  for (const node of nodes) {
    node.exited.then(() => {
      if (!stopping) {
        const how = node.child.signalCode ?? `code ${node.child.exitCode}`
        const log = join(node.dir, 'daemon.log')
        process.stderr.write(`${node.name} exited (${how}); see ${log}\n`)
        events?.({ event: 'node-exited', node: node.name, how, log })
      }
    })
  }
  await Promise.all(nodes.map((node) => node.exited))
  for (const signal of handled) process.off(signal, onSignal)
  // Stopped on request: success. Every daemon gone by itself: that is worth a non-zero status.
  events?.({ event: 'stopped', requested: stopping })
  return stopping ? ExitCode.OK : ExitCode.ERROR
}

/** A second `swarm` on the same dir would find every node's data dir locked: say so before starting any. */
async function refuseRunningSwarm(options: SwarmOptions): Promise<void> {
  for (let i = 1; i <= options.nodes; i++) {
    const dir = join(options.dir, `node${i}`)
    const pid = await lockHolder(dir)
    if (pid === undefined) continue
    throw new CliError(
      'SWARM_RUNNING',
      ExitCode.ERROR,
      `a swarm already runs in ${options.dir}: node${i} (pid ${pid}) holds ${dir}. Stop it first ` +
        `(Ctrl-C where it runs, or \`swarmstore --data-dir ${dir} stop\` for each node), or start this one ` +
        'with another --dir, --base-port and --api-base-port',
    )
  }
}

async function startNode(options: SwarmOptions, index: number, bootstrap: string[]): Promise<Node> {
  const dir = join(options.dir, `node${index}`)
  await mkdir(dir, { recursive: true })
  const listen = `/ip4/127.0.0.1/tcp/${options.basePort + index - 1}`
  const api = `127.0.0.1:${options.apiBasePort + index - 1}`
  // the same Node and the same V8 flags as the bin's shebang
  const args = [...shebangFlags(), BIN, 'daemon', '--data-dir', dir, '--listen', listen, '--api', api]
  if (options.replicas !== undefined) args.push('--replicas', String(options.replicas))
  if (options.writeQuorum !== undefined) args.push('--write-quorum', String(options.writeQuorum))
  for (const addr of bootstrap) args.push('--bootstrap', addr)

  const log = openSync(join(dir, 'daemon.log'), 'a')
  let child: ChildProcess
  try {
    child = spawn(process.execPath, args, { stdio: ['ignore', log, log], detached: true })
  } finally {
    closeSync(log) // the child holds its own copy of the descriptor
  }
  const exited = once(child, 'exit').then(
    () => {},
    () => {},
  )
  return { name: `node${index}`, dir, listen, api, child, exited }
}

/**
 * Polls (with a deadline) until the node has written its api file and answers /v1/id there. An api
 * file left by an earlier run makes the first looks fail with "connection refused"; that is just
 * another "not yet" until the new daemon overwrites it.
 */
async function waitUntilServing(node: Node, timeoutMs: number, events: Events): Promise<IdResponse> {
  const deadline = performance.now() + timeoutMs
  let lastError = 'no api file yet'
  while (performance.now() < deadline) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) {
      throw await startFailure(node, `exited (${node.child.signalCode ?? `code ${node.child.exitCode}`})`)
    }
    try {
      // only our child counts: a daemon of another run answering on the same port is not it
      if ((await lockHolder(node.dir)) !== node.child.pid)
        throw new Error('the data dir is not locked by it yet')
      // no environment: the node's own token file, even when SWARMSTORE_TOKEN is set for another daemon
      const client = new DaemonClient(await resolveConnection({ dataDir: node.dir }, {}))
      const id = await client.json<IdResponse>('/v1/id', { deadlineMs: 2000 })
      events?.({ event: 'node-serving', node: node.name, dir: node.dir, api: node.api, peerId: id.peerId })
      return id
    } catch (err) {
      lastError = (err as Error).message
    }
    await sleep(POLL_MS)
  }
  throw await startFailure(node, `did not serve /v1/id within ${timeoutMs / 1000}s (${lastError})`)
}

async function startFailure(node: Node, what: string): Promise<CliError> {
  const logFile = join(node.dir, 'daemon.log')
  const log = await readFile(logFile, 'utf8').catch(() => '')
  const tail = log.trimEnd().split('\n').slice(-15).join('\n')
  return new CliError('SWARM_START', ExitCode.ERROR, `${node.name} ${what}; the end of ${logFile}:\n${tail}`)
}

/** The node's loopback TCP address with its /p2p/ id, which is what the others can dial. */
function bootstrapAddress(id: IdResponse, port: number): string {
  const withId = id.addrs.filter((addr) => addr.includes('/p2p/'))
  const loopback = withId.find((addr) => addr.startsWith(`/ip4/127.0.0.1/tcp/${port}/`))
  const chosen =
    loopback ?? withId[0] ?? (id.addrs[0] === undefined ? undefined : `${id.addrs[0]}/p2p/${id.peerId}`)
  if (chosen === undefined) {
    throw new CliError('SWARM_START', ExitCode.ERROR, `node1 reports no addresses (peer id ${id.peerId})`)
  }
  return chosen
}

function printSummary(options: SwarmOptions, nodes: Node[]): void {
  printLine(
    `${nodes.length} daemon${nodes.length === 1 ? '' : 's'} running; logs in ${options.dir}/nodeI/daemon.log.`,
  )
  printLine('Ctrl-C stops them all.')
  printLine()
  const rows = nodes.map((node) => [
    node.name,
    node.dir,
    node.api,
    `swarmstore --data-dir ${node.dir} status`,
  ])
  for (const line of formatTable([['node', 'data dir', 'api', 'use it with'], ...rows])) printLine(line)
}
