/**
 * Daemons on "real hosts": each in its own network namespace with its own address on one L2 segment,
 * every host's egress delayed and lossy. The test process stays in the root namespace and reaches each
 * daemon's control API over that segment (the root namespace has an address on it too).
 *
 * Two ways to build the segment, both with the same addressing (SUBNET.1..n hosts, SUBNET.254 root):
 * - `netem`: a veth pair per host, enslaved to a bridge in the root namespace, and
 *   `tc qdisc … netem delay D loss L` on the host's interface; a cut downs the bridge side of the veth.
 * - `userspace`: for kernels built without sch_netem (`tc` answers "Specified qdisc kind is unknown"):
 *   a tap device per host and one in the root namespace, switched by a small python3 process that
 *   delays and drops each frame a host sends by the same rule netem applies (D ms, L % per packet,
 *   order kept) and drops everything to and from a cut host.
 * `auto` (default) picks netem when the kernel has it; SWARMSTORE_NETNS_IMPAIR=netem|userspace forces one.
 *
 * Names start with `ss<pid>` so a crashed earlier run never collides; leftovers of dead pids are removed
 * (namespaces, links, and the processes still inside those namespaces) before a lab is built.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lostFiles, type PutFile } from './files.js'
import { BIN, type DaemonOpts, TestDaemon, waitFor } from './swarm.js'

export type Impairment = 'netem' | 'userspace'

const PREFIX = `ss${process.pid}`
const LISTEN_PORT = 4001
const API_PORT = 5890

interface Run {
  code: number
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((res) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0
      res({ code, stdout, stderr: stderr || (err && code === 1 ? String(err.message) : '') })
    })
  })
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`)
  return r.stdout
}

const ip = (...args: string[]) => must('ip', args)
const ipLine = (line: string) => must('ip', line.split(' '))

/** Why this machine cannot run the lab (not root, no `ip netns`, no `tc`, no way to impair), or the mode. */
export async function probeNetns(): Promise<{ mode: Impairment } | { skip: string }> {
  if (process.getuid?.() !== 0)
    return { skip: `needs root for network namespaces (uid ${process.getuid?.()})` }
  for (const [cmd, args] of [
    ['ip', ['netns', 'list']],
    ['tc', ['-V']],
  ] as const) {
    const r = await run(cmd, [...args])
    if (r.code !== 0)
      return { skip: `\`${cmd} ${args.join(' ')}\` unavailable: ${r.stderr.trim() || `exit ${r.code}`}` }
  }
  const want = process.env.SWARMSTORE_NETNS_IMPAIR ?? 'auto'
  if (!['auto', 'netem', 'userspace'].includes(want))
    return { skip: `SWARMSTORE_NETNS_IMPAIR=${want}: expected auto, netem or userspace` }
  const stale = await removeStale()
  if (stale.length > 0) console.log(`      removed leftovers of earlier runs: ${stale.join(' ')}`)
  const probe = `${PREFIX}-probe`
  const add = await run('ip', ['netns', 'add', probe])
  if (add.code !== 0) return { skip: `\`ip netns add\` failed: ${add.stderr.trim()}` }
  let netem: Run
  try {
    netem = await run('ip', `netns exec ${probe} tc qdisc add dev lo root netem delay 1ms`.split(' '))
  } finally {
    await run('ip', ['netns', 'del', probe])
  }
  if (netem.code === 0 && want !== 'userspace') return { mode: 'netem' }
  const noNetem = `tc netem unavailable (${netem.stderr.trim() || `exit ${netem.code}`}; kernel without sch_netem?)`
  if (want === 'netem') return { skip: noNetem }
  const py = await run('python3', ['-c', 'import ctypes, fcntl, selectors'])
  if (py.code !== 0 || !existsSync('/dev/net/tun'))
    return { skip: `${noNetem}, and no python3 + /dev/net/tun for the userspace impairment` }
  return { mode: 'userspace' }
}

const pidAlive = (pid: number) => existsSync(`/proc/${pid}`)

/** Removes namespaces and links named `ss<pid>…` of runs whose process is gone (and kills what they left inside). */
export async function removeStale(): Promise<string[]> {
  const removed: string[] = []
  const stale = (name: string, re: RegExp) => {
    const m = re.exec(name)
    return m !== null && (Number(m[1]) === process.pid || !pidAlive(Number(m[1])))
  }
  const nsList = (await run('ip', ['netns', 'list'])).stdout
  for (const line of nsList.split('\n')) {
    const ns = line.split(' ')[0] ?? ''
    if (!stale(ns, /^ss(\d+)-(?:h\d+|probe)$/)) continue
    const pids = (await run('ip', ['netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean)
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL')
      } catch {}
    }
    await run('ip', ['netns', 'del', ns])
    removed.push(ns)
  }
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout
  for (const line of links.split('\n')) {
    const name = /^\d+: ([^:@]+)[:@]/.exec(line)?.[1] ?? ''
    if (!stale(name, /^ss(\d+)(?:br|v\d+|p\d+)$/)) continue
    await run('ip', ['link', 'del', name])
    removed.push(name)
  }
  return removed
}

/**
 * The userspace switch (see the file comment). argv[1]: {"ports":[{"ns","ifname","delayMs","lossPct"}]},
 * ns null = the root namespace. Prints "ready" once every tap exists; then reads "cut N" / "heal N"
 * (N = port index) on stdin and answers "ok N". Exits when stdin closes, taking its taps with it.
 */
const SWITCH_PY = String.raw`
import ctypes, fcntl, heapq, json, os, random, selectors, struct, sys, time
cfg = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
home = os.open('/proc/self/ns/net', os.O_RDONLY)
def setns(fd):
    if libc.setns(fd, 0x40000000) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
ports = []
for p in cfg['ports']:
    if p['ns']:
        nfd = os.open('/var/run/netns/' + p['ns'], os.O_RDONLY)
        setns(nfd)
        os.close(nfd)
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, 0x400454CA, struct.pack('16sH', p['ifname'].encode(), 0x0002 | 0x1000))  # TUNSETIFF, IFF_TAP|IFF_NO_PI
    if p['ns']:
        setns(home)
    ports.append({'fd': fd, 'delay': p['delayMs'] / 1000.0, 'loss': p['lossPct'] / 100.0, 'cut': False})
sel = selectors.DefaultSelector()
for i, p in enumerate(ports):
    sel.register(p['fd'], selectors.EVENT_READ, i)
sel.register(0, selectors.EVENT_READ, -1)
macs = {}
queue = []
seq = 0
pending = b''
print('ready', flush=True)
while True:
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, t, frame = heapq.heappop(queue)
        if not ports[t]['cut']:
            try:
                os.write(ports[t]['fd'], frame)
            except OSError:
                pass
    timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else None
    for key, _ in sel.select(timeout):
        i = key.data
        if i == -1:
            data = os.read(0, 4096)
            if not data:
                sys.exit(0)
            pending += data
            while b'\n' in pending:
                line, pending = pending.split(b'\n', 1)
                words = line.decode().split()
                if len(words) == 2 and words[0] in ('cut', 'heal'):
                    ports[int(words[1])]['cut'] = words[0] == 'cut'
                    print('ok ' + words[1], flush=True)
            continue
        src = ports[i]
        for _ in range(256):
            try:
                frame = os.read(src['fd'], 65536)
            except (BlockingIOError, InterruptedError):
                break
            if src['cut'] or len(frame) < 14 or (src['loss'] > 0 and random.random() < src['loss']):
                continue
            dst = frame[0:6]
            macs[frame[6:12]] = i
            if dst[0] & 1 == 0 and dst in macs:
                targets = [macs[dst]] if macs[dst] != i else []
            else:
                targets = [j for j in range(len(ports)) if j != i]
            due = time.monotonic() + src['delay']
            for t in targets:
                if not ports[t]['cut']:
                    seq += 1
                    heapq.heappush(queue, (due, seq, t, frame))
`

export interface NsHost {
  index: number
  ns: string
  ip: string
  /** netem mode: the bridge side of the host's veth (downed to cut the host off) */
  rootIf: string
}

export interface LabOpts {
  hosts: number
  delayMs: number
  lossPct: number
  mode: Impairment
  /** first three octets of the /24; hosts are .1..n, the root namespace .254 */
  subnet?: string
}

export class NetnsLab {
  readonly hosts: NsHost[] = []
  readonly daemons: NsDaemon[] = []
  readonly rootIp: string
  readonly bridge = `${PREFIX}br`
  private switch: ChildProcess | undefined
  private switchLines: string[] = []
  private switchWaiters: (() => void)[] = []
  private count = 0

  private constructor(
    readonly root: string,
    readonly opts: Required<LabOpts>,
  ) {
    this.rootIp = `${opts.subnet}.254`
    for (let i = 1; i <= opts.hosts; i++)
      this.hosts.push({
        index: i,
        ns: `${PREFIX}-h${i}`,
        ip: `${opts.subnet}.${i}`,
        rootIf: `${PREFIX}v${i}`,
      })
  }

  get impairment(): string {
    const o = this.opts
    return o.mode === 'netem'
      ? `tc netem delay ${o.delayMs}ms loss ${o.lossPct}% on each host's eth0 (veth, bridge ${this.bridge})`
      : `userspace switch (python3, taps): ${o.delayMs} ms delay, ${o.lossPct}% loss on each host's egress` +
          ' (this kernel has no sch_netem)'
  }

  /** Builds the namespaces and the segment. On failure, whatever was built is torn down again. */
  static async create(opts: LabOpts): Promise<NetnsLab> {
    const full: Required<LabOpts> = { subnet: '10.77.0', ...opts }
    await removeStale()
    const clash = (await ip('-4', '-o', 'addr', 'show'))
      .split('\n')
      .find((l) => l.includes(` ${full.subnet}.`))
    if (clash) throw new Error(`${full.subnet}.0/24 is already in use in the root namespace: ${clash.trim()}`)
    const lab = new NetnsLab(await mkdtemp(join(tmpdir(), 'swarmstore-netns-')), full)
    try {
      await lab.build()
    } catch (err) {
      await lab.destroy()
      throw err
    }
    return lab
  }

  private async build(): Promise<void> {
    const { delayMs, lossPct, mode } = this.opts
    for (const h of this.hosts) {
      await ip('netns', 'add', h.ns)
      await ip('-n', h.ns, 'link', 'set', 'lo', 'up')
    }
    if (mode === 'netem') {
      await ip('link', 'add', this.bridge, 'type', 'bridge')
      for (const h of this.hosts) {
        const peer = `${PREFIX}p${h.index}`
        await ip('link', 'add', h.rootIf, 'type', 'veth', 'peer', 'name', peer)
        await ip('link', 'set', peer, 'netns', h.ns)
        await ip('-n', h.ns, 'link', 'set', peer, 'name', 'eth0')
        // one MTU-sized packet per skb, so netem's loss is per packet as on a wire, not per 64 KiB burst
        await ip('-n', h.ns, 'link', 'set', 'eth0', 'gso_max_segs', '1')
        await ip('link', 'set', h.rootIf, 'master', this.bridge)
        await ip('link', 'set', h.rootIf, 'up')
        await ipLine(
          `netns exec ${h.ns} tc qdisc add dev eth0 root netem limit 10000 delay ${delayMs}ms loss ${lossPct}%`,
        )
      }
    } else {
      const ports = [
        ...this.hosts.map((h) => ({ ns: h.ns, ifname: 'eth0', delayMs, lossPct })),
        { ns: null, ifname: this.bridge, delayMs: 0, lossPct: 0 },
      ]
      const sw = spawn('python3', ['-u', '-c', SWITCH_PY, JSON.stringify({ ports })], {
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      this.switch = sw
      let err = ''
      sw.stderr.on('data', (b: Buffer) => {
        err += b.toString()
      })
      let buf = ''
      sw.stdout.on('data', (b: Buffer) => {
        buf += b.toString()
        for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
          this.switchLines.push(buf.slice(0, i))
          buf = buf.slice(i + 1)
          for (const w of this.switchWaiters.splice(0)) w()
        }
      })
      sw.once('exit', () => {
        for (const w of this.switchWaiters.splice(0)) w()
      })
      await this.switchSays('ready', () => err)
    }
    await ip('addr', 'add', `${this.rootIp}/24`, 'dev', this.bridge)
    await ip('link', 'set', this.bridge, 'up')
    for (const h of this.hosts) {
      await ip('-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0')
      await ip('-n', h.ns, 'link', 'set', 'eth0', 'up')
    }
  }

  private async switchSays(line: string, stderr: () => string = () => ''): Promise<void> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const i = this.switchLines.indexOf(line)
      if (i !== -1) {
        this.switchLines.splice(i, 1)
        return
      }
      const sw = this.switch
      if (!sw || sw.exitCode !== null || sw.signalCode !== null)
        throw new Error(`userspace switch exited (${sw?.exitCode ?? sw?.signalCode}): ${stderr()}`)
      if (Date.now() > deadline) throw new Error(`userspace switch did not say ${line}: ${stderr()}`)
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200)
        this.switchWaiters.push(() => {
          clearTimeout(t)
          r()
        })
      })
    }
  }

  /** Cuts the host off the segment, both ways (frames in flight are lost too). */
  async cut(h: NsHost): Promise<void> {
    if (this.opts.mode === 'netem') await ip('link', 'set', h.rootIf, 'down')
    else {
      this.switch!.stdin!.write(`cut ${h.index - 1}\n`)
      await this.switchSays(`ok ${h.index - 1}`)
    }
  }

  async heal(h: NsHost): Promise<void> {
    if (this.opts.mode === 'netem') await ip('link', 'set', h.rootIf, 'up')
    else {
      this.switch!.stdin!.write(`heal ${h.index - 1}\n`)
      await this.switchSays(`ok ${h.index - 1}`)
    }
  }

  /** Adds a daemon on the next host (not started). */
  add(opts: DaemonOpts = {}): NsDaemon {
    const h = this.hosts[this.count++]
    if (!h) throw new Error(`only ${this.hosts.length} hosts`)
    const d = new NsDaemon(`node${h.index}`, join(this.root, `node${h.index}`), h, opts)
    this.daemons.push(d)
    return d
  }

  /** One daemon per host: the first alone, the others bootstrapping from it; waits until all see all alive. */
  async start(opts: DaemonOpts = {}): Promise<NsDaemon[]> {
    const first = this.add(opts)
    await first.start()
    const rest = this.hosts.slice(1).map(() => this.add({ ...opts, bootstrap: [first.multiaddr] }))
    await Promise.all(rest.map((d) => d.start()))
    const all = [first, ...rest]
    await waitFor(
      'every daemon ready, knowing all others, all alive in every view',
      async () => {
        const st = await Promise.all(all.map((d) => d.status()))
        if (!st.every((s) => s.ready && s.peers >= all.length - 1)) return false
        const views = await Promise.all(all.map((d) => d.peers()))
        return views.every((v, i) =>
          all.every((o, j) => i === j || v.find((p) => p.peerId === o.peerId)?.state === 'alive'),
        )
      },
      60_000,
      250,
    )
    return all
  }

  /** Kills the daemons, tears the network down, removes the data (unless `keep` or KEEP_TEST_DIRS). Never throws. */
  async destroy(keep = false): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.stop().catch(() => d.kill().catch(() => {}))))
    const sw = this.switch
    if (sw && sw.exitCode === null && sw.signalCode === null) {
      const gone = new Promise((r) => sw.once('exit', r))
      sw.stdin?.end()
      const t = setTimeout(() => sw.kill('SIGKILL'), 3000)
      await gone
      clearTimeout(t)
    }
    for (const h of this.hosts) {
      // anything still inside (a daemon that would not die) goes with its namespace
      const pids = (await run('ip', ['netns', 'pids', h.ns])).stdout.split(/\s+/).filter(Boolean)
      for (const p of pids) {
        try {
          process.kill(Number(p), 'SIGKILL')
        } catch {}
      }
      await run('ip', ['netns', 'del', h.ns])
      await run('ip', ['link', 'del', h.rootIf])
    }
    await run('ip', ['link', 'del', this.bridge])
    await removeStale()
    if (keep || process.env.KEEP_TEST_DIRS) console.log(`      kept ${this.root} (daemon logs: nodeN.log)`)
    else await rm(this.root, { recursive: true, force: true })
  }
}

export interface PeerView {
  peerId: string
  state: string
  connected: boolean
}

/** `swarmstore daemon` inside a host's namespace, listening and serving its API on the host's address. */
export class NsDaemon extends TestDaemon {
  private readonly logPath: string

  constructor(
    name: string,
    dataDir: string,
    readonly host: NsHost,
    opts: DaemonOpts,
  ) {
    super(name, dataDir, LISTEN_PORT, API_PORT, opts)
    this.logPath = join(dataDir, '..', `${name}.log`)
  }

  override get url(): string {
    return `http://${this.host.ip}:${this.apiPort}`
  }

  override get multiaddr(): string {
    return `/ip4/${this.host.ip}/tcp/${this.port}/p2p/${this.peerId}`
  }

  override args(): string[] {
    const a = super.args()
    const set = (flag: string, v: string) => {
      const i = a.indexOf(flag)
      if (i === -1) a.push(flag, v)
      else a[i + 1] = v
    }
    set('--listen', `/ip4/${this.host.ip}/tcp/${this.port}`)
    set('--api', `${this.host.ip}:${this.apiPort}`)
    return a
  }

  override async start(): Promise<void> {
    await mkdir(join(this.dataDir, '..'), { recursive: true })
    const log = createWriteStream(this.logPath, { flags: 'a' })
    // `ip netns exec` execs the bin in place (same pid), so signals reach the daemon itself
    const proc = spawn('ip', ['netns', 'exec', this.host.ns, BIN, ...this.args()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    proc.stdout.pipe(log)
    proc.stderr.pipe(log)
    this.proc = proc
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)))
    await waitFor(
      `${this.name} /health`,
      async () => {
        if (proc.exitCode !== null)
          throw new Error(`${this.name} exited with ${proc.exitCode}: ${await this.log()}`)
        const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) }).catch(
          () => undefined,
        )
        return r?.ok
      },
      30_000,
    )
    this.peerId = (await this.api<{ peerId: string }>('/v1/id')).peerId
  }

  override async log(): Promise<string> {
    return readFile(this.logPath, 'utf8').catch(() => '')
  }

  override async api<T>(path: string, timeoutMs = 15_000): Promise<T> {
    const r = await fetch(`${this.url}${path}`, {
      headers: { authorization: `Bearer ${await this.token()}` },
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (!r.ok) throw new Error(`${this.name} ${path}: ${r.status} ${await r.text()}`)
    return (await r.json()) as T
  }

  peers(timeoutMs?: number): Promise<PeerView[]> {
    return this.api<PeerView[]>('/v1/peers', timeoutMs)
  }
}

/** The CIDs that do not read back byte-identical through the daemon's namespace address. */
export function unreadable(via: NsDaemon, files: PutFile[], parallel = 6): Promise<string[]> {
  return lostFiles(via, '', files, parallel)
}

export interface Death {
  /** ms since the epoch: when the poll that first saw it started, or the log line's time */
  at: number
  observer: string
  subject: string
  /** dead, left, or absent (a member no longer listed: routing drops a member declared dead) */
  state: string
  /** the observer's /v1/status right after: live members in its membership table, contacts in routing */
  members?: number
  peers?: number
}

/**
 * Polls every daemon's /v1/peers for the whole run and keeps every other member it sees dead, left or
 * no longer listed (/v1/peers lists routing contacts, and a member declared dead is dropped from routing,
 * so "gone" is how a death shows there). A death is false unless its observer or its subject is inside
 * an excused window (cut off, until it has rejoined).
 */
export class DeathWatch {
  readonly deaths: Death[] = []
  readonly falseDeaths: Death[] = []
  /** deaths seen ending: the subject alive again in the observer's view */
  readonly revivals: Death[] = []
  /** polls of a daemon outside an excused window that failed (unreachable API): [name, error] */
  readonly failedPolls: [string, string][] = []
  polls = 0
  suspects = 0
  private readonly windows: { name: string; from: number; to?: number }[] = []
  private readonly open = new Set<string>()
  private stopped = false
  private readonly loop: Promise<void>

  constructor(
    readonly nodes: NsDaemon[],
    everyMs = 400,
  ) {
    // one loop per daemon: an unreachable one (cut off) must not slow the others' polls
    this.loop = Promise.all(
      nodes.map(async (n) => {
        while (!this.stopped) {
          await this.poll(n)
          await new Promise((r) => setTimeout(r, everyMs))
        }
      }),
    ).then(() => {})
  }

  excused(name: string, t: number): boolean {
    return this.windows.some((w) => w.name === name && t >= w.from && (w.to === undefined || t <= w.to))
  }

  private async poll(n: NsDaemon): Promise<void> {
    const t = Date.now()
    let view: PeerView[]
    try {
      view = await n.peers(5000)
    } catch (err) {
      if (!this.excused(n.name, t) && !this.stopped) this.failedPolls.push([n.name, String(err)])
      return
    }
    if (this.stopped) return
    this.polls++
    for (const o of this.nodes) {
      if (o === n) continue
      const state = view.find((p) => p.peerId === o.peerId)?.state ?? 'absent'
      if (state === 'suspect') this.suspects++
      const episode = `${n.name}>${o.name}`
      if (state === 'alive' && this.open.delete(episode))
        // a later death is a new one
        this.revivals.push({ at: t, observer: n.name, subject: o.name, state })
      if (state !== 'dead' && state !== 'left' && state !== 'absent') continue
      if (this.open.has(episode)) continue
      this.open.add(episode)
      const d: Death = { at: t, observer: n.name, subject: o.name, state }
      this.deaths.push(d)
      if (!this.excused(n.name, t) && !this.excused(o.name, t)) {
        this.falseDeaths.push(d)
        // absent from routing but still alive to membership (eviction after failed requests)?
        const st = await n.status().catch(() => undefined)
        if (st) Object.assign(d, { members: (st as { members?: number }).members, peers: st.peers })
      }
    }
  }

  /** From now on deaths of `node`, and deaths it sees, are excused (it is cut off), until `rejoined`. */
  excuse(node: NsDaemon): void {
    this.windows.push({ name: node.name, from: Date.now() })
  }

  /** The excused windows, for messages: name and ms since the epoch. */
  get timeline(): string {
    return this.windows.map((w) => `${w.name} excused ${w.from}..${w.to ?? 'open'}`).join('; ')
  }

  rejoined(node: NsDaemon): void {
    for (const w of this.windows) if (w.name === node.name && w.to === undefined) w.to = Date.now()
  }

  /** When `observer` first saw `subject` dead or gone at or after `since` (ms since the epoch). */
  firstDead(observer: NsDaemon, subject: NsDaemon, since: number): number | undefined {
    return this.deaths.find(
      (d) => d.observer === observer.name && d.subject === subject.name && d.at >= since,
    )?.at
  }

  /** The daemons' own `member down` log lines so far that no excused window covers. */
  async falseInLogs(): Promise<Death[]> {
    return (await memberDownLines(this.nodes)).filter(
      (d) => !this.excused(d.observer, d.at) && !this.excused(d.subject, d.at),
    )
  }

  async stop(): Promise<void> {
    this.stopped = true
    await this.loop
  }
}

/** `member down` lines of the daemons' logs (pino JSON): observer, subject, time, state. */
export async function memberDownLines(nodes: NsDaemon[]): Promise<Death[]> {
  const names = new Map(nodes.map((n) => [n.peerId, n.name]))
  const out: Death[] = []
  for (const n of nodes) {
    for (const line of (await n.log()).split('\n')) {
      if (!line.includes('"member down"')) continue
      try {
        const j = JSON.parse(line) as { time: number; peer: string; state: string }
        out.push({ at: j.time, observer: n.name, subject: names.get(j.peer) ?? j.peer, state: j.state })
      } catch {}
    }
  }
  return out.sort((a, b) => a.at - b.at)
}
