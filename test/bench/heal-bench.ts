/**
 * bench:heal — N real daemons on loopback hold `--size-mib` MiB (several random files, put through
 * node 1's CLI with --wait all). One daemon (not node 1, not the reader's) is frozen with SIGSTOP:
 * its connections stay open, so only membership probes can tell it is gone. Measured:
 *
 * - detectSeconds: SIGSTOP → every other member shows it `dead` in GET /v1/peers (polled every 100 ms;
 *   a declared-dead member also leaves the routing table, so gone from the list counts as dead too);
 *   detectSecondsFromLogs is the same from the daemons' own "member down" log lines
 * - repairSeconds: that declaration → 0 under-replicated chunks on every live daemon; repairMBps is
 *   the bytes the frozen node held (its status before the freeze) / 1e6 / repairSeconds
 * - get latency: a reader fetches random 1 MiB ranges through another daemon at a fixed rate (20/s),
 *   each verified against the original's sha256 per 1 MiB piece; a baseline before the freeze and
 *   every read overlapping freeze → repaired (topped up with later reads to at least --min-samples)
 * - falseDeaths: (observer, member) pairs where a live, unfrozen member was seen dead (or left, or gone
 *   after having been listed) at any poll, from the swarm's start to the end of the read-back
 * - lostChunks: after repair (and kill -9 of the frozen node), every file read back in full through a
 *   live daemon; 1 MiB pieces that differ or never arrive
 *
 *   npm run --silent bench:heal -- --nodes 6 --size-mib 512 --json
 */
import { createHash, randomBytes } from 'node:crypto'
import { open, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { type TestDaemon, TestSwarm } from '../support/swarm.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '6' },
    'size-mib': { type: 'string', default: '512' },
    files: { type: 'string', default: '8' },
    rate: { type: 'string', default: '20' },
    'min-samples': { type: 'string', default: '600' },
    json: { type: 'boolean', default: false },
    /** write every read as CSV (start and end in ms relative to the freeze, ok, range) for a closer look */
    'samples-csv': { type: 'string' },
  },
})
const nodes = Number(values.nodes)
const sizeMiB = Number(values['size-mib'])
const rate = Number(values.rate)
const minSamples = Number(values['min-samples'])
const fileCount = Math.min(Number(values.files), sizeMiB)
if (
  !(
    Number.isInteger(nodes) &&
    nodes >= 4 &&
    Number.isInteger(sizeMiB) &&
    sizeMiB >= 1 &&
    fileCount >= 1 &&
    rate > 0 &&
    minSamples >= 1
  )
) {
  console.error(
    'usage: bench:heal -- --nodes N (≥ 4) --size-mib M (≥ 1) [--files F] [--rate R/s] [--min-samples S] [--samples-csv FILE] [--json]',
  )
  process.exit(2)
}

const MiB = 1 << 20
const POLL_MS = 100
const WARMUP_MS = 2_000
const HEALED_TIMEOUT_MS = 600_000
const DETECT_TIMEOUT_MS = 120_000
const REPAIR_TIMEOUT_MS = 900_000
const READ_TIMEOUT_MS = 60_000

const log = (s: string) => {
  if (!values.json) console.error(`[${new Date().toISOString().slice(11, 23)}] ${s}`)
}
const now = () => performance.now()

interface Original {
  name: string
  cid: string
  size: number
  /** sha256 (hex) of each 1 MiB piece */
  pieces: string[]
}

interface Sample {
  start: number
  end: number
  ok: boolean
  file: number
  piece: number
}

interface PeerView {
  peerId: string
  state: string
}

const tokens = new Map<TestDaemon, string>()
async function call<T>(d: TestDaemon, path: string, timeoutMs = 5_000, text = false): Promise<T> {
  let token = tokens.get(d)
  if (token === undefined) {
    token = await d.token()
    tokens.set(d, token)
  }
  const r = await fetch(`http://127.0.0.1:${d.apiPort}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  })
  if (!r.ok) throw new Error(`${d.name} ${path}: ${r.status} ${await r.text()}`)
  return (text ? await r.text() : await r.json()) as T
}

/** Polls `cond` until true (returns true) or the timeout passes (returns false). */
async function until(cond: () => boolean | Promise<boolean>, everyMs: number, timeoutMs: number) {
  const deadline = now() + timeoutMs
  for (;;) {
    try {
      if (await cond()) return true
    } catch {
      // a daemon busy or between states: ask again
    }
    if (now() > deadline) return false
    await sleep(everyMs)
  }
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

/** Writes `mib` MiB of random bytes to `file`, returning the sha256 of each 1 MiB piece. */
async function writeRandom(file: string, mib: number): Promise<string[]> {
  const pieces: string[] = []
  const fh = await open(file, 'w')
  try {
    for (let i = 0; i < mib; i++) {
      const b = randomBytes(MiB)
      pieces.push(createHash('sha256').update(b).digest('hex'))
      await fh.write(b)
    }
  } finally {
    await fh.close()
  }
  return pieces
}

/** Reads `f` in full through `via`; returns how many of its 1 MiB pieces differ or never arrived. */
async function lostPieces(via: TestDaemon, f: Original): Promise<number> {
  let piece = 0
  let filled = 0
  let lost = 0
  let h = createHash('sha256')
  try {
    const r = await fetch(`http://127.0.0.1:${via.apiPort}/v1/files/${f.cid}?timeout=30000`, {
      headers: { authorization: `Bearer ${tokens.get(via) ?? (await via.token())}` },
      signal: AbortSignal.timeout(600_000),
    })
    if (!r.ok || !r.body) {
      await r.body?.cancel()
      return f.pieces.length
    }
    for await (const c of r.body) {
      let off = 0
      while (off < c.byteLength) {
        if (piece >= f.pieces.length) return lost + 1 // more bytes than the file has
        const take = Math.min(MiB - filled, c.byteLength - off)
        h.update(c.subarray(off, off + take))
        filled += take
        off += take
        if (filled === MiB) {
          if (h.digest('hex') !== f.pieces[piece]) lost++
          piece++
          filled = 0
          h = createHash('sha256')
        }
      }
    }
  } catch {
    // cut short: every piece not yet complete counts as lost
  }
  return lost + (f.pieces.length - piece)
}

interface RepairStatus {
  underReplicated: number
  /** bytes this node sent to restore or move replicas (newer daemons) */
  repair?: { bytes?: number }
}
const sumRepairBytes = (st: RepairStatus[]): number | null =>
  st.every((s) => typeof s.repair?.bytes === 'number') ? st.reduce((a, s) => a + s.repair!.bytes!, 0) : null

interface RepairCounts {
  total: number
  /** by reason (repair, handoff) */
  byReason: Record<string, number>
  /** by daemon name */
  byNode: Record<string, number>
}

/** swarmstore_repairs_total over `ds`: in all, by reason, and by daemon. */
async function repairsSent(ds: TestDaemon[]): Promise<RepairCounts> {
  const texts = await Promise.all(ds.map((d) => call<string>(d, '/metrics', 5_000, true)))
  const n: RepairCounts = { total: 0, byReason: {}, byNode: {} }
  for (const [i, t] of texts.entries()) {
    const name = ds[i]!.name
    n.byNode[name] = 0
    for (const line of t.split('\n')) {
      const m = /^swarmstore_repairs_total(?:\{reason="([^"]*)"\})? (\S+)$/.exec(line)
      if (!m) continue
      const reason = m[1] ?? 'unlabelled'
      const v = Number(m[2])
      n.byReason[reason] = (n.byReason[reason] ?? 0) + v
      n.byNode[name] = (n.byNode[name] ?? 0) + v
      n.total += v
    }
  }
  return n
}

const swarm = await TestSwarm.create('swarmstore-bench-')
let stopping = false
let victim: TestDaemon | undefined
let result: Record<string, unknown> | undefined
const background: Promise<unknown>[] = []
try {
  log(`starting ${nodes} daemons…`)
  const ds = await swarm.start(nodes)
  const reader = ds[1]!
  const target = ds[nodes - 1]!
  victim = target
  const observers = ds.filter((d) => d !== target)
  const nameOf = new Map(ds.map((d) => [d.peerId, d.name]))
  log(`reader ${reader.name}, victim ${target.name} (${target.peerId.slice(-8)})`)

  // ---- membership watch: every daemon's /v1/peers every 100 ms, for the whole run ----
  // /v1/peers lists the routing table's contacts with their membership state; a member declared
  // dead (or left) is also dropped from the routing table, so "was listed, now is not" counts as dead.
  let frozenAt: number | undefined
  const deadAt = new Map<string, number>() // observer → first poll (after the freeze) showing the victim dead
  const deadVia: Record<string, number> = {} // how the observers first showed it: dead, left or gone
  // `observer>member` → how (dead, left, gone from the list) and in which phase it was first seen
  const falseDeaths = new Map<string, string>()
  let phase = 'put'
  let victimRevived = 0 // an observer saw the (still frozen) victim not dead after having seen it dead
  let peerPollErrors = 0
  const unwatched = new Set<TestDaemon>()
  const watch = async (d: TestDaemon) => {
    const seen = new Set<string>()
    while (!stopping && !unwatched.has(d)) {
      const t = now()
      try {
        const view = await call<PeerView[]>(d, '/v1/peers', 2_000)
        const tr = now()
        const state = new Map(view.map((p) => [p.peerId, p.state]))
        for (const id of new Set([...seen, ...state.keys()])) {
          if (id === d.peerId) continue
          const st = state.get(id) ?? 'gone'
          const down = st === 'dead' || st === 'left' || st === 'gone'
          if (!down) seen.add(id)
          if (id === target.peerId && frozenAt !== undefined && t >= frozenAt) {
            if (down) {
              if (!deadAt.has(d.name)) {
                deadAt.set(d.name, tr)
                deadVia[st] = (deadVia[st] ?? 0) + 1
              }
            } else if (deadAt.has(d.name)) victimRevived++
          } else if (down) {
            const pair = `${d.name}>${nameOf.get(id) ?? id}`
            if (!falseDeaths.has(pair)) {
              falseDeaths.set(pair, `${st} during ${phase}`)
              log(`false death: ${pair} (${st})`)
            }
          }
        }
      } catch {
        if (!unwatched.has(d) && !stopping) peerPollErrors++
      }
      await sleep(Math.max(0, POLL_MS - (now() - t)))
    }
  }
  for (const d of ds) background.push(watch(d))

  // ---- data ----
  const perFile = Array.from(
    { length: fileCount },
    (_, i) => Math.floor(sizeMiB / fileCount) + (i < sizeMiB % fileCount ? 1 : 0),
  )
  log(`putting ${sizeMiB} MiB as ${fileCount} files through ${ds[0]!.name} (--wait all)…`)
  const originals: Original[] = []
  const tPut = now()
  let nextFile = 0
  const putWorker = async () => {
    while (nextFile < fileCount) {
      const i = nextFile++
      const name = join(swarm.root, `heal${i}.bin`)
      const pieces = await writeRandom(name, perFile[i]!)
      const r = await ds[0]!.cli(['put', name, '--json', '--wait', 'all'], { timeoutMs: 900_000 })
      if (r.code !== 0) throw new Error(`put ${name} failed (${r.code}): ${r.stderr}`)
      originals.push({ name, cid: JSON.parse(r.stdout).cid, size: perFile[i]! * MiB, pieces })
      await rm(name) // the pieces' digests are all we compare against
      log(`  put ${i + 1}/${fileCount} (${perFile[i]} MiB)`)
    }
  }
  await Promise.all([putWorker(), putWorker()])
  const putSeconds = (now() - tPut) / 1000

  phase = 'settle'
  log('waiting until under-replicated = 0 on every daemon…')
  const tHeal = now()
  if (
    !(await until(
      async () =>
        (
          await Promise.all(ds.map((d) => call<{ underReplicated: number }>(d, '/v1/status')))
        ).every((s) => s.underReplicated === 0),
      250,
      HEALED_TIMEOUT_MS,
    ))
  )
    throw new Error(`not fully replicated ${HEALED_TIMEOUT_MS / 1000} s after the puts`)
  const settleSeconds = (now() - tHeal) / 1000

  // ---- reader: random 1 MiB ranges at a fixed rate, verified ----
  const samples: Sample[] = []
  const inflight = new Map<number, { start: number; done: Promise<void> }>()
  let readerStop = false
  let readerMaxLagMs = 0
  let readerMaxInflight = 0
  const readerToken = await reader.token()
  const readOne = async (id: number): Promise<void> => {
    const fi = Math.floor(Math.random() * originals.length)
    const f = originals[fi]!
    const k = Math.floor(Math.random() * f.pieces.length)
    const start = now()
    let ok = false
    try {
      const r = await fetch(
        `http://127.0.0.1:${reader.apiPort}/v1/files/${f.cid}?offset=${k * MiB}&length=${MiB}&timeout=30000`,
        { headers: { authorization: `Bearer ${readerToken}` }, signal: AbortSignal.timeout(READ_TIMEOUT_MS) },
      )
      if (r.ok && r.body) {
        const h = createHash('sha256')
        let n = 0
        for await (const c of r.body) {
          h.update(c)
          n += c.byteLength
        }
        ok = n === MiB && h.digest('hex') === f.pieces[k]
      } else await r.body?.cancel()
    } catch {
      ok = false
    }
    samples.push({ start, end: now(), ok, file: fi, piece: k })
    inflight.delete(id)
  }
  const readerLoop = async () => {
    const t0 = now()
    const every = 1000 / rate
    for (let i = 0; !readerStop && !stopping; i++) {
      const wait = t0 + i * every - now()
      if (wait > 0) await sleep(wait)
      else readerMaxLagMs = Math.max(readerMaxLagMs, -wait)
      if (readerStop || stopping) break
      const start = now()
      inflight.set(i, { start, done: readOne(i) })
      readerMaxInflight = Math.max(readerMaxInflight, inflight.size)
    }
  }
  phase = 'baseline'
  const readerStart = now()
  const warmEnd = readerStart + WARMUP_MS
  log(`reading 1 MiB ranges through ${reader.name} at ${rate}/s; baseline of ${minSamples}…`)
  const readerDone = readerLoop()
  background.push(readerDone)
  await until(() => samples.filter((s) => s.start >= warmEnd).length >= minSamples, 100, 3_600_000)

  // ---- the freeze ----
  const before = await call<{ bytes: number; chunks: number }>(target, '/v1/status')
  const repairsBase = await repairsSent(observers)
  const repairBytesBase = sumRepairBytes(
    await Promise.all(observers.map((d) => call<RepairStatus>(d, '/v1/status'))),
  )
  let repairBytesNow = repairBytesBase
  const loadAtFreeze = loadavg()[0]!
  unwatched.add(target) // a frozen daemon answers nothing
  frozenAt = now()
  const frozenEpoch = Date.now()
  target.proc!.kill('SIGSTOP')
  phase = 'detect'
  log(`SIGSTOP ${target.name} (held ${(before.bytes / MiB).toFixed(1)} MiB in ${before.chunks} chunks)`)

  // under-replicated and repair traffic on the live daemons, from the freeze on
  let detectAt: number | undefined
  let repairedAt: number | undefined
  let underPeak = 0
  let firstRepairAt: number | undefined
  let lastRepairAt: number | undefined
  const lastRepairByNode = new Map<string, number>()
  let repairsAtEnd = repairsBase
  let watchRepair = true
  background.push(
    (async () => {
      while (watchRepair && !stopping) {
        const t = now()
        try {
          const st = await Promise.all(observers.map((d) => call<RepairStatus>(d, '/v1/status', 5_000)))
          const sum = st.reduce((a, s) => a + s.underReplicated, 0)
          if (repairedAt === undefined) repairBytesNow = sumRepairBytes(st)
          underPeak = Math.max(underPeak, sum)
          if (sum === 0 && detectAt !== undefined && t >= detectAt && repairedAt === undefined)
            repairedAt = now()
        } catch {
          // busy daemon: next poll
        }
        await sleep(Math.max(0, POLL_MS - (now() - t)))
      }
    })(),
    (async () => {
      while (watchRepair && !stopping) {
        const t = now()
        try {
          const r = await repairsSent(observers)
          if (r.total > repairsAtEnd.total) lastRepairAt = t
          for (const o of observers) {
            if (r.byNode[o.name]! > repairsAtEnd.byNode[o.name]!) lastRepairByNode.set(o.name, t)
          }
          repairsAtEnd = r
          if (repairsAtEnd.total > repairsBase.total && firstRepairAt === undefined) firstRepairAt = t
        } catch {
          // next poll
        }
        await sleep(Math.max(0, 500 - (now() - t)))
      }
    })(),
  )

  const errors: string[] = []
  if (await until(() => observers.every((o) => deadAt.has(o.name)), 20, DETECT_TIMEOUT_MS)) {
    detectAt = Math.max(...deadAt.values())
    phase = 'repair'
    log(`declared dead by all ${observers.length} after ${((detectAt - frozenAt) / 1000).toFixed(2)} s`)
    if (!(await until(() => repairedAt !== undefined, 50, REPAIR_TIMEOUT_MS)))
      errors.push(`not repaired within ${REPAIR_TIMEOUT_MS / 1000} s of the declaration`)
    else log(`repaired ${((repairedAt! - detectAt) / 1000).toFixed(2)} s after the declaration`)
  } else
    errors.push(`not declared dead by all within ${DETECT_TIMEOUT_MS / 1000} s (by ${[...deadAt.keys()]})`)
  const windowEnd = repairedAt ?? now()
  // the daemons' own word: each observer's first "member down" line for the victim after the freeze
  // …and its first "member suspected" line (on its own probe or by gossip), with its local health
  // then: a suspicion waits min × (health + 1) before the member is declared dead
  type VictimLine = { time: number; peer: string; msg: string; localHealth?: number }
  const firstLines = await Promise.all(
    observers.map(async (o) => {
      const first: { down?: VictimLine; suspected?: VictimLine } = {}
      for (const line of (await o.log()).split('\n')) {
        const kind = line.includes('member down')
          ? 'down'
          : line.includes('member suspected')
            ? 'suspected'
            : undefined
        if (kind === undefined || first[kind] !== undefined) continue
        try {
          const e = JSON.parse(line) as VictimLine
          if (e.peer === target.peerId && e.time >= frozenEpoch) first[kind] = e
        } catch {
          // not a JSON log line
        }
      }
      return first
    }),
  )
  const downAt = firstLines.map((f) => f.down?.time)
  const suspectLines = firstLines.map((f) => f.suspected)
  watchRepair = false
  phase = 'after-repair'
  await target.kill('SIGKILL')
  log(`kill -9 ${target.name}`)

  // enough reads overlapping the window (topped up with later ones), and all of the window's finished
  await until(
    () =>
      samples.filter((s) => s.end >= frozenAt!).length >= minSamples &&
      ![...inflight.values()].some((x) => x.start < windowEnd),
    100,
    3_600_000,
  )
  readerStop = true
  await readerDone
  await Promise.all([...inflight.values()].map((x) => x.done))

  const measured = samples.filter((s) => s.start >= warmEnd)
  const baseline = measured.filter((s) => s.end < frozenAt!)
  const inWindow = measured.filter((s) => s.end >= frozenAt! && s.start < windowEnd)
  const later = measured.filter((s) => s.start >= windowEnd).sort((a, b) => a.start - b.start)
  const during = [...inWindow, ...later.slice(0, Math.max(0, minSamples - inWindow.length))]
  const ms = (xs: Sample[]) => xs.map((s) => s.end - s.start)
  if (values['samples-csv']) {
    const rel = (t: number) => (t - frozenAt!).toFixed(1)
    const rows = [...samples].sort((a, b) => a.start - b.start)
    await writeFile(
      values['samples-csv'],
      `start_ms,end_ms,latency_ms,ok,cid,offset\n${rows
        .map(
          (s) =>
            `${rel(s.start)},${rel(s.end)},${(s.end - s.start).toFixed(1)},${s.ok},${originals[s.file]!.cid},${s.piece * MiB}`,
        )
        .join('\n')}\n`,
    )
  }

  // ---- every byte back ----
  phase = 'read-back'
  log(`reading all ${fileCount} files back through ${ds[0]!.name}…`)
  let lostChunks = 0
  for (const f of originals) lostChunks += await lostPieces(ds[0]!, f)

  stopping = true
  await Promise.all(background)

  const r1 = (x: number | null | undefined) =>
    x === null || x === undefined ? null : Math.round(x * 10) / 10
  const r2 = (x: number | null | undefined) =>
    x === null || x === undefined ? null : Math.round(x * 100) / 100
  const detectSeconds = detectAt === undefined ? null : (detectAt - frozenAt) / 1000
  const repairSeconds =
    detectAt === undefined || repairedAt === undefined ? null : (repairedAt - detectAt) / 1000
  const firstDead = deadAt.size ? Math.min(...deadAt.values()) : undefined
  result = {
    nodes,
    sizeMiB,
    files: fileCount,
    replicas: 3,
    victim: target.name,
    reader: reader.name,
    detectSeconds: r2(detectSeconds),
    suspectSecondsByNode: Object.fromEntries(
      observers.map((o, i) => [
        o.name,
        suspectLines[i] ? r2((suspectLines[i]!.time - frozenEpoch) / 1000) : null,
      ]),
    ),
    localHealthAtSuspect: Object.fromEntries(
      observers.map((o, i) => [o.name, suspectLines[i]?.localHealth ?? null]),
    ),
    detectSecondsFromLogs: r2(
      downAt.every((t) => t !== undefined) ? (Math.max(...(downAt as number[])) - frozenEpoch) / 1000 : null,
    ),
    detectVia: deadVia,
    detectFirstSeconds: r2(firstDead === undefined ? null : (firstDead - frozenAt) / 1000),
    repairSeconds: r2(repairSeconds),
    repairMBps: r1(repairSeconds ? before.bytes / 1e6 / repairSeconds : null),
    // from the first repair copy the live daemons counted (metrics, 0.5 s polls) to repaired
    repairFirstCopySeconds: r2(
      firstRepairAt === undefined || detectAt === undefined ? null : (firstRepairAt - detectAt) / 1000,
    ),
    // the last 0.5 s poll in which the copies sent still rose: the rest of repairSeconds is the
    // holders learning that the gaps are filled
    repairLastCopySeconds: r2(
      lastRepairAt === undefined || detectAt === undefined ? null : (lastRepairAt - detectAt) / 1000,
    ),
    repairTransferMBps: r1(
      firstRepairAt !== undefined && repairedAt !== undefined && repairedAt > firstRepairAt
        ? before.bytes / 1e6 / ((repairedAt - firstRepairAt) / 1000)
        : null,
    ),
    repairCopies: repairsAtEnd.total - repairsBase.total,
    repairCopiesByReason: Object.fromEntries(
      Object.entries(repairsAtEnd.byReason).map(([k, v]) => [k, v - (repairsBase.byReason[k] ?? 0)]),
    ),
    // each live daemon's share of the copies, and when (after the declaration) it sent its last
    repairCopiesByNode: Object.fromEntries(
      observers.map((o) => [o.name, repairsAtEnd.byNode[o.name]! - repairsBase.byNode[o.name]!]),
    ),
    repairLastCopyByNodeSeconds: Object.fromEntries(
      [...lastRepairByNode].map(([k, t]) => [k, detectAt === undefined ? null : r2((t - detectAt) / 1000)]),
    ),
    // repair traffic the live daemons sent (status.repair.bytes), against what the frozen node held
    repairSentMiB: r1(
      repairBytesNow === null || repairBytesBase === null ? null : (repairBytesNow - repairBytesBase) / MiB,
    ),
    underReplicatedPeak: underPeak,
    heldMiB: r1(before.bytes / MiB),
    heldChunks: before.chunks,
    falseDeaths: falseDeaths.size,
    falseDeathPairs: [...falseDeaths].sort().map(([pair, how]) => `${pair}: ${how}`),
    victimRevived,
    getSamplesBaseline: baseline.length,
    getSamplesDuringRepair: during.length,
    getSamplesInRepairWindow: inWindow.length,
    getErrorsBaseline: baseline.filter((s) => !s.ok).length,
    getErrorsDuringRepair: during.filter((s) => !s.ok).length,
    getP50MsBaseline: r1(quantile(ms(baseline), 0.5)),
    getP99MsBaseline: r1(quantile(ms(baseline), 0.99)),
    getP50MsDuringRepair: r1(quantile(ms(during), 0.5)),
    getP99MsDuringRepair: r1(quantile(ms(during), 0.99)),
    getMaxMsDuringRepair: r1(quantile(ms(during), 1)),
    readerMaxLagMs: r1(readerMaxLagMs),
    readerMaxInflight,
    lostChunks,
    putSeconds: r1(putSeconds),
    settleSeconds: r1(settleSeconds),
    peerPollErrors,
    errors,
    cpus: availableParallelism(),
    loadavg1mAtFreeze: r1(loadAtFreeze),
    loadavg1m: r1(loadavg()[0]!),
  }
} finally {
  stopping = true
  if (victim?.proc && victim.proc.exitCode === null && victim.proc.signalCode === null)
    victim.proc.kill('SIGKILL')
  await Promise.allSettled(background)
  // swarm.destroy() says "kept <dir>" on stdout under KEEP_TEST_DIRS: keep stdout to the one result
  const out = console.log
  console.log = (...a: unknown[]) => console.error(...a)
  try {
    await swarm.destroy()
  } finally {
    console.log = out
  }
}
if (result) {
  if (values.json) console.log(JSON.stringify(result))
  else {
    console.log('| metric | value |\n|---|---|')
    for (const [k, v] of Object.entries(result))
      console.log(
        `| ${k} | ${Array.isArray(v) ? v.join(', ') || '–' : typeof v === 'object' && v !== null ? JSON.stringify(v) : v} |`,
      )
  }
}
