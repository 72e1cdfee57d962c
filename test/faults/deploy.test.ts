/**
 * The deployment files do what docs/DEPLOY.md says: deploy/swarmstore.service passes
 * `systemd-analyze verify` and its ExecStart/ExecStartPost/User/Environment run a daemon on this
 * host (whose system Node may be 20); deploy/Containerfile builds on a Debian base made here from
 * Debian packages, runs as a non-root user and keeps its data in the volume across a restart.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureTestBase, mustPodman, podman } from '../support/container.js'
import { mustRun, requireTools, run, which } from '../support/run.js'
import { freePort, ROOT } from '../support/swarm.js'
import { environment, execArgv, parseUnit, single, type Unit } from '../support/systemd-unit.js'

const UNIT = join(ROOT, 'deploy', 'swarmstore.service')
const CLI = join(ROOT, 'cli', 'bin', 'swarmstore.mjs')
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`
/** one daemon alone: a put is acknowledged by itself */
const ALONE = { SWARMSTORE_REPLICAS: '1', SWARMSTORE_WRITE_QUORUM: '1' }

/** The unit with its two fixed paths moved into this checkout and a scratch state dir. */
function relocate(text: string, stateDir: string): string {
  return text.replaceAll('/opt/swarmstore', ROOT).replaceAll('/var/lib/swarmstore', stateDir)
}

/** The CLI as this test's own Node 22 runs it, against the daemon with this data dir or API. */
function swarmstore(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return mustRun(process.execPath, [CLI, ...args], { env, timeoutMs: 60_000 })
}

async function putAndGet(dir: string, connect: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const file = join(dir, 'in.bin')
  const bytes = randomBytes(3 * 1024 * 1024 + 17)
  await writeFile(file, bytes)
  const cid = (await swarmstore([...connect, 'put', file], env)).stdout.trim()
  await swarmstore([...connect, 'get', cid, '-o', join(dir, 'out.bin')], env)
  assert.ok((await readFile(join(dir, 'out.bin'))).equals(bytes), 'get returned the bytes put')
  return cid
}

function exited(p: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (p.exitCode !== null || p.signalCode !== null)
    return Promise.resolve({ code: p.exitCode, signal: p.signalCode })
  return new Promise((res) => p.once('exit', (code, signal) => res({ code, signal })))
}

async function ensureUser(name: string): Promise<{ uid: number; gid: number }> {
  if ((await run('id', ['-u', name])).code !== 0) {
    // the command docs/DEPLOY.md gives
    await mustRun('useradd', [
      '--system',
      '--user-group',
      '--home-dir',
      '/var/lib/swarmstore',
      '--shell',
      '/usr/sbin/nologin',
      name,
    ])
  }
  const uid = Number((await mustRun('id', ['-u', name])).stdout)
  const gid = Number((await mustRun('id', ['-g', name])).stdout)
  return { uid, gid }
}

/** setpriv argv running `argv` as the unit's User/Group with no capabilities, like systemd would. */
function asUser(unit: Unit, argv: string[]): string[] {
  const user = single(unit, 'Service', 'User')
  const group = single(unit, 'Service', 'Group')
  const noNewPrivs = single(unit, 'Service', 'NoNewPrivileges') === 'yes' ? ['--no-new-privs'] : []
  return [
    `--reuid=${user}`,
    `--regid=${group}`,
    '--init-groups',
    ...noNewPrivs,
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--',
    ...argv,
  ]
}

describe('deploy: the systemd unit', function () {
  this.timeout(300_000)
  let dir: string
  let daemon: ChildProcess | undefined

  before(async function () {
    await requireTools(
      this,
      ['systemd-analyze', 'setpriv', 'useradd'],
      ' (apt-get install systemd util-linux passwd)',
    )
    dir = await mkdtemp(join(tmpdir(), 'deploy-unit-'))
    await chmod(dir, 0o755) // the unit's user reaches its state dir inside
  })

  after(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL')
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('passes systemd-analyze verify, silently', async () => {
    const state = join(dir, 'verify-state')
    const unitPath = join(dir, 'swarmstore.service')
    await writeFile(unitPath, relocate(await readFile(UNIT, 'utf8'), state))
    const r = await run('systemd-analyze', ['verify', unitPath])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr.trim(), '', 'no warnings (an unknown key or a bad value is only a warning)')
  })

  it("names the provisioned Node 22, with the CLI shebang's V8 flags", async () => {
    const unit = parseUnit(await readFile(UNIT, 'utf8'))
    const [node, ...rest] = execArgv(single(unit, 'Service', 'ExecStart'))
    assert.equal(node, '/opt/swarmstore/node_modules/.bin/node')
    const shebang = (await readFile(CLI, 'utf8')).split('\n')[0]!
    const shebangFlags = shebang.split(/\s+/).filter((a) => a.startsWith('--'))
    assert.deepEqual(
      rest.filter((a) => a.startsWith('--max') || a.startsWith('--v8') || a.startsWith('--heap')),
      shebangFlags,
    )
    // what `node` would be without the provisioned one: the host's (Node 20 on this machine)
    const systemPath = environment(unit)
      .PATH!.split(':')
      .filter((d) => !d.startsWith('/opt/swarmstore'))
    const systemNode = await which('node', systemPath.join(':'))
    const v = systemNode ? (await run(systemNode, ['--version'])).stdout.trim() : 'none'
    console.log(`      system node: ${systemNode ?? 'none'} ${v}; the unit runs ${node}`)
  })

  it('ExecStart as User with Environment listens (ExecStartPost returns), serves a put/get, stops cleanly on KillSignal', async () => {
    const state = join(dir, 'state')
    const unit = parseUnit(relocate(await readFile(UNIT, 'utf8'), state))
    const owner = await ensureUser(single(unit, 'Service', 'User'))
    await mkdir(state, { mode: Number.parseInt(single(unit, 'Service', 'StateDirectoryMode'), 8) }) // StateDirectory=
    await chown(state, owner.uid, owner.gid)
    const env = {
      ...environment(unit),
      // unique ports, so other tests and a real daemon on this machine are untouched
      SWARMSTORE_LISTEN: `/ip4/127.0.0.1/tcp/${await freePort()}`,
      SWARMSTORE_API: `127.0.0.1:${await freePort()}`,
      ...ALONE,
    }
    const cwd = single(unit, 'Service', 'WorkingDirectory')
    const t0 = Date.now()
    const log: Buffer[] = []
    daemon = spawn('setpriv', asUser(unit, execArgv(single(unit, 'Service', 'ExecStart'))), {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    daemon.stdout?.on('data', (b: Buffer) => log.push(b))
    daemon.stderr?.on('data', (b: Buffer) => log.push(b))
    const timeoutStart = Number(single(unit, 'Service', 'TimeoutStartSec')) * 1000
    const ready = await run('setpriv', asUser(unit, execArgv(single(unit, 'Service', 'ExecStartPost'))), {
      env: { ...env, MAINPID: String(daemon.pid) },
      cwd,
      timeoutMs: timeoutStart,
    })
    assert.equal(
      ready.code,
      0,
      `ExecStartPost: ${ready.stderr}\ndaemon: ${Buffer.concat(log).toString().slice(-3000)}`,
    )
    console.log(
      `      listening (ExecStartPost returned) after ${secs(Date.now() - t0)}: ${ready.stdout.trim()}`,
    )
    assert.equal(
      Number((await mustRun('ps', ['-o', 'uid=', '-p', String(daemon.pid)])).stdout),
      owner.uid,
      'runs as User=',
    )
    const exe = await realpath(`/proc/${daemon.pid}/exe`)
    assert.equal(
      exe,
      await realpath(execArgv(single(unit, 'Service', 'ExecStart'))[0]!),
      "runs the unit's Node",
    )

    await putAndGet(dir, ['--data-dir', state])

    const t1 = Date.now()
    daemon.kill(single(unit, 'Service', 'KillSignal') as NodeJS.Signals)
    const stopBound = Number(single(unit, 'Service', 'TimeoutStopSec')) * 1000
    const end = await Promise.race([
      exited(daemon),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), stopBound)),
    ])
    assert.deepEqual(
      end,
      { code: 0, signal: null },
      `exit after KillSignal: ${Buffer.concat(log).toString().slice(-3000)}`,
    )
    console.log(
      `      stopped on ${single(unit, 'Service', 'KillSignal')} in ${secs(Date.now() - t1)}, exit 0`,
    )
  })
})

describe('deploy: the Containerfile', function () {
  this.timeout(900_000)
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`
  const image = `localhost/swarmstore-test:${id}`
  const volume = `swarmstore-test-${id}`
  const name = `swarmstore-test-${id}`
  let dir: string
  let api: string
  let base: string

  before(async function () {
    await requireTools(this, ['podman', 'mmdebstrap', 'runc'], ' (apt-get install podman mmdebstrap runc)')
    dir = await mkdtemp(join(tmpdir(), 'deploy-ctr-'))
    api = `127.0.0.1:${await freePort()}`
  })

  after(async () => {
    await podman(['rm', '--force', '--time', '0', name])
    await podman(['volume', 'rm', '--force', volume])
    await podman(['rmi', '--force', image])
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('a Debian base from Debian packages (mmdebstrap → podman import, cached by its inputs)', async () => {
    const b = await ensureTestBase()
    base = b.tag
    console.log(`      base ${b.tag}: ${b.built ? 'built' : 'cached'} in ${secs(b.ms)}`)
  })

  it('builds with --build-arg BASE', async () => {
    assert.ok(base, 'the base image step passed')
    // --no-cache: the build itself runs every time; only the base is cached
    const r = await mustPodman(
      [
        'build',
        '--no-cache',
        '--quiet',
        '--network',
        'host',
        '--build-arg',
        `BASE=${base}`,
        '-f',
        join(ROOT, 'deploy', 'Containerfile'),
        '-t',
        image,
        ROOT,
      ],
      { timeoutMs: 900_000 },
    )
    const size = (await mustPodman(['image', 'inspect', '--format', '{{.Size}}', image])).stdout.trim()
    console.log(`      image built in ${secs(r.ms)}, ${(Number(size) / 2 ** 20).toFixed(0)} MiB`)
  })

  it('runs as a non-root user with its data in the volume; put/get from the host; the data survives a restart', async () => {
    await mustPodman(['volume', 'create', volume])
    // the API published on the host's loopback, as docs/DEPLOY.md says; its own network namespace
    const env = { SWARMSTORE_API: '0.0.0.0:5890', ...ALONE }
    const envFlags = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`])
    const t0 = Date.now()
    await mustPodman([
      'run',
      '--detach',
      '--name',
      name,
      '--publish',
      `${api}:5890`,
      ...(await ulimits()),
      '-v',
      `${volume}:/data`,
      ...envFlags,
      image,
    ])
    await waitReady(name)
    console.log(`      container listening after ${secs(Date.now() - t0)}`)
    assert.notEqual((await mustPodman(['exec', name, 'id', '-u'])).stdout.trim(), '0', 'runs as non-root')

    const token = (await mustPodman(['exec', name, 'cat', '/data/token'])).stdout.trim()
    const hostEnv = { ...process.env, SWARMSTORE_TOKEN: token }
    const cid = await putAndGet(dir, ['--api', api], hostEnv)
    const inside = await mustPodman(['exec', name, 'swarmstore', 'stat', cid])
    assert.match(inside.stdout, /chunk/i, 'the CLI inside the image answers too')

    const t1 = Date.now()
    await mustPodman(['stop', '--time', '30', name])
    const exit = (await mustPodman(['inspect', '--format', '{{.State.ExitCode}}', name])).stdout.trim()
    assert.equal(exit, '0', 'SIGTERM from podman stop: clean exit')
    console.log(`      stopped in ${secs(Date.now() - t1)}, exit 0`)
    await mustPodman(['start', name])
    await waitReady(name)
    const again = join(dir, 'again.bin')
    await swarmstore(['--api', api, 'get', cid, '-o', again], hostEnv)
    assert.ok(
      (await readFile(again)).equals(await readFile(join(dir, 'in.bin'))),
      'same bytes after a restart on the volume',
    )
    await mustPodman(['stop', '--time', '30', name])
  })
})

/**
 * podman's default rlimits (nofile 1048576, nproc 4194304) exceed what root may set here (no
 * CAP_SYS_RESOURCE in this VM; nofile hard limit 20000), and runc then refuses to start the
 * container, as does `--ulimit host`. So: this process's own nofile hard limit, and 4096 processes
 * (a daemon runs a few dozen threads).
 */
async function ulimits(): Promise<string[]> {
  const limits = await readFile('/proc/self/limits', 'utf8')
  const nofile = /^Max open files\s+\S+\s+(\d+)/m.exec(limits)?.[1] ?? '65536'
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', 'nproc=4096:4096']
}

/** The image's own readiness check, run inside the container. */
async function waitReady(name: string): Promise<void> {
  const r = await podman(['exec', name, 'node', '/opt/swarmstore/deploy/wait-ready.mjs', '/data', '60'])
  if (r.code !== 0) {
    const logs = await podman(['logs', '--tail', '40', name])
    throw new Error(`container not listening: ${r.stderr}\n${logs.stdout}${logs.stderr}`)
  }
}
