#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1 --heap-growing-percent=300
// --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to ~48 MiB, which is most of
// an idle daemon's RSS (108 → 97 MiB measured); chunk buffers live outside the JS heap, so the
// extra scavenges cost little. --v8-pool-size=1: one V8 worker thread instead of one per core
// (an idle daemon in a 5-node swarm: 106–108 → 98 MiB RSS in bench:swarm, throughput unchanged
// within the run-to-run spread). --heap-growing-percent=300: after a full GC the old generation may
// grow to 4x what survived before the next one. The small young generation promotes every buffer
// that lives a few ms (a chunk in a transfer window), and with V8's own growing factor a daemon
// moving data ran a full mark-compact every 100-250 ms: 40% of its CPU was GC (perf, a 256 MiB
// get in a 5-node swarm). With it: get CPU 24-27 -> 14-16 ms per MiB over all processes, same idle
// RSS before data (99 MiB), but ~30-50 MiB more RSS after a burst of transfers (146-193 vs
// 120-156 MiB, 30 s after a 256 MiB put and two gets).
// `npm start` and `swarm --nodes N` start daemons with these flags.
// The swarmstore command. Kept to syntax any Node parses (no top-level await), so an old Node reaches
// the version check and re-runs it with the provisioned Node 22 instead of failing on syntax or a missing API.
import { spawn } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  // An older Node ran us (a symlink on PATH, `node cli/bin/swarmstore.mjs`): re-run with the
  // Node 22 that `npm install` provisioned in the repository, passing signals on, so the command
  // works from any shell. The cost, only on an old Node, is one extra process start (a whole
  // `status` that way took 0.24 s here on a quiet machine).
  const script = realpathSync(fileURLToPath(import.meta.url))
  const repo = join(dirname(script), '..', '..')
  const provisioned = [
    join(repo, 'node_modules', 'node', 'bin', 'node'),
    join(repo, 'node_modules', '.bin', 'node'),
  ]
  const node = provisioned.find((p) => existsSync(p))
  if (node === undefined) {
    console.error(
      `swarmstore needs Node.js >= 22 (libp2p 3 uses Promise.withResolvers); this is ${process.version} at ${process.execPath},\n` +
        `and ${repo} has no provisioned Node 22: run \`npm install\` there first.`,
    )
    process.exit(1)
  }
  const child = spawn(node, [...process.execArgv, script, ...process.argv.slice(2)], { stdio: 'inherit' })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig))
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    } else process.exit(code ?? 1)
  })
} else {
  import('../dist/main.js').then(
    ({ main }) => main(process.argv),
    (err) => {
      console.error(
        `swarmstore is not built (${err.message}); run \`npm run build\` in the repository first.`,
      )
      process.exit(1)
    },
  )
}
