import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { type IncomingHttpHeaders, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { KvAnswer } from '@swarmstore/kv'
import { pino } from 'pino'
import { createApiServer } from '../src/api-server.js'
import type { KvGroupsView, KvService } from '../src/kv/service.js'
import { Metrics } from '../src/metrics.js'

const TOKEN = 'kv-route-test-token'
const MiB = 1 << 20

/**
 * A KvService over a Map, for testing the HTTP translation only (the KV semantics are KvNode's and
 * are tested with it): the register's rules as the routes rely on them — a version grows by 1 per
 * effect, across deletes; cas(0) holds iff the key is absent; notFound and conflict carry the
 * version. `next` makes the next call answer something else (unavailable, invalid, a wrong answer).
 */
class MapKvService implements KvService {
  readonly keys = new Map<string, { version: number; value: Uint8Array | undefined }>()
  readonly calls: string[] = []
  next: KvAnswer | undefined

  async put(key: string, value: Uint8Array): Promise<KvAnswer> {
    return this.scripted(`put ${key}`) ?? this.write(key, value)
  }

  async cas(key: string, expect: number, value: Uint8Array): Promise<KvAnswer> {
    const s = this.keys.get(key)
    const holds = expect === 0 ? s?.value === undefined : s?.value !== undefined && s.version === expect
    return (
      this.scripted(`cas ${key} ${expect}`) ??
      (holds ? this.write(key, value) : { t: 'conflict', version: s?.version ?? 0 })
    )
  }

  async get(key: string): Promise<KvAnswer> {
    const s = this.keys.get(key)
    return (
      this.scripted(`get ${key}`) ??
      (s?.value === undefined
        ? { t: 'notFound', version: s?.version ?? 0 }
        : { t: 'found', value: s.value, version: s.version })
    )
  }

  async delete(key: string): Promise<KvAnswer> {
    const s = this.keys.get(key)
    return (
      this.scripted(`delete ${key}`) ??
      (s?.value === undefined ? { t: 'notFound', version: s?.version ?? 0 } : this.write(key, undefined))
    )
  }

  groups(): KvGroupsView {
    const member = (i: number) => `12D3KooWPeer${i}`
    return {
      rangeCount: 4096,
      replicas: 3,
      ranges: [0, 1].map((range) => ({
        range,
        from: range.toString(16).padStart(3, '0').padEnd(64, '0'),
        to: range.toString(16).padStart(3, '0').padEnd(64, 'f'),
        epoch: 1,
        members: [member(range), member(range + 1), member(range + 2)],
        keys: range === 0 ? 2 : null,
      })),
    }
  }

  private scripted(call: string): KvAnswer | undefined {
    this.calls.push(call)
    const answer = this.next
    this.next = undefined
    return answer
  }

  private write(key: string, value: Uint8Array | undefined): KvAnswer {
    const version = (this.keys.get(key)?.version ?? 0) + 1
    this.keys.set(key, { version, value })
    return { t: 'ok', version }
  }
}

/** Uploads 32 MiB 20 times to argv's port and path; prints each status (or error code). */
const UPLOADER = `
import { request } from 'node:http'
import { Readable } from 'node:stream'
const [port, path, token] = process.argv.slice(1)
const upload = () => new Promise((resolve) => {
  const body = Readable.from((function* () { for (let i = 0; i < 512; i++) yield Buffer.alloc(65536) })())
  const headers = { authorization: 'Bearer ' + token, expect: '100-continue' }
  const req = request({ host: '127.0.0.1', port, method: 'PUT', path, agent: false, headers })
  req.on('continue', () => body.pipe(req))
  req.on('response', (res) => {
    body.unpipe(req)
    body.destroy()
    res.resume()
    res.on('end', () => { resolve(String(res.statusCode)); req.destroy() })
  })
  req.on('error', (err) => resolve(err.code ?? err.message))
})
const out = []
for (let i = 0; i < 20; i++) out.push(await upload())
console.log(out.join(' '))
`

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  json: () => Record<string, unknown> & { error?: { code: string; message: string } }
}

function unused(): never {
  throw new Error('not used by the KV routes')
}

async function startApi(kv: KvService | undefined): Promise<{ server: Server; port: number }> {
  const server = createApiServer(
    {
      log: pino({ level: 'silent' }),
      chunkSize: MiB,
      replicas: 3,
      metrics: new Metrics(),
      isReady: () => true,
      reader: { getBlock: unused },
      writer: { putBlock: unused, pin: unused },
      holders: { find: unused },
      release: () => {},
      scrubber: { scrub: unused },
      status: { status: unused, peers: unused, id: unused, metrics: unused },
      invites: { create: unused },
      kv,
    },
    TOKEN,
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

describe('control API: key-value routes (HTTP translation, over MapKvService)', () => {
  let kv: MapKvService
  let server: Server
  let port: number

  /** One request; `path` goes on the wire as given (no URL normalisation). */
  function call(
    method: string,
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method, path, headers: { authorization: `Bearer ${TOKEN}`, ...headers } },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const b = Buffer.concat(chunks)
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              body: b,
              json: () => JSON.parse(b.toString()),
            })
          })
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }
  const keyPath = (key: string) => `/v1/kv/keys/${encodeURIComponent(key)}`

  beforeEach(async () => {
    kv = new MapKvService()
    ;({ server, port } = await startApi(kv))
  })
  afterEach(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('put answers {key, version}; get answers the raw bytes with the version in a header', async () => {
    const put = await call('PUT', keyPath('greeting'), 'hello', { 'content-type': 'text/plain' })
    assert.equal(put.status, 200)
    assert.deepEqual(put.json(), { key: 'greeting', version: 1 })
    assert.deepEqual((await call('PUT', keyPath('greeting'), 'hi')).json(), { key: 'greeting', version: 2 })
    const get = await call('GET', keyPath('greeting'))
    assert.equal(get.status, 200)
    assert.equal(get.headers['content-type'], 'application/octet-stream')
    assert.equal(get.headers['x-swarmstore-version'], '2')
    assert.equal(get.body.toString(), 'hi')
  })

  it('values are bytes: not UTF-8, empty, and exactly 1 MiB come back as sent', async () => {
    for (const value of [Buffer.from([0xff, 0x00, 0xc3]), Buffer.alloc(0), Buffer.alloc(MiB, 7)]) {
      assert.equal((await call('PUT', keyPath('b'), value)).status, 200)
      const get = await call('GET', keyPath('b'))
      assert.equal(get.headers['content-length'], String(value.byteLength))
      assert.ok(get.body.equals(value))
    }
  })

  it('a key is one percent-encoded segment: slashes, spaces, ?, non-ASCII, . and .. are keys', async () => {
    const keys = ['a/b', 'x y?z=1&w#', 'é😀', '.', '..', '%41']
    for (const key of keys) {
      assert.equal((await call('PUT', keyPath(key), key)).json().key, key)
    }
    // `.` and `..` as sent by a client that does not normalise paths (curl --path-as-is)
    assert.equal((await call('GET', '/v1/kv/keys/..')).body.toString(), '..')
    assert.equal((await call('GET', '/v1/kv/keys/%2E')).body.toString(), '.')
    assert.deepEqual([...kv.keys.keys()], keys)
  })

  it('a key that is not UTF-8 or too long is refused (400) before the service or the body', async () => {
    for (const path of ['/v1/kv/keys/%ZZ', '/v1/kv/keys/%ED%A0%80', '/v1/kv/keys/%C3']) {
      const r = await call('PUT', path, 'v')
      assert.equal(r.status, 400, path)
      assert.equal(r.json().error?.code, 'ERR_KV_KEY_NOT_UTF8')
    }
    const long = await call('GET', keyPath('k'.repeat(1025)))
    assert.equal(long.status, 400)
    assert.equal(long.json().error?.code, 'ERR_KV_KEY_TOO_LONG')
    assert.equal((await call('PUT', keyPath('é'.repeat(512)), 'v')).status, 200) // 1,024 bytes
    assert.deepEqual(kv.calls, [`put ${'é'.repeat(512)}`])
  })

  it('delete leaves a tombstone: versions go on across it, and 404s carry the version', async () => {
    await call('PUT', keyPath('k'), 'v')
    const del = await call('DELETE', keyPath('k'))
    assert.equal(del.status, 200)
    assert.deepEqual(del.json(), { key: 'k', version: 2 })
    for (const method of ['GET', 'DELETE']) {
      const r = await call(method, keyPath('k'))
      assert.equal(r.status, 404, method)
      assert.equal(r.json().error?.code, 'NOT_FOUND')
      assert.equal(r.json().version, 2)
    }
    assert.equal((await call('GET', keyPath('never'))).json().version, 0)
    assert.deepEqual((await call('PUT', keyPath('k'), 'w')).json(), { key: 'k', version: 3 })
  })

  it('?expect=N makes the put a cas: 0 iff absent; a conflict is 409 with the current version', async () => {
    assert.deepEqual((await call('PUT', `${keyPath('c')}?expect=0`, 'a')).json(), { key: 'c', version: 1 })
    const again = await call('PUT', `${keyPath('c')}?expect=0`, 'b')
    assert.equal(again.status, 409)
    assert.equal(again.json().error?.code, 'CONFLICT')
    assert.equal(again.json().version, 1)
    assert.deepEqual((await call('PUT', `${keyPath('c')}?expect=1`, 'c')).json(), { key: 'c', version: 2 })
    await call('DELETE', keyPath('c'))
    const stale = await call('PUT', `${keyPath('c')}?expect=2`, 'd')
    assert.equal(stale.status, 409)
    assert.equal(stale.json().version, 3)
    assert.equal((await call('PUT', `${keyPath('c')}?expect=0`, 'e')).json().version, 4)
    assert.deepEqual(kv.calls, ['cas c 0', 'cas c 0', 'cas c 1', 'delete c', 'cas c 2', 'cas c 0'])
  })

  it('an expect that is not an integer >= 0 is 400 ERR_KV_BAD_EXPECT, before the service', async () => {
    for (const expect of ['', '-1', '1.5', 'abc', '1e3', '9007199254740993', ' 1']) {
      const r = await call('PUT', `${keyPath('c')}?expect=${encodeURIComponent(expect)}`, 'v')
      assert.equal(r.status, 400, expect)
      assert.equal(r.json().error?.code, 'ERR_KV_BAD_EXPECT', expect)
    }
    assert.deepEqual(kv.calls, [])
  })

  it('a value over 1 MiB is 413, streamed or announced, without the daemon reading it all', async () => {
    const over = await call('PUT', keyPath('big'), Buffer.alloc(MiB + 1))
    assert.equal(over.status, 413)
    assert.equal(over.json().error?.code, 'ERR_KV_VALUE_TOO_LARGE')
    // announced as 64 MiB and never sent: the answer cannot have waited for the body
    const announced = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: keyPath('big'),
        headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(64 * MiB) },
      })
      req.on('response', (res) => {
        resolve(res.statusCode!)
        req.destroy()
      })
      req.on('error', reject)
      req.flushHeaders()
    })
    assert.equal(announced, 413)
    // chunked, with no end: refused once past the limit
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: keyPath('big') })
      req.setHeader('authorization', `Bearer ${TOKEN}`)
      req.on('response', (res) => {
        resolve(res.statusCode!)
        req.destroy()
      })
      req.on('error', reject)
      req.write(Buffer.alloc(MiB))
      req.write(Buffer.alloc(1024))
    })
    assert.equal(streamed, 413)
    assert.deepEqual(kv.calls, [])
  })

  it('a client still uploading reads the 413 (the connection is not closed under it)', async () => {
    // 20 uploads of 32 MiB from another process, as the CLI uploads: agent: false (so
    // `connection: close`), Expect: 100-continue, the body piped until the answer comes. Closing the
    // socket while the client still sends resets it, and its kernel may drop the answer unread:
    // EPIPE instead of 413 in most of the 20 when the daemon ended the answer at once.
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', UPLOADER, String(port), keyPath('big'), TOKEN],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    await once(child, 'close')
    assert.equal(out.trim(), Array(20).fill('413').join(' '))
    assert.deepEqual(kv.calls, [])
  })

  it('unavailable is 503 UNAVAILABLE; a write says whether it is indeterminate', async () => {
    kv.next = { t: 'unavailable', reason: 'no quorum of the group answered', acceptSent: true }
    const put = await call('PUT', keyPath('k'), 'v')
    assert.equal(put.status, 503)
    assert.deepEqual(put.json(), {
      error: { code: 'UNAVAILABLE', message: 'no quorum of the group answered' },
      indeterminate: true,
    })
    kv.next = { t: 'unavailable', reason: 'r', acceptSent: false }
    assert.equal((await call('DELETE', keyPath('k'))).json().indeterminate, false)
    kv.next = { t: 'unavailable', reason: 'r', acceptSent: true }
    const get = await call('GET', keyPath('k'))
    assert.equal(get.status, 503)
    assert.equal(get.json().indeterminate, undefined)
  })

  it('the service’s invalid answers keep their code; one its operation cannot give is a 500', async () => {
    kv.next = { t: 'invalid', code: 'ERR_KV_KEY_TOO_LONG', message: 'key is too long' }
    const r = await call('PUT', keyPath('k'), 'v')
    assert.equal(r.status, 400)
    assert.deepEqual(r.json().error, { code: 'ERR_KV_KEY_TOO_LONG', message: 'key is too long' })
    kv.next = { t: 'found', value: new Uint8Array(1), version: 1 }
    const wrong = await call('PUT', keyPath('k'), 'v')
    assert.equal(wrong.status, 500)
    assert.equal(wrong.json().error?.code, 'INTERNAL')
  })

  it('groups answers the service’s view as JSON', async () => {
    const r = await call('GET', '/v1/kv/groups')
    assert.equal(r.status, 200)
    assert.deepEqual(r.json(), kv.groups())
  })

  it('the routes need the token, and other methods or paths under /v1/kv are 404', async () => {
    const noToken = await call('GET', keyPath('k'), undefined, { authorization: '' })
    assert.equal(noToken.status, 401)
    for (const [method, path] of [
      ['POST', keyPath('k')],
      ['GET', '/v1/kv/keys/'],
      ['GET', '/v1/kv/keys/a/b'],
      ['PUT', '/v1/kv/groups'],
    ] as const) {
      const r = await call(method, path)
      assert.equal(r.status, 404, `${method} ${path}`)
      assert.equal(r.json().error?.code, 'BAD_REQUEST')
    }
  })

  it('without a KV service every route is 503 with a message saying so', async () => {
    const bare = await startApi(undefined)
    const was = port
    port = bare.port
    try {
      for (const [method, path, body] of [
        ['PUT', keyPath('k'), 'v'],
        ['PUT', `${keyPath('k')}?expect=0`, 'v'],
        ['GET', keyPath('k'), undefined],
        ['DELETE', keyPath('k'), undefined],
        ['GET', '/v1/kv/groups', undefined],
      ] as const) {
        const r = await call(method, path, body)
        assert.equal(r.status, 503, `${method} ${path}`)
        assert.equal(r.json().error?.code, 'UNAVAILABLE')
        assert.match(r.json().error!.message, /runs no key-value store/)
      }
    } finally {
      port = was
      bare.server.closeAllConnections()
      await new Promise<void>((resolve) => bare.server.close(() => resolve()))
    }
  })
})
