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
