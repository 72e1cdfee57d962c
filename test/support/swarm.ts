/**
 * Real daemons as child processes on loopback, driven through the real CLI. No mocks: each daemon
 * is `swarmstore daemon` in its own process with its own data dir, ports and disk.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const BIN = join(ROOT, 'cli', 'bin', 'swarmstore.mjs')

const handedOut = new Set<number>()

function tryBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer()
    s.once('error', () => res(false))
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)))
  })
}

/**
 * A free TCP port on loopback for a daemon to listen on. Taken below Linux's ephemeral range
 * (32768+): a port the kernel handed out for bind(0) can be handed out again at once to some
 * outgoing connection, and a daemon starting a moment later then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (handedOut.has(port)) continue
    if (await tryBind(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error('no free port found in 20000-31999')
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the real CLI (`swarmstore …`) with the Node that runs the tests (≥ 22). */
export function cli(
  args: string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((res) => {
    const p = execFile(
      process.execPath,
      [BIN, ...args],
      {
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'utf8',
        env: { ...process.env, ...opts.env },
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0
        res({ code, stdout, stderr })
      },
    )
    if (opts.input !== undefined) p.stdin?.end(opts.input)
  })
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v as T
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface DaemonOpts {
  swarm?: string
  replicas?: number
  writeQuorum?: number
  capacity?: number
  bootstrap?: string[]
  extra?: string[]
}

export class TestDaemon {
  proc: ChildProcess | undefined
  peerId = ''
  exited: Promise<number | null> | undefined
  private logFile: string

  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    readonly apiPort: number,
    public opts: DaemonOpts,
  ) {
    this.logFile = join(dataDir, '..', `${name}.log`)
  }

  /** The control API's base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.apiPort}`
  }

  get multiaddr(): string {
    return `/ip4/127.0.0.1/tcp/${this.port}/p2p/${this.peerId}`
  }

  args(): string[] {
    const o = this.opts
    return [
      'daemon',
      '--data-dir',
      this.dataDir,
      '--listen',
      `/ip4/127.0.0.1/tcp/${this.port}`,
      '--api',
      `127.0.0.1:${this.apiPort}`,
      ...(o.swarm ? ['--swarm', o.swarm] : []),
      ...(o.replicas ? ['--replicas', String(o.replicas)] : []),
      ...(o.writeQuorum ? ['--write-quorum', String(o.writeQuorum)] : []),
      ...(o.capacity !== undefined ? ['--capacity', String(o.capacity)] : []),
      ...(o.bootstrap ?? []).flatMap((b) => ['--bootstrap', b]),
      ...(o.extra ?? []),
    ]
  }

  /** Spawns the daemon and waits until its control API answers /health. */
  async start(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' })
    // The bin itself (its shebang's node flags apply, as for a user); npm puts Node 22 first on PATH.
    const proc = spawn(BIN, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] })
    proc.stdout.pipe(log)
    proc.stderr.pipe(log)
    this.proc = proc
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)))
    await waitFor(`${this.name} /health`, async () => {
      if (proc.exitCode !== null)
        throw new Error(`${this.name} exited with ${proc.exitCode}: ${await this.log()}`)
      const r = await fetch(`${this.url}/health`).catch(() => undefined)
      return r?.ok
    })
    this.peerId = (await this.api<{ peerId: string }>('/v1/id')).peerId
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '')
  }

  async token(): Promise<string> {
    return (await readFile(join(this.dataDir, 'token'), 'utf8')).trim()
  }

  async api<T>(path: string): Promise<T> {
    const r = await fetch(`${this.url}${path}`, {
      headers: { authorization: `Bearer ${await this.token()}` },
    })
    if (!r.ok) throw new Error(`${this.name} ${path}: ${r.status} ${await r.text()}`)
    return (await r.json()) as T
  }

  status(): Promise<Status> {
    return this.api<Status>('/v1/status')
  }

  /** The CLI pointed at this daemon's data dir. */
  cli(args: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
    return cli([...args, '--data-dir', this.dataDir], opts)
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return
    this.proc.kill(signal)
    await this.exited
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return
    this.proc.kill('SIGTERM')
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(t)
  }
}

export interface Status {
  peerId: string
  ready: boolean
  peers: number
  chunks: number
  bytes: number
  replicas: number
  underReplicated: number
}

export class TestSwarm {
  readonly daemons: TestDaemon[] = []
  private count = 0
  private constructor(readonly root: string) {}

  static async create(prefix = 'swarmstore-test-'): Promise<TestSwarm> {
    return new TestSwarm(await mkdtemp(join(tmpdir(), prefix)))
  }

  /** Adds a daemon (not started). */
  async add(opts: DaemonOpts = {}): Promise<TestDaemon> {
    const i = ++this.count // reserved before any await: concurrent adds get distinct names
    const [port, apiPort] = [await freePort(), await freePort()]
    const d = new TestDaemon(`node${i}`, join(this.root, `node${i}`), port, apiPort, opts)
    this.daemons.push(d)
    return d
  }

  /** n daemons: the first alone, the others bootstrapping from it; waits until all are ready. */
  async start(n: number, opts: DaemonOpts = {}): Promise<TestDaemon[]> {
    const first = await this.add(opts)
    await first.start()
    const rest = await Promise.all(
      Array.from({ length: n - 1 }, () => this.add({ ...opts, bootstrap: [first.multiaddr] })),
    )
    await Promise.all(rest.map((d) => d.start()))
    const all = [first, ...rest]
    await waitFor('every daemon ready and knowing all others', async () => {
      const st = await Promise.all(all.map((d) => d.status()))
      return st.every((s) => s.ready && s.peers >= n - 1)
    })
    return all
  }

  async stop(): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.stop()))
  }

  async destroy(): Promise<void> {
    await this.stop()
    if (process.env.KEEP_TEST_DIRS) console.error(`kept ${this.root}`)
    else await rm(this.root, { recursive: true, force: true })
  }
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex')
}

/**
 * Registers mocha hooks that start `n` joined daemons before the suite and destroy them after;
 * the returned object is filled in by the time the tests run.
 */
export function useSwarm(n: number, opts: DaemonOpts = {}): { swarm: TestSwarm; nodes: TestDaemon[] } {
  const ctx = {} as { swarm: TestSwarm; nodes: TestDaemon[] }
  before(async () => {
    ctx.swarm = await TestSwarm.create()
    ctx.nodes = await ctx.swarm.start(n, opts)
  })
  after(async () => {
    for (const d of ctx.swarm?.daemons ?? []) d.proc?.kill('SIGCONT') // a test may have frozen one
    await ctx.swarm?.destroy()
  })
  return ctx
}
