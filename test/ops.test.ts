/**
 * What an operator relies on, against real daemon processes: which token the CLI sends where, a
 * server at `--api` that is not a swarmstore daemon, Prometheus metrics without the admin token
 * (file counters, members by state), and replication reported against R — `put --wait all`
 * refused, status, metric and stat counting chunks below R while a member is down.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { stat, writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { join } from 'node:path'
import { BIN, cli, freePort, type TestDaemon, TestSwarm, waitFor } from './support/swarm.js'

/** One sample of a Prometheus text exposition (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}

function listen(server: Server | ReturnType<typeof createTcpServer>, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
}

describe('operating a swarm: tokens, metrics, honest replication', function () {
  this.timeout(300_000)
  let swarm: TestSwarm
  let nodes: TestDaemon[]
  let metricsPort: number

  before(async () => {
    swarm = await TestSwarm.create()
    metricsPort = await freePort()
    // node 1 also serves /metrics without a token on its own port
    const first = await swarm.add({ extra: ['--metrics-listen', `127.0.0.1:${metricsPort}`] })
    await first.start()
    const rest = [
      await swarm.add({ bootstrap: [first.multiaddr] }),
      await swarm.add({ bootstrap: [first.multiaddr] }),
    ]
    await Promise.all(rest.map((d) => d.start()))
    nodes = [first, ...rest]
    await waitFor('3 daemons ready and knowing each other', async () => {
      const st = await Promise.all(nodes.map((d) => d.status()))
      return st.every((s) => s.ready && s.peers >= 2)
    })
  })
  after(async () => {
    await swarm?.destroy()
  })

  const metrics = async (): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    assert.equal(r.status, 200)
    return r.text()
  }

  describe('tokens go only where they belong', () => {
    let seen: IncomingHttpHeaders[]
    let html: Server
    let htmlPort: number
    before(async () => {
      seen = []
      html = createHttpServer((req, res) => {
        seen.push(req.headers)
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>It works!</body></html>')
      })
      htmlPort = await freePort()
      await listen(html, htmlPort)
    })
    after(() => new Promise<void>((resolve) => html.close(() => resolve())))

    it('with --api elsewhere, the data dir token is not sent; the server is "not a swarmstore API" (exit 3)', async () => {
      const r = await nodes[0]!.cli(['status', '--api', `127.0.0.1:${htmlPort}`])
      assert.equal(r.code, 3, r.stderr)
      assert.match(r.stderr, new RegExp(`http://127.0.0.1:${htmlPort} is not a swarmstore API`))
      assert.doesNotMatch(r.stderr + r.stdout, /It works|<html/, 'no dump of the HTML')
      assert.ok(seen.length > 0, 'the CLI did ask the server')
      assert.ok(
        seen.every((h) => h.authorization === undefined),
        'no token was sent',
      )
      const json = await nodes[0]!.cli(['status', '--api', `127.0.0.1:${htmlPort}`, '--json'])
      assert.equal(json.code, 3)
      assert.equal(JSON.parse(json.stdout).error.code, 'NOT_SWARMSTORE_API')
    })

    it('a server that does not speak HTTP (an SSH port) is "not a swarmstore API" too', async () => {
      const ssh = createTcpServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'))
      const port = await freePort()
      await listen(ssh, port)
      try {
        const r = await cli(['status', '--api', `127.0.0.1:${port}`])
        assert.equal(r.code, 3, r.stderr)
        assert.match(r.stderr, /is not a swarmstore API/)
      } finally {
        ssh.close()
      }
    })

    it('SWARMSTORE_TOKEN wins over the data dir token file (the SSH-tunnel recipe on a machine with its own daemon)', async () => {
      const [a, b] = [nodes[0]!, nodes[1]!]
      // a's data dir (with its token file) on the line, b's address and b's token given explicitly
      const ok = await a.cli(['status', '--api', `127.0.0.1:${b.apiPort}`, '--json'], {
        env: { SWARMSTORE_TOKEN: await b.token() },
      })
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(JSON.parse(ok.stdout).peerId, b.peerId)
      // the variable wins even for a's own daemon: a wrong one is refused, not replaced by the file
      const wrong = await a.cli(['status'], { env: { SWARMSTORE_TOKEN: 'not-the-token' } })
      assert.equal(wrong.code, 6, wrong.stderr)
      assert.match(wrong.stderr, /SWARMSTORE_TOKEN/)
    })

    it('--token-file sends that file; with --api elsewhere and no token given, the 401 says how to give one', async () => {
      const [a, b] = [nodes[0]!, nodes[1]!]
      const file = join(swarm.root, 'b-token')
      await writeFile(file, `${await b.token()}\n`, { mode: 0o600 })
      const ok = await a.cli(['status', '--api', `127.0.0.1:${b.apiPort}`, '--token-file', file, '--json'])
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(JSON.parse(ok.stdout).peerId, b.peerId)
      const none = await a.cli(['status', '--api', `127.0.0.1:${b.apiPort}`])
      assert.equal(none.code, 6, none.stderr)
      assert.match(none.stderr, /SWARMSTORE_TOKEN or --token-file/)
      // the data dir's own daemon named by --api: its token file still goes
      const own = await a.cli(['status', '--api', `127.0.0.1:${a.apiPort}`])
      assert.equal(own.code, 0, own.stderr)
    })
  })

  describe('invite and join (the cross-host join is in faults/invite.test.ts)', () => {
    it('invite of a public swarm: a token with no key and no warning; join refuses it expired or damaged, writing nothing', async () => {
      const inv = await nodes[0]!.cli(['invite', '--json', '--expires', '1ms'])
      assert.equal(inv.code, 0, inv.stderr)
      assert.doesNotMatch(inv.stderr, /swarm key/)
      const invite = JSON.parse(inv.stdout) as { token: string; private: boolean; swarmKey?: string }
      assert.equal(invite.private, false)
      assert.equal(invite.swarmKey, undefined)
      const dir = join(swarm.root, 'never-joined')
      const expired = await cli(['join', invite.token, '--data-dir', dir])
      assert.equal(expired.code, 2, expired.stderr)
      assert.match(expired.stderr, /the join token expired at .*; ask a member for a new one/)
      const damaged = await cli(['join', `${invite.token.slice(0, 40)}!!`, '--data-dir', dir])
      assert.equal(damaged.code, 2, damaged.stderr)
      assert.match(damaged.stderr, /the join token is damaged/)
      const other = await cli(['join', 'hello', '--data-dir', dir])
      assert.equal(other.code, 2, other.stderr)
      assert.match(other.stderr, /not a join token/)
      await assert.rejects(stat(dir), /ENOENT/, 'nothing written')
    })
  })

  describe('messages that say the cause', () => {
    it('get of a file nobody has names the file and what to check (exit 4)', async () => {
      const missing = 'bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje'
      const r = await nodes[0]!.cli(['get', missing, '--timeout', '20s'])
      assert.equal(r.code, 4, r.stderr)
      assert.match(r.stderr, new RegExp(`error: file ${missing} not found: .*check the CID`))
      assert.doesNotMatch(r.stderr, /closest peers/)
    })

    it('get on a daemon that has not joined its swarm exits 10 (not ready), not 4', async () => {
      // a bootstrap nobody answers at: the daemon runs, never joins
      const nobody = `/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${nodes[1]!.peerId}`
      const lonely = await swarm.add({ bootstrap: [nobody] })
      await lonely.start()
      try {
        const r = await lonely.cli(['get', 'bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje'])
        assert.equal(r.code, 10, r.stderr)
        assert.match(r.stderr, /has not joined its swarm yet .*swarmstore status/)
      } finally {
        await lonely.stop()
      }
    })
  })

  describe('metrics without the admin token', () => {
    it('--metrics-listen serves /metrics with no token, and nothing else; the control API still wants one', async () => {
      const text = await metrics()
      assert.equal(sample(text, 'swarmstore_members{state="alive"}'), 3, 'three alive members')
      assert.equal(sample(text, 'swarmstore_members{state="dead"}'), 0)
      const other = await fetch(`http://127.0.0.1:${metricsPort}/v1/status`)
      assert.equal(other.status, 404)
      const api = await fetch(`${nodes[0]!.url}/metrics`)
      assert.equal(api.status, 401)
    })

    it('the file counters count puts and gets, by result', async () => {
      const before = await metrics()
      const puts = sample(before, 'swarmstore_file_puts_total{result="ok"}') ?? 0
      const gets = sample(before, 'swarmstore_file_gets_total{result="ok"}') ?? 0
      const notFound = sample(before, 'swarmstore_file_gets_total{result="NOT_FOUND"}') ?? 0
      const file = join(swarm.root, 'counted.bin')
      await writeFile(file, randomBytes(100_000))
      const put = await nodes[0]!.cli(['put', file])
      assert.equal(put.code, 0, put.stderr)
      const get = await nodes[0]!.cli(['get', put.stdout.trim(), '-o', join(swarm.root, 'counted.out')])
      assert.equal(get.code, 0, get.stderr)
      const missing = 'bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje'
      const miss = await nodes[0]!.cli(['get', missing, '--timeout', '20s'])
      assert.equal(miss.code, 4, miss.stderr)
      const after = await metrics()
      assert.equal(sample(after, 'swarmstore_file_puts_total{result="ok"}'), puts + 1)
      assert.equal(sample(after, 'swarmstore_file_gets_total{result="ok"}'), gets + 1)
      assert.equal(sample(after, 'swarmstore_file_gets_total{result="NOT_FOUND"}'), notFound + 1)
    })
  })

  describe('replication is reported against R', () => {
    let file: string
    before(async () => {
      file = join(swarm.root, 'r.bin')
      await writeFile(file, randomBytes(3 * 1024 * 1024 + 17))
    })

    it('all members up: put --wait all succeeds, stat shows 0 chunks below R', async () => {
      const put = await nodes[0]!.cli(['put', file, '--wait', 'all'])
      assert.equal(put.code, 0, put.stderr)
      const stat = await nodes[0]!.cli(['stat', put.stdout.trim()])
      assert.equal(stat.code, 0, stat.stderr)
      assert.match(stat.stdout, /below R\s+0\n/)
    })

    it('a member down: put --wait all exits 8; status, the metric and stat count chunks below R', async () => {
      await nodes[2]!.kill('SIGKILL')
      const other = join(swarm.root, 'r2.bin')
      await writeFile(other, randomBytes(2 * 1024 * 1024))
      const put = await nodes[0]!.cli(['put', other, '--wait', 'all', '--json'])
      assert.equal(put.code, 8, put.stderr)
      assert.match(put.stderr, /2 of R=3 copies made/)
      assert.equal(JSON.parse(put.stdout).error.code, 'INSUFFICIENT_REPLICAS')
      // what it stored still holds: W = 2 is met, so a plain put is acknowledged
      const plain = await nodes[0]!.cli(['put', other])
      assert.equal(plain.code, 0, plain.stderr)
      const cid = plain.stdout.trim()
      // in a swarm of 3 with R = 3 every chunk is on every node: once node 1 sees the death, each
      // one it holds has 2 live copies of 3 — all counted, though no repair can help
      const st = await waitFor(
        'node 1 counting every chunk it holds as below R',
        async () => {
          const s = await nodes[0]!.status()
          return s.chunks > 0 && s.underReplicated === s.chunks ? s : undefined
        },
        60_000,
      )
      assert.equal(sample(await metrics(), 'swarmstore_under_replicated_chunks'), st.underReplicated)
      const stat = await nodes[0]!.cli(['stat', cid, '--json'])
      assert.equal(stat.code, 0, stat.stderr)
      const parsed = JSON.parse(stat.stdout) as {
        replicas: number
        underReplicated: number
        chunks: unknown[]
      }
      assert.equal(parsed.replicas, 3)
      assert.equal(parsed.underReplicated, parsed.chunks.length + 1, 'every chunk and the manifest')
      const table = await nodes[0]!.cli(['stat', cid])
      assert.match(table.stdout, /below R\s+3 \(marked !/)
      assert.match(table.stdout, / 2 !/)
      await waitFor(
        'node 3 counted dead',
        async () => sample(await metrics(), 'swarmstore_members{state="dead"}') === 1,
      )
    })
  })

  describe('--json on daemon and swarm; readable logs', () => {
    /** Spawns the CLI and collects its output lines, resolving `until` once a stdout line matches. */
    function spawnCli(args: string[]) {
      const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      const out: string[] = []
      let err = ''
      proc.stdout.setEncoding('utf8').on('data', (d: string) => out.push(...d.split('\n').filter(Boolean)))
      proc.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d
      })
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
      const until = (what: string, test: (line: string) => boolean) =>
        waitFor(
          what,
          async () => out.find(test) ?? (proc.exitCode !== null ? Promise.reject(new Error(err)) : undefined),
          60_000,
        )
      return { proc, out, stderr: () => err, exited, until }
    }

    it('daemon --json: one NDJSON "listening" event on stdout, JSON log lines on stderr; --log-format pretty: readable lines', async () => {
      const dir = join(swarm.root, 'json-daemon')
      const port = await freePort()
      const api = await freePort()
      const d = spawnCli([
        'daemon',
        '--json',
        '--data-dir',
        dir,
        '--listen',
        `/ip4/127.0.0.1/tcp/${port}`,
        '--api',
        `127.0.0.1:${api}`,
      ])
      try {
        const line = await d.until('the listening event', (l) => l.includes('"listening"'))
        const event = JSON.parse(line)
        assert.equal(event.api, `http://127.0.0.1:${api}`)
        assert.match(event.peerId, /^12D3KooW/)
        assert.ok(
          d
            .stderr()
            .split('\n')
            .filter(Boolean)
            .every((l) => JSON.parse(l).msg !== undefined),
          'JSON logs',
        )
      } finally {
        d.proc.kill('SIGTERM')
        await d.exited
      }
      const p = spawnCli([
        'daemon',
        '--log-format',
        'pretty',
        '--data-dir',
        dir,
        '--listen',
        `/ip4/127.0.0.1/tcp/${port}`,
        '--api',
        `127.0.0.1:${api}`,
      ])
      try {
        await waitFor('a readable log line', async () => /INFO.*daemon listening/.test(p.stderr()), 60_000)
        assert.throws(() => JSON.parse(p.stderr().split('\n')[0]!), 'not JSON')
      } finally {
        p.proc.kill('SIGTERM')
        await p.exited
      }
    })

    it('swarm --json --write-quorum 1: NDJSON events from start to stop; the nodes run with W = 1', async () => {
      const base = await freePort()
      const apiBase = await freePort()
      const dir = join(swarm.root, 'json-swarm')
      const s = spawnCli([
        'swarm',
        '--json',
        '--nodes',
        '2',
        '--replicas',
        '2',
        '--write-quorum',
        '1',
        '--dir',
        dir,
        '--base-port',
        String(base),
        '--api-base-port',
        String(apiBase),
      ])
      try {
        await s.until('the ready event', (l) => l.includes('"ready"'))
        const serving = s.out.map((l) => JSON.parse(l)).filter((e) => e.event === 'node-serving')
        assert.deepEqual(serving.map((e) => e.node).sort(), ['node1', 'node2'])
        const st = await cli(['status', '--json', '--data-dir', join(dir, 'node1')])
        assert.equal(st.code, 0, st.stderr)
        assert.equal(JSON.parse(st.stdout).writeQuorum, 1)
      } finally {
        s.proc.kill('SIGINT')
        assert.equal(await s.exited, 0, s.stderr())
      }
      const events = s.out.map((l) => JSON.parse(l).event)
      assert.deepEqual(events.slice(-2), ['stopping', 'stopped'])
    })
  })
})
