/**
 * bench:swarm — N real daemons on loopback, a file put through node 1's CLI (acknowledged at W,
 * then another put until all R copies), and got back through one extra daemon that holds nothing
 * (--capacity 0), against the ceiling of one libp2p stream measured in the same run. The figures
 * are those of daemons in use: putMBps and getMBps come after each daemon's first large transfer
 * since it started, which is reported too (putColdMBps, getColdMBps): it also pays for the
 * daemon's memory growing to its working set and for JIT.
 *
 *   npm run --silent bench:swarm -- --nodes 5 --size-mib 256 --json
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { TestSwarm } from '../support/swarm.js'
import { measureStreamCeiling } from './stream-ceiling.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5' },
    'size-mib': { type: 'string', default: '256' },
    json: { type: 'boolean', default: false },
  },
})
const nodes = Number(values.nodes)
const sizeMiB = Number(values['size-mib'])
if (!(nodes >= 3 && sizeMiB >= 1)) {
  console.error('usage: bench:swarm -- --nodes N (≥ 3) --size-mib M (≥ 1) [--json]')
  process.exit(2)
}
const bytes = sizeMiB * 1024 * 1024
const log = (s: string) => {
  if (!values.json) console.error(s)
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const piece of createReadStream(file)) h.update(piece)
  return h.digest('hex')
}

async function writeRandom(file: string): Promise<void> {
  const fh = await open(file, 'w')
  for (let i = 0; i < sizeMiB; i++) await fh.write(randomBytes(1 << 20))
  // flushed now, so the disk writeback does not overlap (and slow) the stream ceiling measured next
  await fh.sync()
  await fh.close()
}

function rssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024)
}

/** CPU seconds (user + system) of a process; for the bench itself, of its waited-for children (the CLIs). */
async function cpuSecs(pid: number | 'self'): Promise<number> {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  // fields after "pid (comm) ": state=0 … utime=11 stime=12 cutime=13 cstime=14 (clock ticks, 100 Hz)
  const n = pid === 'self' ? Number(f[13]) + Number(f[14]) : Number(f[11]) + Number(f[12])
  return n / 100
}

async function timed(fn: () => Promise<{ code: number; stderr: string }>, what: string): Promise<number> {
  const t0 = performance.now()
  const r = await fn()
  const secs = (performance.now() - t0) / 1000
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`)
  return secs
}

const swarm = await TestSwarm.create('swarmstore-bench-')
try {
  log(`starting ${nodes} daemons…`)
  const ds = await swarm.start(nodes)
  await new Promise((r) => setTimeout(r, 1000))
  const idle = await Promise.all(ds.map((d) => rssMiB(d.proc!.pid!)))
  const idleRssMiB = Math.max(...idle)
  const gateway = await swarm.add({ capacity: 0, bootstrap: [ds[0]!.multiaddr] })
  await gateway.start()

  const a = join(swarm.root, 'a.bin')
  const b = join(swarm.root, 'b.bin')
  const c = join(swarm.root, 'c.bin')
  log(`writing three ${sizeMiB} MiB random files…`)
  await writeRandom(a)
  await writeRandom(b)
  await writeRandom(c)

  log('stream ceiling…')
  // The best of three: one stream's rate moved between ~170 and ~310 MB/s from run to run here,
  // and a low single reading flattered every ratio.
  const ceilings: number[] = []
  for (let i = 0; i < 3; i++) ceilings.push(await measureStreamCeiling(bytes))
  const streamCeilingMBps = Math.max(...ceilings)

  // Warm-up (not timed): one small put and get, so JIT and connections are as in steady use.
  const warm = join(swarm.root, 'warm.bin')
  await writeFile(warm, randomBytes(8 << 20))
  const w = await ds[0]!.cli(['put', warm, '--wait', 'all', '--json'])
  if (w.code !== 0) throw new Error(`warm-up put failed: ${w.stderr}`)
  await gateway.cli(['get', JSON.parse(w.stdout).cid, '-o', join(swarm.root, 'warm.out')])

  const pids = [...ds, gateway].map((d) => d.proc!.pid!)
  const perProcess: number[][] = []
  const cpuNow = async () => {
    const each = [await cpuSecs('self'), ...(await Promise.all(pids.map((p) => cpuSecs(p))))]
    perProcess.push(each)
    return each.reduce((a, b) => a + b, 0)
  }
  // bytes node 1 (the uploader) sends in chunk puts: its share of the copies of a file
  const pushed = async () => {
    const r = await fetch(`${ds[0]!.url}/metrics`, {
      headers: { authorization: `Bearer ${await ds[0]!.token()}` },
    })
    const line = (await r.text()).split('\n').find((l) => l.startsWith('swarmstore_chunk_bytes_pushed_total'))
    return Number(line?.split(' ').at(-1) ?? 'NaN')
  }
  // Between the phases, let the background work end: the remaining copies of a put acknowledged
  // at W (made by the holders) and every holder's check of its co-holders, so each phase is
  // measured on its own. How long that took is reported (settleSeconds, after the W put).
  const settle = async () => {
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, 2500))
    for (const deadline = Date.now() + 120_000; ; ) {
      const st = await Promise.all(
        ds.map((d) => d.api<{ underReplicated: number; replicating: number }>('/v1/status')),
      )
      if (st.every((s) => s.underReplicated === 0 && s.replicating === 0)) break
      if (Date.now() > deadline)
        throw new Error(`background replication did not settle: ${JSON.stringify(st)}`)
      await new Promise((r) => setTimeout(r, 250))
    }
    return (performance.now() - t0) / 1000
  }

  // The daemons' first large put since they started (putCold*): like a daemon's first large get
  // (below), it also pays for every daemon's memory growing to its working set and for JIT. The
  // figures are those of the swarm in use: the puts after it.
  log('first large put (W acks)…')
  const putColdSecs = await timed(() => ds[0]!.cli(['put', c, '--json'], { timeoutMs: 600_000 }), 'first put')
  await settle()

  const cpu0 = await cpuNow()
  const pushed0 = await pushed()

  log('put (W acks)…')
  let cid = ''
  const putSecs = await timed(async () => {
    const r = await ds[0]!.cli(['put', a, '--json'], { timeoutMs: 600_000 })
    if (r.code === 0) cid = JSON.parse(r.stdout).cid
    return r
  }, 'put')
  const pushed1 = await pushed()
  const settleSecs = await settle()
  const pushed2 = await pushed()
  log('put --wait all…')
  let cidAll = ''
  const putAllSecs = await timed(async () => {
    const r = await ds[0]!.cli(['put', b, '--wait', 'all', '--json'], { timeoutMs: 600_000 })
    if (r.code === 0) cidAll = JSON.parse(r.stdout).cid
    return r
  }, 'put all')
  const pushed3 = await pushed()
  await settle()
  const cpu1 = await cpuNow()

  // Two gets through the capacity-0 daemon, each of a file it has never fetched. The first is
  // that daemon's first large get since it started (getCold*): it also pays for growing its memory
  // to its working set (fresh pages, which this VM backs lazily: ~27% of its main thread in
  // clear_page) and for V8's optimizing compiles of the transfer path (~0.2 CPU-s). The second is
  // the get of a daemon in use (getMBps, getRatio).
  const out = join(swarm.root, 'out.bin')
  const getAndCheck = async (fileCid: string, file: string, what: string) => {
    const secs = await timed(() => gateway.cli(['get', fileCid, '-o', out], { timeoutMs: 600_000 }), what)
    if ((await sha256File(out)) !== (await sha256File(file))) throw new Error(`${what} returned other bytes`)
    await rm(out)
    return secs
  }
  log('get through the capacity-0 daemon (its first large one)…')
  const getColdSecs = await getAndCheck(cidAll, b, 'first get')
  const cpu2 = await cpuNow()
  log('get of the other file through the same daemon…')
  const getSecs = await getAndCheck(cid, a, 'get')
  const cpu3 = await cpuNow()

  if (process.env.BENCH_CPU_DETAIL) {
    // CPU seconds per phase for [CLIs, node 1…N, gateway]
    const d = (i: number) =>
      perProcess[i + 1]!.map((x, j) => Math.round((x - perProcess[i]![j]!) * 100) / 100)
    console.error(JSON.stringify({ putCpu: d(0), getColdCpu: d(1), getCpu: d(2) }))
  }
  const mb = bytes / 1e6
  const r3 = (x: number) => Math.round(x * 1000) / 1000
  const r1 = (x: number) => Math.round(x * 10) / 10
  const result = {
    nodes,
    sizeMiB,
    replicas: 3,
    writeQuorum: 2,
    putMBps: r1(mb / putSecs),
    putAllMBps: r1(mb / putAllSecs),
    getMBps: r1(mb / getSecs),
    streamCeilingMBps: r1(streamCeilingMBps),
    streamCeilingRunsMBps: ceilings.map(r1),
    putRatio: r3(mb / putSecs / streamCeilingMBps),
    putAllRatio: r3(mb / putAllSecs / streamCeilingMBps),
    putColdMBps: r1(mb / putColdSecs),
    putColdRatio: r3(mb / putColdSecs / streamCeilingMBps),
    getRatio: r3(mb / getSecs / streamCeilingMBps),
    getColdMBps: r1(mb / getColdSecs),
    getColdRatio: r3(mb / getColdSecs / streamCeilingMBps),
    idleRssMiB: r1(idleRssMiB),
    settleSeconds: r1(settleSecs),
    // copies of the file's bytes the uploader sent: W put, until acknowledged (the holders make the
    // rest), and --wait all; the uploader holds some chunks itself, so R−1 ≤ all ≤ R
    uploaderCopiesPut: r3((pushed1 - pushed0) / bytes),
    // …and including what node 1 sent afterwards as one of the holders completing the placement
    uploaderCopiesPutSettled: r3((pushed2 - pushed0) / bytes),
    uploaderCopiesPutAll: r3((pushed3 - pushed2) / bytes),
    // CPU of every daemon and CLI per MiB of file: both puts (each to R copies), then the get
    putCpuMsPerMiB: r1(((cpu1 - cpu0) * 1000) / (2 * sizeMiB)),
    getCpuMsPerMiB: r1(((cpu3 - cpu2) * 1000) / sizeMiB),
    getColdCpuMsPerMiB: r1(((cpu2 - cpu1) * 1000) / sizeMiB),
    cpus: 2,
    loadavg1m: r1(loadavg()[0]!),
  }
  if (values.json) console.log(JSON.stringify(result))
  else {
    console.log('| metric | value |\n|---|---|')
    for (const [k, v] of Object.entries(result)) console.log(`| ${k} | ${v} |`)
  }
} finally {
  await swarm.destroy()
}
