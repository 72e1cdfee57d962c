import assert from 'node:assert/strict'
import { checkLinearizability, type KvOperation } from '@swarmstore/sim'
import { type TestDaemon, TestSwarm, waitFor } from './support/swarm.js'

interface Groups {
  ranges: { range: number; epoch: number; members: string[]; keys: number | null }[]
}

/** One call to a daemon's KV routes: status, version header or JSON version, body. */
async function kv(d: TestDaemon, method: string, key: string, body?: string | Uint8Array, query = '') {
  const res = await fetch(`${d.url}/v1/kv/keys/${encodeURIComponent(key)}${query}`, {
    method,
    ...(body !== undefined ? { body } : {}),
    headers: { authorization: `Bearer ${await d.token()}` },
    signal: AbortSignal.timeout(10_000),
  })
  const bytes = new Uint8Array(await res.arrayBuffer())
  const header = res.headers.get('x-swarmstore-version')
  if (res.status === 200 && method === 'GET') {
    return {
      status: 200,
      version: Number(header),
      indeterminate: undefined,
      text: Buffer.from(bytes).toString(),
    }
  }
  const json = JSON.parse(Buffer.from(bytes).toString() || '{}') as {
    version?: number
    indeterminate?: boolean
    error?: { code: string }
  }
  return { status: res.status, version: json.version, indeterminate: json.indeterminate, text: '' }
}

/** Every daemon's ring: each range on `r` live members, the same map everywhere. */
async function settled(nodes: TestDaemon[], r: number): Promise<Groups> {
  return waitFor(
    'every range on its target members, the same ring everywhere',
    async () => {
      const live = new Set(nodes.map((n) => n.peerId))
      const maps = await Promise.all(nodes.map((n) => n.api<Groups>('/v1/kv/groups')))
      const sig = (g: Groups) => g.ranges.map((x) => `${x.epoch}:${x.members.join(',')}`).join(';')
      const ok = maps.every((g) => g.ranges.length === 4096 && sig(g) === sig(maps[0]!))
      const placed = maps[0]!.ranges.every(
        (x) => x.members.length === r && x.members.every((m) => live.has(m)),
      )
      if (ok && placed) return maps[0]
      const off = maps.map(
        (g) => g.ranges.filter((x) => x.members.length !== r || x.members.some((m) => !live.has(m))).length,
      )
      throw new Error(`ranges off target per node: ${off.join(', ')}; maps agree: ${ok}`)
    },
    240_000,
  )
}

describe('key-value state on 4 daemons as processes (issue 21)', function () {
  this.timeout(400_000)
  let swarm: TestSwarm
  let nodes: TestDaemon[]

  before(async () => {
    swarm = await TestSwarm.create()
    nodes = await swarm.start(4)
    await settled(nodes, 3)
  })
  after(async () => {
    for (const d of swarm?.daemons ?? []) d.proc?.kill('SIGCONT')
    await swarm?.destroy()
  })

  it('put, get from every other node, cas, delete: versions grow by one, across delete', async () => {
    assert.deepEqual((await kv(nodes[0]!, 'PUT', 'greeting', 'hello')).status, 200)
    for (const d of nodes.slice(1)) {
      const r = await kv(d, 'GET', 'greeting')
      assert.deepEqual([r.status, r.version, r.text], [200, 1, 'hello'])
    }
    const wrong = await kv(nodes[1]!, 'PUT', 'greeting', 'x', '?expect=7')
    assert.equal(wrong.status, 409)
    assert.equal(wrong.version, 1, 'a conflict names the current version')
    assert.equal((await kv(nodes[2]!, 'PUT', 'greeting', 'hi', '?expect=1')).version, 2)
    assert.equal(
      (await kv(nodes[3]!, 'PUT', 'greeting', 'y', '?expect=0')).status,
      409,
      'expect 0: only if absent',
    )
    assert.equal((await kv(nodes[3]!, 'DELETE', 'greeting')).version, 3)
    const gone = await kv(nodes[0]!, 'GET', 'greeting')
    assert.equal(gone.status, 404)
    assert.equal(gone.version, 3, 'the tombstone keeps the counter')
    assert.equal((await kv(nodes[1]!, 'PUT', 'greeting', 'again', '?expect=0')).version, 4, 'never reused')
  })

  it('bad input is refused and stores nothing', async () => {
    assert.equal((await kv(nodes[0]!, 'PUT', 'k'.repeat(1025), 'v')).status, 400)
    assert.equal((await kv(nodes[0]!, 'PUT', 'big', new Uint8Array((1 << 20) + 1))).status, 413)
    const big = await kv(nodes[1]!, 'GET', 'big')
    assert.deepEqual([big.status, big.version], [404, 0])
    assert.equal(
      (await kv(nodes[0]!, 'PUT', 'max', new Uint8Array(1 << 20))).status,
      200,
      'exactly 1 MiB is allowed',
    )
  })

  it('5 clients on 3 hot keys while a member is killed -9, restarted, and frozen: the history is linearizable', async () => {
    const history: KvOperation[] = []
    const hot = ['hot/a', 'hot/b', 'hot/c']
    let stop = false
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) history.push(await randomOp(nodes, c, i, hot))
    }
    const clients = Array.from({ length: 5 }, (_, c) => client(c))
    const victim = nodes[2]!
    await sleep(5_000)
    await victim.kill('SIGKILL')
    await sleep(5_000)
    await victim.start()
    await sleep(5_000)
    victim.proc?.kill('SIGSTOP')
    await sleep(8_000)
    victim.proc?.kill('SIGCONT')
    await sleep(5_000)
    stop = true
    await Promise.all(clients)
    const report = checkLinearizability(history, { maxMs: 60_000 })
    const answered = history.filter(
      (o) => o.result.type !== 'indeterminate' && o.result.type !== 'failed',
    ).length
    assert.ok(answered > 100, `only ${answered} operations answered`)
    assert.equal(report.ok, true, JSON.stringify(report).slice(0, 2000))
  })

  it('a member killed for good is replaced: every range back on 3 live members, the data readable', async () => {
    await kv(nodes[0]!, 'PUT', 'survivor', 'still here')
    const dead = nodes[3]!
    await dead.kill('SIGKILL')
    const rest = nodes.slice(0, 3)
    const t0 = Date.now()
    await settled(rest, 3)
    const replacedMs = Date.now() - t0
    assert.ok(replacedMs < 240_000, `replaced in ${replacedMs} ms`)
    for (const d of rest) assert.equal((await kv(d, 'GET', 'survivor')).text, 'still here')
  })
})

type Answer = Awaited<ReturnType<typeof kv>>

async function randomOp(nodes: TestDaemon[], c: number, i: number, keys: string[]): Promise<KvOperation> {
  const key = keys[Math.floor(Math.random() * keys.length)]!
  const via = nodes[Math.floor(Math.random() * nodes.length)]!
  const x = Math.random()
  const value = `c${c}-${i}`
  const base = { id: `${c}.${i}`, client: c, key, invokeAt: performance.now() }
  const call = async (method: string, body?: string, query?: string): Promise<Answer | undefined> => {
    try {
      return await kv(via, method, key, body, query)
    } catch {
      return undefined // refused (the node is down) or timed out: the outcome is unknown
    }
  }
  if (x < 0.4) {
    const r = await call('PUT', value)
    return { ...base, op: 'put', args: { value }, returnAt: performance.now(), result: write(r) }
  }
  if (x < 0.8) {
    const r = await call('GET')
    return { ...base, op: 'get', returnAt: performance.now(), result: read(r) }
  }
  if (x < 0.9) {
    const r = await call('DELETE')
    const result = r?.status === 404 ? { type: 'notFound' as const, version: r.version! } : write(r)
    return { ...base, op: 'delete', returnAt: performance.now(), result }
  }
  const expect = Math.floor(Math.random() * 4)
  const r = await call('PUT', value, `?expect=${expect}`)
  const result = r?.status === 409 ? { type: 'conflict' as const, version: r.version! } : write(r)
  return { ...base, op: 'cas', args: { expect, value }, returnAt: performance.now(), result }
}

/** A write's answer: ok with its version; a 503 that says it is not indeterminate surely had no effect. */
function write(r: Answer | undefined) {
  if (r?.status === 200) return { type: 'ok' as const, version: r.version! }
  if (r?.status === 503 && r.indeterminate === false) return { type: 'failed' as const }
  return { type: 'indeterminate' as const }
}

function read(r: Answer | undefined) {
  if (r?.status === 200) return { type: 'found' as const, value: r.text, version: r.version! }
  if (r?.status === 404) return { type: 'notFound' as const, version: r.version! }
  return { type: 'failed' as const } // a read without an answer changes nothing
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
