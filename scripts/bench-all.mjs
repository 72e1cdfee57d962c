// npm run bench: every benchmark, one after the other, each with --json; writes the figures as a
// markdown table to bench-results/RESULTS.md and prints it. `--quick` uses smaller sizes.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'

const quick = process.argv.includes('--quick')
const runs = [
  [
    'routing',
    ['--nodes', quick ? '1000' : '10000', '--lookups', '1000', '--seed', '1'],
    [
      'nodes',
      'exactClosestRate',
      'successRate',
      'medianHops',
      'p95Hops',
      'medianMessages',
      'p95Messages',
      'medianLatencyMs',
      'wallSeconds',
      'peakRssMiB',
    ],
  ],
  [
    'storage',
    ['--size-mib', quick ? '256' : '1024'],
    [
      'sizeMiB',
      'putMBps',
      'ceilingPutMBps',
      'putRatio',
      'getMBps',
      'ceilingGetMBps',
      'getRatio',
      'getWarmMBps',
      'peakRssAnonMiB',
    ],
  ],
  [
    'swarm',
    ['--nodes', '5', '--size-mib', quick ? '64' : '256'],
    [
      'nodes',
      'sizeMiB',
      'putMBps',
      'putAllMBps',
      'getMBps',
      'streamCeilingMBps',
      'putRatio',
      'getRatio',
      'getColdMBps',
      'getColdRatio',
      'putColdMBps',
      'putColdRatio',
      'idleRssMiB',
      'uploaderCopiesPut',
      'putCpuMsPerMiB',
      'getCpuMsPerMiB',
    ],
  ],
  [
    'heal',
    ['--nodes', '6', '--size-mib', quick ? '128' : '512'],
    [
      'nodes',
      'sizeMiB',
      'detectSeconds',
      'repairSeconds',
      'repairMBps',
      'repairCopies',
      'heldChunks',
      'falseDeaths',
      'getP99MsBaseline',
      'getP99MsDuringRepair',
      'lostChunks',
    ],
  ],
]
const lines = [
  `Measured ${new Date().toISOString()} on ${cpus().length} cores (load ${loadavg()[0].toFixed(1)} at start).`,
  '',
]
for (const [name, args, fields] of runs) {
  console.error(`bench:${name} ${args.join(' ')} …`)
  const r = spawnSync('npm', ['run', '--silent', `bench:${name}`, '--', ...args, '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  })
  const last = r.stdout.trim().split('\n').pop() ?? ''
  let json
  try {
    json = JSON.parse(last)
  } catch {
    lines.push(
      `### bench:${name}`,
      '',
      `failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`,
      '',
    )
    continue
  }
  lines.push(`### bench:${name} (\`npm run --silent bench:${name} -- ${args.join(' ')} --json\`)`, '')
  lines.push(
    `| ${fields.join(' | ')} |`,
    `|${fields.map(() => '---').join('|')}|`,
    `| ${fields.map((f) => json[f] ?? '—').join(' | ')} |`,
    '',
  )
}
mkdirSync('bench-results', { recursive: true })
writeFileSync('bench-results/RESULTS.md', lines.join('\n') + '\n')
console.log(lines.join('\n'))
