/**
 * bench:kv — the key-value routes of N real daemons on loopback (issue 21), every operation on the
 * production path (the control API of a daemon, its KV engine, the owning group over libp2p):
 *
 *   1. sequential: `--ops` keys put, read back through another daemon, `--cas-ops` of them cas'd
 *      (kv/sequential.ts);
 *   2. loaded: one separate load process, `--clients` keep-alive clients for `--duration` s after
 *      `--warmup` s, half gets, half puts on `--keys` keys, every get checked (kv/load.ts);
 *   3. small files of the same size through the file routes (kv/small-files.ts);
 *   4. the spread of the key-value ranges over the daemons (kv/spread.ts);
 *   then, the daemons stopped, the same size of puts and gets on `--nodes` `@libp2p/kad-dht` nodes
 *   in one process, for comparison (kv/kad-compare.ts; `--no-kad` skips it).
 *
 *   npm run --silent bench:kv -- --nodes 20 --ops 500 --json
 */
import { createHash } from 'node:crypto'
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { TestSwarm } from '../support/swarm.js'
import { cpuMeter } from './kv/cpu.js'
import { type ErrorCounts, errorTotal } from './kv/errors.js'
import { call, counterSum, keepAliveAgent, type Target } from './kv/http-client.js'
import { type KadResult, measureKad } from './kv/kad-compare.js'
import { runLoad } from './kv/load.js'
import { runSequential } from './kv/sequential.js'
import { runSmallFiles } from './kv/small-files.js'
import { type GroupsView, type Spread, spreadOf, withOwnCounts } from './kv/spread.js'
import { startInBatches } from './kv/start.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    ops: { type: 'string', default: '500' },
    'cas-ops': { type: 'string', default: '100' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    clients: { type: 'string', default: '32' },
    keys: { type: 'string', default: '10000' },
    'file-ops': { type: 'string', default: '100' },
    'kad-ops': { type: 'string', default: '100' },
    'no-kad': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
})
const num = (k: keyof typeof values) => Number(values[k])
const nodes = num('nodes')
const opts = {
  ops: num('ops'),
  casOps: num('cas-ops'),
  durationMs: num('duration') * 1000,
  warmupMs: num('warmup') * 1000,
  clients: num('clients'),
  keys: num('keys'),
  fileOps: num('file-ops'),
  kadOps: num('kad-ops'),
}
if (!(nodes >= 2 && Object.values(opts).every((x) => Number.isFinite(x) && x >= 0) && opts.clients >= 1)) {
  console.error(
    'usage: bench:kv -- [--nodes 20] [--ops 500] [--cas-ops 100] [--duration 20] [--warmup 5] [--clients 32]\n' +
      '                   [--keys 10000] [--file-ops 100] [--kad-ops 100] [--no-kad] [--json]',
  )
  process.exit(2)
}
const VALUE_BYTES = 1024
/** The daemons' Kademlia lookup counter (daemon/src/metrics.ts). */
const LOOKUPS = 'swarmstore_lookups_total'
const log = (s: string) => {
  if (!values.json) console.error(s)
}
const r2 = (x: number) => Math.round(x * 100) / 100

async function groupsOf(target: Target): Promise<GroupsView | { status: number; body: string }> {
  const agent = keepAliveAgent()
  try {
    const o = await call(agent, target, 'GET', '/v1/kv/groups', undefined, 10_000)
    if (o.kind !== 'reply') return { status: 0, body: o.kind }
    if (o.status !== 200) return { status: o.status, body: o.body.toString('utf8').slice(0, 200) }
    return JSON.parse(o.body.toString('utf8')) as GroupsView
  } finally {
    agent.destroy()
  }
}

/**
 * Until the ring has settled: every daemon's view the same (each range's epoch and members), every
 * range at its full membership, and nothing changed since the previous look 2 s before. Ranges move
 * onto their targets after the daemons start, and an operation on a range in the middle of a move
 * waits for it. Looked at every 2 s: each view is a JSON document of 4,096 ranges. Gives up after
 * 300 s (reported). A route that does not exist (404) will not appear by waiting: reported at once.
 */
async function waitKvSettled(targets: Target[]): Promise<string | undefined> {
  const deadline = Date.now() + 300_000
  let previous = ''
  for (;;) {
    const views = await Promise.all(targets.map(groupsOf))
    const bad = views.find((v) => 'status' in v)
    if (bad && 'status' in bad && bad.status === 404) return `GET /v1/kv/groups: 404 ${bad.body}`
    const prints = views.map((v) =>
      'status' in v
        ? `unanswered ${v.status}`
        : v.ranges.some((r) => r.members.length < Math.min(v.replicas, nodes))
          ? 'incomplete'
          : createHash('sha256')
              .update(JSON.stringify(v.ranges.map((r) => [r.range, r.epoch, r.members])))
              .digest('hex'),
    )
    const agreed = prints.every((p) => p === prints[0]) && prints[0]!.length === 64
    if (agreed && prints[0] === previous) return undefined
    previous = agreed ? prints[0]! : ''
    if (Date.now() > deadline) {
      const incomplete = prints.filter((p) => p.length !== 64).length
      return `after 300 s the ring had not settled (${incomplete} daemons with incomplete or no groups, ${new Set(prints).size} distinct views)`
    }
    await new Promise((r) => setTimeout(r, 2000))
  }
}

const t0 = performance.now()
const swarm = await TestSwarm.create('swarmstore-kv-bench-')
let output: Record<string, unknown>
let destroyed = false
try {
  log(`starting ${nodes} daemons…`)
  const daemons = await startInBatches(swarm, nodes)
  const targets: Target[] = await Promise.all(
    daemons.map(async (d) => ({ url: d.url, token: await d.token() })),
  )
  const notReady = await waitKvSettled(targets)
  const startSeconds = (performance.now() - t0) / 1000
  if (notReady) log(`key-value ring not settled: ${notReady} (measuring anyway)`)

  log(`sequential: ${opts.ops} puts, ${opts.ops} gets through other daemons, ${opts.casOps} cas…`)
  const pids = daemons.map((d) => d.proc!.pid!)
  const lookups0 = await counterSum(targets, LOOKUPS)
  const seqCpu = await cpuMeter(pids)
  const warmupPairs = Math.min(20, opts.ops)
  const seq = await runSequential({
    targets,
    ops: opts.ops,
    casOps: opts.casOps,
    valueBytes: VALUE_BYTES,
    warmupOps: warmupPairs,
    prefix: 'seq-',
  })
  const cpuSequential = await seqCpu()
  const lookups1 = await counterSum(targets, LOOKUPS)
  // each warm-up pair and each key is a put and a get; each cas, a cas and a get
  const seqOps = 2 * (warmupPairs + opts.ops + seq.casOps)

  // What the daemons look up on their own (routing refresh, membership), for reading lookupsPerOp.
  const idleSecs = 3
  const idleCpu = await cpuMeter(pids)
  await new Promise((r) => setTimeout(r, idleSecs * 1000))
  const cpuIdle = await idleCpu()
  const lookups2 = await counterSum(targets, LOOKUPS)

  log(
    `loaded: ${opts.clients} clients, ${opts.keys} keys, ${opts.warmupMs / 1000} s warm-up + ${opts.durationMs / 1000} s…`,
  )
  const loadCpu = await cpuMeter(pids)
  const load = await runLoad({
    targets,
    clients: opts.clients,
    keys: opts.keys,
    valueBytes: VALUE_BYTES,
    warmupMs: opts.warmupMs,
    durationMs: opts.durationMs,
    prefix: 'load-',
    lookupCounter: LOOKUPS,
  })
  const cpuLoaded = await loadCpu()

  log(`small files: ${opts.fileOps} puts and gets of ${VALUE_BYTES} B…`)
  const lookups3 = await counterSum(targets, LOOKUPS)
  const files = await runSmallFiles({ targets, ops: opts.fileOps, bytes: VALUE_BYTES })
  // the file routes do look up (chunk placement): a check that the counter moves at all
  const lookups4 = await counterSum(targets, LOOKUPS)

  const views = await Promise.all(targets.map(groupsOf))
  const answered = views.flatMap((view, i) =>
    'status' in view ? [] : [{ peerId: daemons[i]!.peerId, view }],
  )
  const spread: Spread | undefined =
    answered.length === 0
      ? undefined
      : spreadOf(
          withOwnCounts(answered),
          daemons.map((d) => d.peerId),
        )
  await swarm.destroy() // the comparison below gets the machine to itself
  destroyed = true

  let kad: KadResult | undefined
  if (!values['no-kad'])
    kad = await measureKad({ nodes, ops: opts.kadOps, valueBytes: VALUE_BYTES, warmupOps: warmupPairs, log })

  const sum = (...es: ErrorCounts[]): ErrorCounts => ({
    non2xx: es.reduce((a, e) => a + e.non2xx, 0),
    timeouts: es.reduce((a, e) => a + e.timeouts, 0),
    failed: es.reduce((a, e) => a + e.failed, 0),
    wrong: es.reduce((a, e) => a + e.wrong, 0),
  })
  const byKind = sum(seq.errors.counts, load.loadedErrors, load.warmupErrors, files.errors.counts)
  const loadedLookups = load.lookupsAfter - load.lookupsBefore
  output = {
    nodes,
    ops: opts.ops,
    valueBytes: VALUE_BYTES,
    putP50Ms: seq.putP50Ms,
    putP95Ms: seq.putP95Ms,
    getP50Ms: seq.getP50Ms,
    getP95Ms: seq.getP95Ms,
    casP50Ms: seq.casP50Ms,
    casP95Ms: seq.casP95Ms,
    casOps: seq.casOps,
    loadedP50Ms: load.loadedP50Ms,
    loadedP95Ms: load.loadedP95Ms,
    loadedGetP50Ms: load.loadedGetP50Ms,
    loadedGetP95Ms: load.loadedGetP95Ms,
    loadedPutP50Ms: load.loadedPutP50Ms,
    loadedPutP95Ms: load.loadedPutP95Ms,
    opsPerSecond: load.opsPerSecond,
    loadedOps: load.loadedOps,
    loadedGets: load.loadedGets,
    loadedPuts: load.loadedPuts,
    loadedNotFound: load.loadedNotFound,
    windowSeconds: load.windowSeconds,
    warmupOps: load.warmupOps,
    lookupsPerOp: load.loadedOps ? r2(loadedLookups / load.loadedOps) : null,
    sequentialLookupsPerOp: r2((lookups1 - lookups0) / seqOps),
    idleLookupsPerSecond: r2((lookups2 - lookups1) / idleSecs),
    smallFileLookupsPerOp: opts.fileOps ? r2((lookups4 - lookups3) / (2 * opts.fileOps)) : null,
    smallFilePutP50Ms: files.smallFilePutP50Ms,
    smallFilePutP95Ms: files.smallFilePutP95Ms,
    smallFileGetP50Ms: files.smallFileGetP50Ms,
    smallFileGetP95Ms: files.smallFileGetP95Ms,
    ...(kad ?? { kadPutP50Ms: null, kadGetP50Ms: null }),
    errors: errorTotal(byKind),
    errorsByPhase: {
      sequential: errorTotal(seq.errors.counts),
      loadedWarmup: errorTotal(load.warmupErrors),
      loaded: errorTotal(load.loadedErrors),
      smallFiles: errorTotal(files.errors.counts),
    },
    errorsByKind: byKind,
    wrongReads: load.wrongKinds,
    keepAliveRetries: load.retries,
    ...(spread ?? { rangeSpread: null, keySpread: null }),
    kvReady: notReady === undefined,
    startSeconds: Math.round(startSeconds),
    clients: opts.clients,
    keys: opts.keys,
    durationSeconds: opts.durationMs / 1000,
    warmupSeconds: opts.warmupMs / 1000,
    loadCpuSecondsPerSecond: load.loadCpuSecondsPerSecond,
    // cores in use: all daemons together, and the whole machine (others' processes included)
    daemonCoresSequential: cpuSequential.daemons,
    daemonCoresIdle: cpuIdle.daemons,
    daemonCoresLoaded: cpuLoaded.daemons,
    machineCoresSequential: cpuSequential.machine,
    machineCoresIdle: cpuIdle.machine,
    machineCoresLoaded: cpuLoaded.machine,
    cpus: availableParallelism(),
    loadavg1m: Math.round(loadavg()[0]! * 10) / 10,
    runSeconds: Math.round((performance.now() - t0) / 1000),
    firstErrors: [...seq.errors.first, ...load.firstErrors, ...files.errors.first].slice(0, 10),
  }
} finally {
  if (!destroyed) await swarm.destroy()
}

if (values.json) console.log(JSON.stringify(output))
else {
  console.log('| metric | value |\n|---|---|')
  for (const [k, v] of Object.entries(output)) {
    const shown = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)
    console.log(`| ${k} | ${shown} |`)
  }
}
