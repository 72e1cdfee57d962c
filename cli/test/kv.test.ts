import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TOKEN } from './helpers/fake-daemon.js'
import { assertBuilt, type CliRun, runCli } from './helpers/run-cli.js'

const MiB = 1 << 20

type Scripted = { status: number; body: Record<string, unknown> }

/**
 * Stands in for the daemon's key-value routes (docs/CONTROL-API.md, `/v1/kv/…`; their own tests,
 * over the real ApiServer, are daemon/test/api-kv.test.ts) so the CLI's side can be tested before
 * and apart from the KV engine: a Map with the register's versions (+1 per effect, across deletes;
 * cas expect 0 iff absent), the same status codes and error JSON, and `next` to script the next
 * answer (unavailable, a daemon-side refusal). It reads the key from the raw request target, as
 * the daemon does, and records every request.
 */
class KvRoutes {
  readonly keys = new Map<string, { version: number; value: Buffer | undefined }>()
  readonly requests: { method: string; url: string; body: Buffer }[] = []
  next: Scripted | undefined
  dataDir = ''
  private server: Server | undefined

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      res.setHeader('x-swarmstore-api', '1') // as the daemon answers
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => this.answer(req, res, Buffer.concat(chunks)))
    })
    this.server.on('checkContinue', (req, res) => {
      res.setHeader('x-swarmstore-api', '1')
      res.writeContinue()
      this.server!.emit('request', req, res)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.dataDir = await mkdtemp(join(tmpdir(), 'swarmstore-kv-test-'))
    await writeFile(
      join(this.dataDir, 'api'),
      `http://127.0.0.1:${(this.server.address() as AddressInfo).port}\n`,
    )
    await writeFile(join(this.dataDir, 'token'), `${TOKEN}\n`, { mode: 0o600 })
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => this.server?.close(() => resolve()))
    await rm(this.dataDir, { recursive: true, force: true })
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', body })
    const reply = this.reply(req, body)
    if ('version' in reply) {
      res.writeHead(reply.status, {
        'content-type': 'application/octet-stream',
        'x-swarmstore-version': String(reply.version),
      })
      res.end(reply.body)
    } else {
      res.writeHead(reply.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(reply.body))
    }
  }

  private reply(
    req: IncomingMessage,
    body: Buffer,
  ): Scripted | { status: 200; body: Buffer; version: number } {
    const url = req.url ?? ''
    const error = (status: number, code: string, message: string, extra = {}) => ({
      status,
      body: { error: { code, message }, ...extra },
    })
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return error(401, 'UNAUTHORIZED', 'token')
    const [path, search] = url.split('?') as [string, string | undefined]
    if (req.method === 'GET' && path === '/v1/kv/groups') return { status: 200, body: GROUPS }
    const segment = /^\/v1\/kv\/keys\/([^/]+)$/.exec(path)?.[1]
    if (segment === undefined) return error(404, 'BAD_REQUEST', `no endpoint ${url}`)
    const next = this.next
    this.next = undefined
    if (next !== undefined) return next
    const key = decodeURIComponent(segment)
    const s = this.keys.get(key) ?? { version: 0, value: undefined }
    const notFound = () => error(404, 'NOT_FOUND', `no key ${key}`, { version: s.version })
    const written = (value: Buffer | undefined) => {
      this.keys.set(key, { version: s.version + 1, value })
      return { status: 200, body: { key, version: s.version + 1 } }
    }
    if (req.method === 'GET') {
      return s.value === undefined ? notFound() : { status: 200, body: s.value, version: s.version }
    }
    if (req.method === 'DELETE') return s.value === undefined ? notFound() : written(undefined)
    if (body.byteLength > MiB) return error(413, 'ERR_KV_VALUE_TOO_LARGE', 'big')
    const expect = new URLSearchParams(search).get('expect')
    const holds =
      expect === null ||
      (expect === '0' ? s.value === undefined : s.value !== undefined && String(s.version) === expect)
    return holds ? written(body) : error(409, 'CONFLICT', `at ${s.version}`, { version: s.version })
  }
}

const PEERS = ['12D3KooWAAAAAAAAAAAAaaaaaaa1', '12D3KooWBBBBBBBBBBBBbbbbbbb2', '12D3KooWCCCCCCCCCCCCccccccc3']
const range = (n: number, members: string[], keys: number | null, epoch = 1) => ({
  range: n,
  from: n.toString(16).padStart(3, '0').padEnd(64, '0'),
  to: n.toString(16).padStart(3, '0').padEnd(64, 'f'),
  epoch,
  members,
  keys,
})
/** Ranges 0-2 on one group, 3 on the same group in a later epoch, 4 on another with unknown keys. */
const GROUPS = {
  rangeCount: 4096,
  replicas: 2,
  ranges: [
    range(0, [PEERS[0]!, PEERS[1]!], 5),
    range(1, [PEERS[0]!, PEERS[1]!], 0),
    range(2, [PEERS[0]!, PEERS[1]!], 2),
    range(3, [PEERS[0]!, PEERS[1]!], 1, 2),
    range(4, [PEERS[1]!, PEERS[2]!], null),
  ],
}

function json(run: CliRun): Record<string, unknown> & { error?: { code: string; message: string } } {
  const lines = run.stdout.trim().split('\n')
  assert.equal(lines.length, 1, `one JSON line on stdout, got ${JSON.stringify(run.stdout)}`)
  return JSON.parse(lines[0]!)
}

describe('swarmstore kv', () => {
  let emptyDir: string
  before(async () => {
    assertBuilt()
    emptyDir = await mkdtemp(join(tmpdir(), 'swarmstore-kv-empty-'))
  })
  after(() => rm(emptyDir, { recursive: true, force: true }))

  describe('bad arguments exit 2 before any daemon is asked (there is none: that would be 3)', () => {
    const cases: [string, string[], RegExp][] = [
      ['a missing key', ['kv', 'get'], /missing required argument 'key'/],
      ['an empty key', ['kv', 'rm', ''], /the key is empty/],
      ['cas without --expect', ['kv', 'cas', 'k', 'v'], /required option '--expect <n>' not specified/],
      [
        'a negative --expect',
        ['kv', 'cas', 'k', 'v', '--expect', '-1'],
        /--expect <n>' argument '-1' is invalid/,
      ],
      ['a fractional --expect', ['kv', 'cas', 'k', 'v', '--expect', '1.5'], /not a whole number >= 0/],
      [
        'VALUE and --file',
        ['kv', 'put', 'k', 'v', '--file', '/etc/hostname'],
        /give VALUE or --file, not both/,
      ],
      ['a --file that does not exist', ['kv', 'put', 'k', '--file', '/nonexistent/v'], /no such file/],
      ['a --file that is a directory', ['kv', 'cas', 'k', '--expect', '0', '--file', '/'], /is a directory/],
    ]
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const run = await runCli(['--data-dir', emptyDir, ...args])
        assert.equal(run.code, 2, run.stderr)
        assert.match(run.stderr, message)
      })
    }

    it('with --json, as JSON on stdout', async () => {
      const run = await runCli(['--data-dir', emptyDir, 'kv', 'cas', 'k', 'v', '--expect', 'x', '--json'])
      assert.equal(run.code, 2)
      assert.equal(json(run).error?.code, 'BAD_ARGUMENTS')
    })
  })

  describe('against the key-value routes', () => {
    let daemon: KvRoutes
    const kv = (args: string[], input?: Buffer) =>
      runCli(['--data-dir', daemon.dataDir, 'kv', ...args], input === undefined ? {} : { input })

    beforeEach(async () => {
      daemon = new KvRoutes()
      await daemon.start()
    })
    afterEach(() => daemon.stop())

    it('put prints the version; get writes the value as is; --json gives key, version, value', async () => {
      const put = await kv(['put', 'greeting', 'hello wörld'])
      assert.equal(put.code, 0, put.stderr)
      assert.equal(put.stdout, 'put greeting: version 1\n')
      assert.deepEqual(json(await kv(['put', 'greeting', 'hi ✓', '--json'])), { key: 'greeting', version: 2 })
      const get = await kv(['get', 'greeting'])
      assert.equal(get.code, 0, get.stderr)
      assert.equal(get.stdout, 'hi ✓') // no newline added
      assert.deepEqual(json(await kv(['get', 'greeting', '--json'])), {
        key: 'greeting',
        version: 2,
        value: 'hi ✓',
        encoding: 'utf8',
      })
      assert.deepEqual(
        daemon.requests.map((r) => `${r.method} ${r.url} ${r.body}`),
        [
          'PUT /v1/kv/keys/greeting hello wörld',
          'PUT /v1/kv/keys/greeting hi ✓',
          'GET /v1/kv/keys/greeting ',
          'GET /v1/kv/keys/greeting ',
        ],
      )
    })

    it('values from --file, from - and from stdin with no VALUE; bytes not UTF-8 print as base64', async () => {
      const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3])
      const file = join(emptyDir, 'value.bin')
      await writeFile(file, bytes)
      assert.equal((await kv(['put', 'bin', '--file', file])).code, 0)
      assert.ok((await kv(['get', 'bin'])).stdoutBytes.equals(bytes))
      assert.deepEqual(json(await kv(['get', 'bin', '--json'])), {
        key: 'bin',
        version: 1,
        value: bytes.toString('base64'),
        encoding: 'base64',
      })
      assert.equal((await kv(['put', 'bin', '-'], Buffer.from('from dash'))).code, 0)
      assert.equal((await kv(['get', 'bin'])).stdout, 'from dash')
      assert.equal((await kv(['cas', 'bin', '--expect', '2'], Buffer.from('piped'))).code, 0)
      assert.equal((await kv(['get', 'bin'])).stdout, 'piped')
      assert.equal((await kv(['put', 'empty', ''])).code, 0)
      assert.deepEqual(json(await kv(['get', 'empty', '--json'])), {
        key: 'empty',
        version: 1,
        value: '',
        encoding: 'utf8',
      })
    })

    it('a key is sent as one percent-encoded segment, . and .. included', async () => {
      for (const key of ['a/b c?d', 'é', '.', '..', '%2E']) {
        const put = await kv(['put', key, `v:${key}`])
        assert.equal(put.code, 0, `${key}: ${put.stderr}`)
        assert.equal((await kv(['get', key])).stdout, `v:${key}`)
      }
      assert.deepEqual(
        daemon.requests.filter((r) => r.method === 'PUT').map((r) => r.url),
        [
          '/v1/kv/keys/a%2Fb%20c%3Fd',
          '/v1/kv/keys/%C3%A9',
          '/v1/kv/keys/.',
          '/v1/kv/keys/..',
          '/v1/kv/keys/%252E',
        ],
      )
    })

    it('cas: --expect 0 only if absent; a conflict exits 11 with the current version', async () => {
      assert.equal((await kv(['cas', 'lock', 'me', '--expect', '0'])).stdout, 'cas lock: version 1\n')
      const taken = await kv(['cas', 'lock', 'you', '--expect', '0'])
      assert.equal(taken.code, 11)
      assert.match(taken.stderr, /^error: cas lock: the key is at version 1, not 0$/m)
      const jsonRun = await kv(['cas', 'lock', 'you', '--expect', '7', '--json'])
      assert.equal(jsonRun.code, 11)
      assert.deepEqual(json(jsonRun), {
        error: { code: 'CONFLICT', message: 'cas lock: the key is at version 1, not 7' },
        version: 1,
      })
      assert.equal(daemon.requests[2]?.url, '/v1/kv/keys/lock?expect=7')
      assert.deepEqual(json(await kv(['cas', 'lock', 'again', '--expect', '1', '--json'])), {
        key: 'lock',
        version: 2,
      })
    })

    it('rm deletes; a key that is not there exits 4, --json with its version', async () => {
      await kv(['put', 'k', 'v'])
      const removed = await kv(['rm', 'k'])
      assert.equal(removed.stdout, 'rm k: version 2\n')
      assert.equal(daemon.requests[1]?.method, 'DELETE')
      for (const args of [
        ['rm', 'k', '--json'],
        ['get', 'k', '--json'],
      ]) {
        const run = await kv(args)
        assert.equal(run.code, 4, args.join(' '))
        assert.equal(json(run).error?.code, 'NOT_FOUND')
        assert.equal(json(run).version, 2)
      }
      assert.equal((await kv(['put', 'k', 'w', '--json'])).stdout, '{"key":"k","version":3}\n')
    })

    it('unavailable exits 8 and says whether the write may still take effect', async () => {
      daemon.next = {
        status: 503,
        body: {
          error: { code: 'UNAVAILABLE', message: 'no quorum of the group answered' },
          indeterminate: true,
        },
      }
      const maybe = await kv(['put', 'k', 'v', '--json'])
      assert.equal(maybe.code, 8)
      assert.match(maybe.stderr, /no quorum of the group answered \(the write may still take effect/)
      assert.equal(json(maybe).indeterminate, true)
      daemon.next = {
        status: 503,
        body: { error: { code: 'UNAVAILABLE', message: 'no quorum' }, indeterminate: false },
      }
      const surely = await kv(['rm', 'k'])
      assert.equal(surely.code, 8)
      assert.match(surely.stderr, /no quorum \(the write did not take effect\)/)
    })

    it('values the daemon refuses exit 2: over 1 MiB (413), a key too long (400)', async () => {
      const big = await kv(['put', 'k', '-'], Buffer.alloc(MiB + 1))
      assert.equal(big.code, 2, big.stderr)
      assert.match(big.stderr, /error: big/)
      daemon.next = {
        status: 400,
        body: { error: { code: 'ERR_KV_KEY_TOO_LONG', message: 'key is 2000 bytes' } },
      }
      const long = await kv(['get', 'k'.repeat(2000), '--json'])
      assert.equal(long.code, 2)
      assert.equal(json(long).error?.code, 'ERR_KV_KEY_TOO_LONG')
    })

    it('groups: runs of ranges with the same group and epoch, then what each member holds', async () => {
      const run = await kv(['groups'])
      assert.equal(run.code, 0, run.stderr)
      assert.equal(
        run.stdout,
        [
          'ranges  keyspace  epoch  keys  members',
          '0-2     000-002   1      7     …aaaaaaa1 …bbbbbbb2',
          '3       003-003   2      1     …aaaaaaa1 …bbbbbbb2',
          '4       004-004   1      ?     …bbbbbbb2 …ccccccc3',
          '',
          'member     ranges  keys',
          '…aaaaaaa1  4       8',
          '…bbbbbbb2  5       8 (+? in 1 ranges)',
          '…ccccccc3  1       0 (+? in 1 ranges)',
          '',
          '5 of 4096 ranges, 3 members, R=2',
          '',
        ].join('\n'),
      )
      assert.deepEqual(json(await kv(['groups', '--json'])), GROUPS)
    })
  })
})
