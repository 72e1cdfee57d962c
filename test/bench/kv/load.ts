/**
 * The loaded phase of bench:kv, in a process of its own (so the benchmark's own work does not
 * share its event loop): `clients` closed-loop clients, each with its own keep-alive agent, each
 * operation on a uniformly random key of `keys` through a uniformly random daemon, half gets and
 * half puts of `valueBytes`. First `warmupMs` of the same load (not timed), then the clients stop
 * and their last operations finish, the daemons' lookup counters are read, and the timed window
 * of `durationMs` runs, again until its last operation finishes, and the counters are read again.
 * Every get is checked (values.ts, register-check.ts).
 *
 * Run by `runLoad` as a child (`load.ts child`), given its `LoadInit` as the first IPC message; it
 * answers one `LoadResult`.
 */
import { fork } from 'node:child_process'
import type { Agent } from 'node:http'
import { type ErrorCounts, noErrors } from './errors.js'
import { call, counterSum, isAbsentKey, keepAliveAgent, kvPath, type Target } from './http-client.js'
import { RegisterCheck } from './register-check.js'
import { p50p95 } from './stats.js'
import { seqOf, valueFor } from './values.js'

export interface LoadInit {
  targets: Target[]
  clients: number
  keys: number
  valueBytes: number
  warmupMs: number
  durationMs: number
  /** a prefix of every key, so that these keys are apart from the other phases' */
  prefix: string
  /** the Prometheus counter of Kademlia lookups */
  lookupCounter: string
}

export interface LoadResult {
  loadedOps: number
  loadedGets: number
  loadedPuts: number
  loadedP50Ms: number | null
  loadedP95Ms: number | null
  loadedGetP50Ms: number | null
  loadedGetP95Ms: number | null
  loadedPutP50Ms: number | null
  loadedPutP95Ms: number | null
  opsPerSecond: number
  windowSeconds: number
  /** gets answered 404 where no write of the key had been acknowledged: right answers */
  loadedNotFound: number
  loadedErrors: ErrorCounts
  warmupOps: number
  warmupErrors: ErrorCounts
  /** what the wrong reads were: other bytes, stale, lost */
  wrongKinds: Record<string, number>
  /** requests sent a second time after a reused keep-alive socket was reset */
  retries: number
  lookupsBefore: number
  lookupsAfter: number
  /** CPU seconds of the load process over the window: near 1 per second means it, not the daemons, was the bound */
  loadCpuSecondsPerSecond: number
  firstErrors: string[]
}

class LoadRun {
  private readonly check = new RegisterCheck()
  private seq = 0
  private stopAt = 0
  recording = false
  readonly getMs: number[] = []
  readonly putMs: number[] = []
  errors = noErrors()
  warmupErrors = noErrors()
  warmupOps = 0
  readonly windowOps = { gets: 0, puts: 0 }
  notFound = 0
  retries = 0
  readonly wrongKinds: Record<string, number> = {}
  readonly firstErrors: string[] = []

  constructor(private readonly init: LoadInit) {}

  /** Runs every client until `ms` from now; resolves when the last operation has finished. */
  async run(ms: number): Promise<void> {
    this.stopAt = performance.now() + ms
    await Promise.all(Array.from({ length: this.init.clients }, () => this.client(keepAliveAgent())))
  }

  private async client(agent: Agent): Promise<void> {
    try {
      while (performance.now() < this.stopAt) await this.op(agent)
    } finally {
      agent.destroy()
    }
  }

  private error(kind: keyof ErrorCounts, detail: string): void {
    ;(this.recording ? this.errors : this.warmupErrors)[kind]++
    if (this.firstErrors.length < 10) this.firstErrors.push(detail)
  }

  private async op(agent: Agent): Promise<void> {
    const { targets, keys, prefix, valueBytes } = this.init
    const target = targets[Math.floor(Math.random() * targets.length)]!
    const key = `${prefix}${Math.floor(Math.random() * keys)}`
    const isGet = Math.random() < 0.5
    const start = performance.now()
    let seq = 0
    if (!isGet) {
      seq = ++this.seq
      this.check.beginWrite(key, seq, start)
    }
    const o = isGet
      ? await call(agent, target, 'GET', kvPath(key))
      : await call(agent, target, 'PUT', kvPath(key), valueFor(key, seq, valueBytes))
    const end = performance.now()
    if (this.recording) this.windowOps[isGet ? 'gets' : 'puts']++
    else this.warmupOps++
    if (o.kind === 'reply' && o.retried) this.retries++
    if (o.kind === 'timeout') this.error('timeouts', `${isGet ? 'get' : 'put'} ${key}: no answer in 2 s`)
    else if (o.kind === 'failed') this.error('failed', `${isGet ? 'get' : 'put'} ${key}: ${o.error}`)
    else if (isGet && isAbsentKey(o)) this.read(key, undefined, start, end)
    else if (o.status < 200 || o.status > 299)
      this.error('non2xx', `${isGet ? 'get' : 'put'} ${key}: ${o.status} ${o.body.subarray(0, 200)}`)
    else if (isGet) this.read(key, seqOf(key, o.body) ?? -1, start, end)
    else this.check.acknowledged(key, seq, end)
    // Timeouts count at 2 s, so that the percentiles are not flattered by leaving them out;
    // failures that answered at once (refused, non-2xx) are errors and are left out.
    const answered = o.kind === 'reply' && ((o.status >= 200 && o.status <= 299) || (isGet && isAbsentKey(o)))
    if (this.recording && (o.kind === 'timeout' || answered))
      (isGet ? this.getMs : this.putMs).push(end - start)
  }

  private read(key: string, seq: number | undefined, start: number, end: number): void {
    const verdict = seq === -1 ? 'other-bytes' : this.check.checkRead(key, seq, start, end)
    if (verdict === 'ok') {
      if (seq === undefined && this.recording) this.notFound++
      return
    }
    this.wrongKinds[verdict] = (this.wrongKinds[verdict] ?? 0) + 1
    this.error('wrong', `get ${key}: ${verdict}${seq !== undefined ? ` (write ${seq})` : ' (404)'}`)
  }
}

async function child(init: LoadInit): Promise<LoadResult> {
  const run = new LoadRun(init)
  await run.run(init.warmupMs)
  const lookupsBefore = await counterSum(init.targets, init.lookupCounter)
  run.recording = true
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await run.run(init.durationMs)
  const windowSeconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  run.recording = false
  const lookupsAfter = await counterSum(init.targets, init.lookupCounter)
  const all = [...run.getMs, ...run.putMs]
  const q = p50p95(all)
  const g = p50p95(run.getMs)
  const p = p50p95(run.putMs)
  const loadedOps = run.windowOps.gets + run.windowOps.puts
  return {
    loadedOps,
    loadedGets: run.windowOps.gets,
    loadedPuts: run.windowOps.puts,
    loadedP50Ms: q.p50,
    loadedP95Ms: q.p95,
    loadedGetP50Ms: g.p50,
    loadedGetP95Ms: g.p95,
    loadedPutP50Ms: p.p50,
    loadedPutP95Ms: p.p95,
    opsPerSecond: Math.round(loadedOps / windowSeconds),
    windowSeconds: Math.round(windowSeconds * 10) / 10,
    loadedNotFound: run.notFound,
    loadedErrors: run.errors,
    warmupOps: run.warmupOps,
    warmupErrors: run.warmupErrors,
    wrongKinds: run.wrongKinds,
    retries: run.retries,
    lookupsBefore,
    lookupsAfter,
    loadCpuSecondsPerSecond: Math.round(((cpu.user + cpu.system) / 1e6 / windowSeconds) * 100) / 100,
    firstErrors: run.firstErrors,
  }
}

/** Runs the loaded phase in a child process and returns what it measured. */
export async function runLoad(init: LoadInit): Promise<LoadResult> {
  // the parent's flags (--conditions=source --import tsx) let the child load this TypeScript file
  const proc = fork(import.meta.filename, ['child'], { execArgv: process.execArgv })
  try {
    const answer = new Promise<LoadResult>((resolve, reject) => {
      proc.once('message', (m) => resolve(m as LoadResult))
      proc.once('exit', (code) => reject(new Error(`load process exited with ${code} before answering`)))
    })
    proc.send(init)
    return await answer
  } finally {
    proc.kill()
  }
}

if (process.argv[2] === 'child') {
  process.once('message', async (init) => {
    process.send!(await child(init as LoadInit), () => process.exit(0))
  })
}
