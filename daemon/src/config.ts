import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { assertSwarmName, DEFAULT_SWARM } from '@swarmstore/wire'
import { BadConfigError } from './errors.js'

/** Everything a daemon can be told. Precedence: defaults ← <dataDir>/config.json ← SWARMSTORE_* ← flags. */
export interface DaemonConfig {
  dataDir: string
  listen: string[]
  bootstrap: string[]
  /** control API, HOST:PORT (port 0 = any free port) */
  api: string
  /** HOST:PORT of a token-less, read-only listener serving only GET /metrics; null = none */
  metricsListen: string | null
  swarm: string
  replicas: number
  writeQuorum: number
  /** bytes of disk this node offers; null = no quota; 0 = stores nothing (a gateway) */
  capacity: number | null
  announce: string[]
  chunkSize: number
  /** path to a libp2p pnet swarm key file (private swarm), or null */
  swarmKey: string | null
  logLevel: string
  /** logs on stderr: `json` lines, `pretty` (pino-pretty, for people), `auto` = pretty on a terminal */
  logFormat: 'auto' | 'json' | 'pretty'
  /** seconds between background scrubs (verify every chunk on disk, repair corrupt ones); 0 = off */
  scrubInterval: number
  /** seconds a gap left by a dead member waits before it is re-replicated (false deaths cost nothing) */
  repairGrace: number
  /** bytes per second of repair and handoff traffic this node sends */
  repairRate: number
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SWARMSTORE_DATA_DIR) return env.SWARMSTORE_DATA_DIR
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(base, 'swarmstore')
}

export const DEFAULTS: Omit<DaemonConfig, 'dataDir'> = {
  listen: ['/ip4/0.0.0.0/tcp/4001'],
  bootstrap: [],
  api: '127.0.0.1:5890',
  metricsListen: null,
  swarm: DEFAULT_SWARM,
  replicas: 3,
  writeQuorum: 2,
  capacity: null,
  announce: [],
  chunkSize: 1024 * 1024,
  swarmKey: null,
  logLevel: 'info',
  logFormat: 'auto',
  scrubInterval: 3600,
  repairGrace: 0,
  repairRate: 50 * 1024 * 1024,
}

const KEYS = Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]
const LIST_KEYS = new Set(['listen', 'bootstrap', 'announce'])
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** "10G", "500M", "64K", "123" (bytes; binary multiples). */
export function parseBytes(v: string | number, what: string): number {
  if (typeof v === 'number') return v
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$/i.exec(v.trim())
  if (!m) throw new BadConfigError(`${what}: ${JSON.stringify(v)} is not a size (e.g. 500M, 10G, 0)`)
  const unit = (m[2] ?? 'b').toLowerCase()[0]!
  const mul = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[unit] ?? 1
  return Math.floor(Number(m[1]) * mul)
}

function fromEnv(env: NodeJS.ProcessEnv): Partial<DaemonConfig> {
  const out: Record<string, unknown> = {}
  for (const k of [...KEYS, 'dataDir'] as string[]) {
    const name = `SWARMSTORE_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
    const v = env[name]
    if (v === undefined || v === '') continue
    out[k] = LIST_KEYS.has(k)
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v
  }
  return out as Partial<DaemonConfig>
}

const MULTIADDR_EXAMPLE: Record<string, string> = {
  listen: '/ip4/0.0.0.0/tcp/4001',
  announce: '/ip4/203.0.113.7/tcp/4001',
  bootstrap: '/ip4/192.0.2.10/tcp/4001/p2p/12D3KooW… (from `swarmstore id` on that node)',
}

/** A list entry that does not parse as a multiaddr is refused here, before libp2p sees it. */
function checkMultiaddr(ma: string, what: string, key: string): void {
  try {
    multiaddr(ma)
  } catch (err) {
    throw new BadConfigError(
      `${what}: ${JSON.stringify(ma)} is not a multiaddr (${(err as Error).message}); e.g. ${MULTIADDR_EXAMPLE[key]}`,
    )
  }
}

function intIn(v: unknown, what: string, min: number, max: number): number {
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new BadConfigError(`${what} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`)
  }
  return n
}

function normalise(raw: Record<string, unknown>, source: string): Partial<DaemonConfig> {
  const out: Partial<DaemonConfig> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue
    // a flag is named as it is typed, so the message points at the word on the command line
    const what =
      source === 'flag' ? `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : `${source}: ${k}`
    switch (k) {
      case 'dataDir':
      case 'api':
      case 'swarm':
      case 'logLevel':
        if (typeof v !== 'string' || v === '') throw new BadConfigError(`${what} must be a non-empty string`)
        out[k] = v
        break
      case 'metricsListen':
        if (
          v !== null &&
          (typeof v !== 'string' || !/^[^:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(v))
        ) {
          throw new BadConfigError(`${what} must be HOST:PORT, got ${JSON.stringify(v)}`)
        }
        out.metricsListen = v as string | null
        break
      case 'logFormat':
        if (v !== 'auto' && v !== 'json' && v !== 'pretty')
          throw new BadConfigError(`${what} must be auto, json or pretty, got ${JSON.stringify(v)}`)
        out.logFormat = v
        break
      case 'swarmKey':
        if (v !== null && typeof v !== 'string') throw new BadConfigError(`${what} must be a path`)
        out.swarmKey = v as string | null
        break
      case 'listen':
      case 'bootstrap':
      case 'announce':
        if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
          throw new BadConfigError(`${what} must be a list of multiaddrs`)
        }
        for (const ma of v) checkMultiaddr(ma, what, k)
        out[k] = v as string[]
        break
      case 'replicas':
        out.replicas = intIn(v, what, 1, 16)
        break
      case 'repairGrace':
        out.repairGrace = intIn(v, what, 0, 86400)
        break
      case 'repairRate':
        out.repairRate = intIn(parseBytes(v as string | number, what), what, 64 * 1024, 2 ** 40)
        break
      case 'scrubInterval':
        out.scrubInterval = intIn(v, what, 0, 365 * 86400)
        break
      case 'writeQuorum':
        out.writeQuorum = intIn(v, what, 1, 16)
        break
      case 'chunkSize':
        out.chunkSize = intIn(typeof v === 'string' ? parseBytes(v, what) : v, what, 1024, 8 * 1024 * 1024)
        break
      case 'capacity':
        out.capacity = v === null ? null : intIn(parseBytes(v as string | number, what), what, 0, 2 ** 52)
        break
      default:
        throw new BadConfigError(`${source}: unknown setting ${JSON.stringify(k)}`)
    }
  }
  return out
}

/** Resolves the effective config; every error names where the bad value came from. */
export async function resolveConfig(
  flags: Partial<Record<keyof DaemonConfig, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<DaemonConfig> {
  const flagCfg = normalise(flags as Record<string, unknown>, 'flag')
  const envCfg = normalise(fromEnv(env) as Record<string, unknown>, 'environment')
  const dataDir = flagCfg.dataDir ?? envCfg.dataDir ?? defaultDataDir(env)
  let fileCfg: Partial<DaemonConfig> = {}
  const file = join(dataDir, 'config.json')
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (text !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      throw new BadConfigError(`${file}: not valid JSON (${(err as Error).message})`)
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new BadConfigError(`${file}: must hold a JSON object`)
    }
    fileCfg = normalise(parsed as Record<string, unknown>, file)
  }
  const cfg: DaemonConfig = { ...DEFAULTS, ...fileCfg, ...envCfg, ...flagCfg, dataDir }
  try {
    assertSwarmName(cfg.swarm)
  } catch (err) {
    throw new BadConfigError(`swarm: ${(err as Error).message}`)
  }
  if (cfg.writeQuorum > cfg.replicas) {
    throw new BadConfigError(`writeQuorum (${cfg.writeQuorum}) cannot exceed replicas (${cfg.replicas})`)
  }
  if (!LEVELS.includes(cfg.logLevel)) throw new BadConfigError(`logLevel must be one of ${LEVELS.join(', ')}`)
  if (!/^[^:]+:\d{1,5}$/.test(cfg.api)) throw new BadConfigError(`api must be HOST:PORT, got ${cfg.api}`)
  return cfg
}
