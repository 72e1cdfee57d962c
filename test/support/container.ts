/**
 * podman for the deploy test, as this environment allows it, and the Debian base image it builds
 * from Debian packages (no image registry is reachable here).
 *
 * - Runtime: runc when the host mounts cgroups in hybrid mode (v1 controllers plus a v2
 *   `unified` tree, as this machine does): crun refuses to create any container there ("cgroups in
 *   hybrid mode not supported"), runc handles it.
 * - Network: `--network host` for the build (npm ci reaches the npm registry through the host's
 *   resolver); the daemon runs on podman's default bridge (netavark) with its API port published on
 *   the host's loopback, as docs/DEPLOY.md tells users to.
 * - Storage: podman's default overlay driver on the host's ext4 works as is.
 * - The base trusts what this host trusts: the CA certificates under /usr/local/share/ca-certificates
 *   are copied in (this network intercepts TLS to the npm registry), and NODE_EXTRA_CA_CERTS points
 *   npm's Node at the system bundle. A real user's base (debian:trixie-slim) needs neither.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mustRun, type RunOpts, type RunResult, run } from './run.js'

const SUITE = 'bookworm'
/** nodejs + npm only bootstrap `npm ci`, which provisions Node 22; libstdc++ comes with nodejs */
const PACKAGES = ['nodejs', 'npm', 'ca-certificates']
const LOCAL_CAS = '/usr/local/share/ca-certificates'
const BASE_REPO = 'localhost/swarmstore-test-base'

function globalFlags(): string[] {
  return existsSync('/sys/fs/cgroup/unified') ? ['--runtime', 'runc'] : []
}

export function podman(args: string[], opts: RunOpts = {}): Promise<RunResult> {
  return run('podman', [...globalFlags(), ...args], { timeoutMs: 600_000, ...opts })
}

export function mustPodman(args: string[], opts: RunOpts = {}): Promise<RunResult> {
  return mustRun('podman', [...globalFlags(), ...args], { timeoutMs: 600_000, ...opts })
}

/** The hooks that put this host's extra CA certificates into the base. */
function caHooks(): string[] {
  if (!existsSync(LOCAL_CAS)) return []
  return [
    `--customize-hook=copy-in ${LOCAL_CAS} /usr/local/share`,
    '--customize-hook=chroot "$1" update-ca-certificates >/dev/null',
  ]
}

/** A tag that changes whenever what goes into the base changes. */
async function baseTag(mmdebstrapArgs: string[]): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify(mmdebstrapArgs))
  if (existsSync(LOCAL_CAS)) {
    for (const f of (await readdir(LOCAL_CAS)).sort()) h.update(f).update(await readFile(join(LOCAL_CAS, f)))
  }
  return `${BASE_REPO}:${h.digest('hex').slice(0, 16)}`
}

export interface BaseImage {
  tag: string
  /** false when a base with the same inputs was already imported (the cache) */
  built: boolean
  ms: number
}

/** The Debian base (mmdebstrap → podman import), built once per set of inputs on this machine. */
export async function ensureTestBase(): Promise<BaseImage> {
  const t0 = Date.now()
  const args = ['--quiet', '--variant=minbase', `--include=${PACKAGES.join(',')}`, ...caHooks(), SUITE]
  const tag = await baseTag(args)
  if ((await podman(['image', 'exists', tag])).code === 0) return { tag, built: false, ms: Date.now() - t0 }
  const dir = await mkdtemp(join(tmpdir(), 'deploy-base-'))
  try {
    const tar = join(dir, 'base.tar')
    await mustRun('mmdebstrap', [...args, tar], { timeoutMs: 900_000 })
    await mustPodman([
      'import',
      '--quiet',
      '--change',
      'ENV=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      tar,
      tag,
    ])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return { tag, built: true, ms: Date.now() - t0 }
}
