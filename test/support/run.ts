/** Runs a command to completion with a time bound; the outcome, never a throw for a nonzero exit. */
import { execFile } from 'node:child_process'

export interface RunResult {
  code: number
  stdout: string
  stderr: string
  ms: number
}

export interface RunOpts {
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
  input?: string | Buffer
}

export function run(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const t0 = Date.now()
  return new Promise((res) => {
    const p = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
        const killed = err?.killed ? `\n(killed after ${opts.timeoutMs ?? 120_000} ms)` : ''
        res({ code, stdout, stderr: stderr + killed, ms: Date.now() - t0 })
      },
    )
    if (opts.input !== undefined) p.stdin?.end(opts.input)
  })
}

/** Runs it and throws with its output unless it exits 0. */
export async function mustRun(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) {
    throw new Error(`\`${cmd} ${args.join(' ')}\` exited ${r.code}:\n${(r.stderr || r.stdout).slice(-4000)}`)
  }
  return r
}

/** Where `name` is on PATH, or undefined. */
export async function which(name: string, path = process.env.PATH): Promise<string | undefined> {
  const r = await run('sh', ['-c', 'command -v "$1"', 'sh', name], { env: { ...process.env, PATH: path } })
  return r.code === 0 ? r.stdout.trim() : undefined
}

/**
 * Tools this test cannot run without. Missing ones skip the test on a developer's machine and fail it
 * under CI (`CI=true`), where .ci/run installs them.
 */
export async function requireTools(ctx: Mocha.Context, names: string[], why = ''): Promise<void> {
  const missing: string[] = []
  for (const n of names) if ((await which(n)) === undefined) missing.push(n)
  if (process.getuid?.() !== 0) missing.push('root (uid 0)')
  if (missing.length === 0) return
  const msg = `missing ${missing.join(', ')}${why}`
  if (process.env.CI === 'true')
    throw new Error(`${msg} (CI=true: a missing tool is a failure; .ci/run installs them)`)
  console.log(`      skipping: ${msg}`)
  ctx.skip()
}
