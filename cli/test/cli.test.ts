import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type FakeDaemon, sendError, sendJson, startFakeDaemon } from './helpers/fake-daemon.js'
import { assertBuilt, BIN, runCli } from './helpers/run-cli.js'

const CID = 'bafyreidkilywhe5ffabzplu4tvk4hxxm5midkjgsljisx4vlgswo7zqdoy'

/** xdg-open runs detached: the file it writes appears after the CLI has exited. */
async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 50))
  assert.ok(existsSync(path), `${path} written`)
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function jsonLine(stdout: string): { error?: { code: string; message: string } } & Record<string, unknown> {
  const lines = stdout.trim().split('\n')
  assert.equal(lines.length, 1, `one JSON line on stdout, got ${JSON.stringify(stdout)}`)
  return JSON.parse(lines[0]!)
}

describe('swarmstore CLI', () => {
  let emptyDir: string

  before(async () => {
    assertBuilt()
    emptyDir = await mkdtemp(join(tmpdir(), 'swarmstore-cli-empty-'))
  })
  after(() => rm(emptyDir, { recursive: true, force: true }))

  describe('bad arguments exit 2', () => {
    it('an unknown command, with a suggestion', async () => {
      const run = await runCli(['stauts'])
      assert.equal(run.code, 2)
      assert.match(run.stderr, /error: unknown command 'stauts'/)
      assert.match(run.stderr, /Did you mean status\?/)
    })

    it('a missing cid', async () => {
      const run = await runCli(['get', '--data-dir', emptyDir])
      assert.equal(run.code, 2)
      assert.match(run.stderr, /missing required argument 'cid'/)
    })

    it('a bad duration, before or after the subcommand', async () => {
      for (const args of [
        ['--timeout', '5x', 'status'],
        ['status', '--timeout', 'soon'],
      ]) {
        const run = await runCli(args)
        assert.equal(run.code, 2, args.join(' '))
        assert.match(run.stderr, /--timeout <duration>' argument '(5x|soon)' is invalid.*not a duration/)
      }
    })

    it('a bad --wait value', async () => {
      const run = await runCli(['put', '-', '--wait', 'most'])
      assert.equal(run.code, 2)
      assert.match(run.stderr, /--wait <mode>' argument 'most' is invalid\. Allowed choices are w, all/)
    })

    it('a bad size, and a bad --api', async () => {
      const capacity = await runCli(['daemon', '--capacity', 'lots'])
      assert.equal(capacity.code, 2)
      assert.match(capacity.stderr, /--capacity <bytes>' argument 'lots' is invalid.*not a size/)
      const api = await runCli(['status', '--api', '5890'])
      assert.equal(api.code, 2)
      assert.match(api.stderr, /not HOST:PORT/)
    })

    it('swarm without --nodes', async () => {
      const run = await runCli(['swarm'])
      assert.equal(run.code, 2)
      assert.match(run.stderr, /required option '--nodes <n>' not specified/)
    })

    it('a file that does not exist', async () => {
      const run = await runCli(['put', join(emptyDir, 'nope'), '--data-dir', emptyDir])
      assert.equal(run.code, 2)
      assert.match(run.stderr, /cannot open .*nope: no such file/)
    })

    it('with --json, the error as JSON on stdout too', async () => {
      const run = await runCli(['get', '--json'])
      assert.equal(run.code, 2)
      assert.equal(jsonLine(run.stdout).error?.code, 'BAD_ARGUMENTS')
    })
  })

  it('daemon: a bad config value from runDaemon exits 2 with the daemon’s words', async () => {
    const run = await runCli(['daemon', '--data-dir', emptyDir, '--replicas', '99'])
    assert.equal(run.code, 2)
    assert.match(run.stderr, /^error: .*replicas must be an integer in 1\.\.16/m)
  })

  describe('daemon not running exits 3', () => {
    it('when the data dir has no api file, naming the dir and how to start a daemon', async () => {
      const run = await runCli(['status', '--data-dir', emptyDir])
      assert.equal(run.code, 3)
      assert.ok(
        run.stderr.includes(
          `error: daemon not running at http://127.0.0.1:5890 (no api file in ${emptyDir}) — ` +
            `start it with \`swarmstore daemon --data-dir ${emptyDir}\``,
        ),
        run.stderr,
      )
    })

    it('when nothing listens at --api', async () => {
      const port = await closedPort()
      const run = await runCli(['--data-dir', emptyDir, '--api', `127.0.0.1:${port}`, 'stat', CID, '--json'])
      assert.equal(run.code, 3)
      assert.match(
        run.stderr,
        new RegExp(`daemon not running at http://127\\.0\\.0\\.1:${port} \\(connection refused\\)`),
      )
      assert.match(run.stderr, /start it with `swarmstore daemon --data-dir /)
      assert.equal(jsonLine(run.stdout).error?.code, 'DAEMON_NOT_RUNNING')
    })

    it('when the api file is stale (a daemon that died)', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'swarmstore-cli-stale-'))
      await writeFile(join(dir, 'api'), `http://127.0.0.1:${await closedPort()}\n`)
      const run = await runCli(['peers', '--data-dir', dir])
      assert.equal(run.code, 3)
      await rm(dir, { recursive: true })
    })
  })

  describe('against a fake daemon', () => {
    let daemon: FakeDaemon
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251))

    before(async () => {
      daemon = await startFakeDaemon({
        'GET /v1/status': (_req, res) => sendJson(res, 200, { peerId: '12D3KooWtest', ready: true }),
        'GET /v1/id': (_req, res) =>
          sendJson(res, 200, {
            peerId: '12D3KooWtest',
            addrs: ['/ip4/127.0.0.1/tcp/1/p2p/a', '/ip6/::1/tcp/1/p2p/a'],
          }),
        'POST /v1/dashboard/code': (_req, res) =>
          sendJson(res, 200, { code: 'c0de-c0de-c0de-c0de-c0de', expiresAt: Date.now() + 60_000 }),
        'GET /v1/stat/notready': (_req, res) => sendError(res, 503, 'NOT_READY', 'not joined a swarm yet'),
        'GET /v1/stat/slow': (_req, res) => sendError(res, 504, 'TIMEOUT', 'no peer answered within 100ms'),
        'GET /v1/stat/hang': () => {}, // never answers
        'POST /v1/files': (req, res, body) => {
          const url = new URL(req.url ?? '/', 'http://x')
          if (url.searchParams.get('pin') === 'true') sendError(res, 507, 'CAPACITY', 'local store full')
          else if (url.searchParams.get('wait') === 'all')
            sendError(res, 503, 'INSUFFICIENT_REPLICAS', 'only 1 of 2')
          else sendJson(res, 200, { cid: CID, size: body.length, chunks: 1 })
        },
        [`GET /v1/files/${CID}`]: (req, res) => {
          const url = new URL(req.url ?? '/', 'http://x')
          const offset = Number(url.searchParams.get('offset') ?? 0)
          const length = Number(url.searchParams.get('length') ?? payload.length)
          const bytes = payload.subarray(offset, offset + length)
          res.writeHead(200, { 'content-length': bytes.length, 'x-swarmstore-size': payload.length })
          res.end(bytes)
        },
        // a daemon on another machine cannot write our temp file: the CLI streams instead
        [`POST /v1/files/${CID}/write`]: (_req, res) =>
          sendError(res, 409, 'NOT_LOCAL', 'cannot open the file here'),
        'POST /v1/files/broken/write': (_req, res) => sendError(res, 409, 'NOT_LOCAL', 'not here'),
        // a daemon on this machine writes the file itself and reports progress as lines
        'POST /v1/files/local/write': (req, res) => {
          const url = new URL(req.url ?? '/', 'http://x')
          const path = url.searchParams.get('path')!
          readFile(path, 'utf8').then(async (held) => {
            if (held !== url.searchParams.get('nonce')) return sendError(res, 409, 'NOT_LOCAL', 'nonce')
            await writeFile(path, payload)
            res.writeHead(200, {
              'content-type': 'application/x-ndjson',
              'x-swarmstore-length': payload.length,
            })
            res.end(`{"written":100000}\n{"done":true,"size":${payload.length}}\n`)
          })
        },
        'POST /v1/files/localbroken/write': (req, res) => {
          const path = new URL(req.url ?? '/', 'http://x').searchParams.get('path')!
          writeFile(path, payload.subarray(0, 1000)).then(() => {
            res.writeHead(200, {
              'content-type': 'application/x-ndjson',
              'x-swarmstore-length': payload.length,
            })
            res.end('{"written":1000}\n{"error":{"code":"UNAVAILABLE","message":"no holder answered"}}\n')
          })
        },
        'GET /v1/files/broken': (_req, res) => {
          // What the daemon does when a chunk cannot be fetched midway: fewer bytes, then a dead socket.
          res.writeHead(200, { 'content-length': payload.length })
          res.write(payload.subarray(0, 50_000), () => setTimeout(() => res.destroy(), 20))
        },
      })
    })
    after(() => daemon.close())

    it('a wrong token exits 6, saying where the token came from', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'swarmstore-cli-token-'))
      await writeFile(join(dir, 'api'), `${daemon.url}\n`)
      await writeFile(join(dir, 'token'), 'wrong\n')
      const run = await runCli(['status', '--data-dir', dir, '--json'])
      assert.equal(run.code, 6)
      assert.match(run.stderr, /^error: missing or wrong bearer token$/m)
      assert.match(run.stderr, /hint: the token sent came from .*token/)
      assert.deepEqual(jsonLine(run.stdout), {
        error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' },
      })
      await rm(dir, { recursive: true })
    })

    it('a wrong token on a put exits 6 even though the daemon answers before the upload ends', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'swarmstore-cli-token-'))
      await writeFile(join(dir, 'api'), `${daemon.url}\n`)
      await writeFile(join(dir, 'token'), 'wrong\n')
      const big = join(dir, 'big.bin')
      await writeFile(big, Buffer.alloc(20 * 1024 * 1024, 7))
      const run = await runCli(['put', big, '--data-dir', dir])
      assert.equal(run.code, 6, run.stderr)
      assert.match(run.stderr, /^error: missing or wrong bearer token$/m)
      await rm(dir, { recursive: true })
    })

    it('--api with the token from SWARMSTORE_TOKEN when the data dir has none', async () => {
      const api = daemon.url.replace('http://', '')
      const wrong = await runCli(['status', '--data-dir', emptyDir, '--api', api])
      assert.equal(wrong.code, 6)
      const right = await runCli(['status', '--data-dir', emptyDir, '--api', api, '--json'], {
        env: { SWARMSTORE_TOKEN: 'test-token-0123456789' },
      })
      assert.equal(right.code, 0, right.stderr)
      assert.equal(jsonLine(right.stdout).peerId, '12D3KooWtest')
    })

    it('dashboard: the link carries the code in its fragment; opened by xdg-open only on a desktop', async () => {
      const bin = await mkdtemp(join(tmpdir(), 'swarmstore-cli-xdg-'))
      const opened = join(bin, 'opened')
      await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > ${opened}\n`, { mode: 0o755 })
      const PATH = `${bin}:${process.env.PATH}`
      const headless = await runCli(['dashboard', '--data-dir', daemon.dataDir, '--json'], {
        env: { PATH, DISPLAY: '', WAYLAND_DISPLAY: '' },
      })
      assert.equal(headless.code, 0, headless.stderr)
      const out = jsonLine(headless.stdout)
      assert.equal(out.url, `${daemon.url}/#code=c0de-c0de-c0de-c0de-c0de`)
      assert.equal(out.opened, false)
      const noOpen = await runCli(['dashboard', '--no-open', '--data-dir', daemon.dataDir], {
        env: { PATH, DISPLAY: ':0' },
      })
      assert.equal(noOpen.code, 0, noOpen.stderr)
      assert.match(noOpen.stdout, /^http:\/\/127\.0\.0\.1:\d+\/#code=c0de/)
      assert.equal(existsSync(opened), false, '--no-open never starts a browser')
      const desktop = await runCli(['dashboard', '--data-dir', daemon.dataDir], {
        env: { PATH, DISPLAY: ':0' },
      })
      assert.equal(desktop.code, 0, desktop.stderr)
      await waitForFile(opened)
      assert.equal((await readFile(opened, 'utf8')).trim(), `${daemon.url}/#code=c0de-c0de-c0de-c0de-c0de`)
      const missing = await runCli(['dashboard', '--data-dir', daemon.dataDir], {
        env: { PATH: '/nonexistent', DISPLAY: ':0' },
      })
      assert.equal(missing.code, 0, `no xdg-open is not an error: ${missing.stderr}`)
      await rm(bin, { recursive: true })
    })

    it('a 404 exits 4 with the daemon’s message', async () => {
      const run = await runCli(['stat', 'bafkmissing', '--data-dir', daemon.dataDir])
      assert.equal(run.code, 4)
      assert.match(run.stderr, /^error: no route GET \/v1\/stat\/bafkmissing$/m)
    })

    it('maps 503 NOT_READY to 10, 504 to 5, 503 INSUFFICIENT_REPLICAS to 8, 507 to 9', async () => {
      const d = ['--data-dir', daemon.dataDir]
      assert.equal((await runCli(['stat', 'notready', ...d])).code, 10)
      assert.equal((await runCli(['stat', 'slow', ...d])).code, 5)
      const input = Buffer.from('hello')
      assert.equal((await runCli(['put', '-', '--wait', 'all', ...d], { input })).code, 8)
      assert.equal((await runCli(['put', '-', '--pin', ...d], { input })).code, 9)
    })

    it('a daemon that does not answer within --timeout exits 5', async () => {
      const started = Date.now()
      const run = await runCli(['stat', 'hang', '--data-dir', daemon.dataDir, '--timeout', '300ms'])
      assert.equal(run.code, 5)
      assert.match(run.stderr, /no answer within 300ms from the daemon at/)
      assert.ok(Date.now() - started < 10_000)
    })

    it('status, id in human and --json form, global options after the subcommand', async () => {
      const id = await runCli(['id', '--data-dir', daemon.dataDir])
      assert.equal(id.code, 0, id.stderr)
      assert.equal(id.stdout, '/ip4/127.0.0.1/tcp/1/p2p/a\n/ip6/::1/tcp/1/p2p/a\n')
      const status = await runCli(['--json', 'status', '--data-dir', daemon.dataDir])
      assert.equal(status.code, 0, status.stderr)
      assert.deepEqual(jsonLine(status.stdout), { peerId: '12D3KooWtest', ready: true })
    })

    it('put streams the file, sends wait/pin/timeout, prints the CID (--json: the daemon’s JSON)', async () => {
      const file = join(emptyDir, 'payload.bin')
      await writeFile(file, payload)
      const before = daemon.requests.length
      const run = await runCli(['--data-dir', daemon.dataDir, 'put', file, '--timeout', '2m'])
      assert.equal(run.code, 0, run.stderr)
      assert.equal(run.stdout, `${CID}\n`)
      assert.equal(run.stderr, '') // no bar: stderr is not a TTY here
      const request = daemon.requests[before]!
      assert.equal(request.method, 'POST')
      assert.equal(request.url, '/v1/files?wait=w&pin=false&timeout=120000')
      assert.ok(request.body.equals(payload))

      const json = await runCli(['put', '-', '--json', '--data-dir', daemon.dataDir], { input: payload })
      assert.equal(json.code, 0, json.stderr)
      assert.deepEqual(jsonLine(json.stdout), { cid: CID, size: payload.length, chunks: 1 })
    })

    it('get streams to stdout, passes --offset/--length, and -o renames a complete temp file', async () => {
      const before = daemon.requests.length
      const stdout = await runCli([
        'get',
        CID,
        '--offset',
        '10',
        '--length',
        '20',
        '--data-dir',
        daemon.dataDir,
      ])
      assert.equal(stdout.code, 0, stdout.stderr)
      assert.equal(daemon.requests[before]!.url, `/v1/files/${CID}?offset=10&length=20`)
      assert.ok(stdout.stdoutBytes.equals(payload.subarray(10, 30)))

      const out = join(emptyDir, 'out.bin')
      const run = await runCli(['get', CID, '-o', out, '--data-dir', daemon.dataDir])
      assert.equal(run.code, 0, run.stderr)
      assert.equal(run.stdout, '')
      assert.ok((await readFile(out)).equals(payload))
      assert.deepEqual(
        (await readdir(emptyDir)).filter((name) => name.includes('swarmstore-tmp')),
        [],
      )
    })

    it('a download cut midway exits 7, leaves no temp file and does not touch FILE', async () => {
      const out = join(emptyDir, 'cut.bin')
      const run = await runCli(['get', 'broken', '-o', out, '--data-dir', daemon.dataDir])
      assert.equal(run.code, 7)
      assert.match(run.stderr, /incomplete download: received 50000 of 200000 bytes/)
      assert.equal(existsSync(out), false)
      assert.deepEqual(
        (await readdir(emptyDir)).filter((name) => name.includes('swarmstore-tmp')),
        [],
      )

      const toStdout = await runCli(['get', 'broken', '--data-dir', daemon.dataDir])
      assert.equal(toStdout.code, 7)
    })

    it('a reader that closes stdout early (| head) ends get quietly, without a stack trace', async () => {
      const child = spawn(process.execPath, [BIN, 'get', CID, '--data-dir', daemon.dataDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      child.stdout.once('data', () => child.stdout.destroy())
      const [code] = (await once(child, 'close')) as [number | null]
      assert.equal(code, 1)
      assert.equal(stderr, '')
    })

    it('-o with a daemon on this machine: it writes the temp file; the CLI renames it when told done', async () => {
      const out = join(emptyDir, 'local.bin')
      const run = await runCli(['get', 'local', '-o', out, '--json', '--data-dir', daemon.dataDir])
      assert.equal(run.code, 0, run.stderr)
      assert.deepEqual(JSON.parse(run.stdout), { cid: 'local', path: out, size: payload.length })
      assert.ok((await readFile(out)).equals(payload))
      const cut = join(emptyDir, 'localcut.bin')
      const broken = await runCli(['get', 'localbroken', '-o', cut, '--data-dir', daemon.dataDir])
      assert.equal(broken.code, 7)
      assert.match(
        broken.stderr,
        /incomplete download: the daemon wrote 1000 of 200000 bytes \(no holder answered/,
      )
      assert.equal(existsSync(cut), false)
      assert.deepEqual(
        (await readdir(emptyDir)).filter((name) => name.includes('swarmstore-tmp')),
        [],
      )
    })

    it('a get that fails before any byte (404) exits 4 and leaves no temp file', async () => {
      const out = join(emptyDir, 'never.bin')
      const run = await runCli(['get', 'bafkmissing', '-o', out, '--data-dir', daemon.dataDir])
      assert.equal(run.code, 4)
      assert.equal(existsSync(out), false)
      assert.deepEqual(
        (await readdir(emptyDir)).filter((name) => name.includes('swarmstore-tmp')),
        [],
      )
    })
  })
})
