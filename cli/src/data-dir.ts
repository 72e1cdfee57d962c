import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * The data dir a command uses when `--data-dir` is not given. The daemon resolves the same chain, so
 * `swarmstore daemon` and `swarmstore status` with no flags meet in one place.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SWARMSTORE_DATA_DIR) return resolve(env.SWARMSTORE_DATA_DIR)
  if (env.XDG_DATA_HOME) return join(resolve(env.XDG_DATA_HOME), 'swarmstore')
  return join(homedir(), '.local', 'share', 'swarmstore')
}

/** `--data-dir` made absolute, or the default. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag === undefined ? defaultDataDir(env) : resolve(flag)
}

/**
 * The PID of the daemon holding the data dir's lock (`daemon.lock`: PID and start time), or
 * undefined when none runs: no lock, its PID gone, or the PID now another process's (the start
 * time in /proc differs). The daemon's own lock check reads it the same way.
 */
export async function lockHolder(dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, 'daemon.lock'), 'utf8').catch(() => '')
  const [pidText, since] = text.trim().split(' ')
  const pid = Number.parseInt(pidText ?? '', 10)
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined
  }
  if (since === undefined) return pid
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (stat === undefined) return pid
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === since ? pid : undefined
}
