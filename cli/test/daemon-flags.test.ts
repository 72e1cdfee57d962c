import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { type DaemonCommandOptions, type DaemonFlags, daemonFlags } from '../src/commands/daemon.js'
import { buildProgram } from '../src/main.js'
import { globalOptions } from '../src/options.js'

/** Parses a daemon command line through the real program, with the action swapped for a recorder. */
async function flagsFor(args: string[]): Promise<DaemonFlags> {
  const program = buildProgram()
  let flags: DaemonFlags | undefined
  const daemon = program.commands.find((command) => command.name() === 'daemon')!
  daemon.action((options: DaemonCommandOptions, command: Command) => {
    flags = daemonFlags(options, globalOptions(command))
  })
  await program.parseAsync(['node', 'swarmstore', ...args])
  return flags!
}

describe('daemon flags', () => {
  it('passes only the keys given, so config file and env supply the rest', async () => {
    assert.deepEqual(await flagsFor(['daemon']), {})
    assert.deepEqual(await flagsFor(['daemon', '--replicas', '5']), { replicas: 5 })
  })

  it('names every key as DaemonConfig does, collecting repeated options in order', async () => {
    const flags = await flagsFor([
      '--data-dir',
      'n1',
      'daemon',
      '--listen',
      '/ip4/127.0.0.1/tcp/4101',
      '--listen',
      '/ip4/127.0.0.1/tcp/4102',
      '--bootstrap',
      '/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWabc',
      '--api',
      '127.0.0.1:0',
      '--swarm',
      'lab',
      '--replicas',
      '3',
      '--write-quorum',
      '2',
      '--capacity',
      '10G',
      '--announce',
      '/dns4/example.org/tcp/4001',
      '--chunk-size',
      '1M',
      '--swarm-key',
      'swarm.key',
      '--log-level',
      'debug',
    ])
    assert.deepEqual(flags, {
      dataDir: resolve('n1'),
      listen: ['/ip4/127.0.0.1/tcp/4101', '/ip4/127.0.0.1/tcp/4102'],
      bootstrap: ['/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWabc'],
      api: '127.0.0.1:0',
      swarm: 'lab',
      replicas: 3,
      writeQuorum: 2,
      capacity: 10 * 2 ** 30,
      announce: ['/dns4/example.org/tcp/4001'],
      chunkSize: 2 ** 20,
      swarmKey: resolve('swarm.key'),
      logLevel: 'debug',
    })
  })

  it('takes --data-dir and --api after the subcommand too, and capacity 0', async () => {
    const flags = await flagsFor([
      'daemon',
      '--capacity',
      '0',
      '--data-dir',
      '/tmp/x',
      '--api',
      'localhost:7000',
    ])
    assert.deepEqual(flags, { capacity: 0, dataDir: '/tmp/x', api: 'localhost:7000' })
  })
})
