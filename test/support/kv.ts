/** Key-value helpers for tests against real daemons: the routes, histories, the ring settling. */
import { createHash } from 'node:crypto'
import type { KvOperation } from '@swarmstore/sim'
import { type TestDaemon, waitFor } from './swarm.js'

export interface Groups {
  ranges: { range: number; epoch: number; members: string[]; keys: number | null }[]
}

/** The range of a key, computed here independently of the code under test (top 12 bits). */
export function rangeOfKey(key: string): number {
  const k = createHash('sha256').update('swarmstore/kv\0').update(key, 'utf8').digest()
  return ((k[0]! << 8) | k[1]!) >>> 4
}

/** One call to a daemon's KV routes: status, version (header or JSON), whether indeterminate, body. */
export async function kv(
  d: TestDaemon,
  method: string,
  key: string,
  body?: string | Uint8Array,
  query = '',
  timeoutMs = 10_000,
) {
  const res = await fetch(`${d.url}/v1/kv/keys/${encodeURIComponent(key)}${query}`, {
    method,
    ...(body !== undefined ? { body } : {}),
    headers: { authorization: `Bearer ${await d.token()}` },
    signal: AbortSignal.timeout(timeoutMs),
  })
  const bytes = new Uint8Array(await res.arrayBuffer())
  const header = res.headers.get('x-swarmstore-version')
  if (res.status === 200 && method === 'GET') {
    return {
      status: 200,
      version: Number(header),
      indeterminate: undefined,
      text: Buffer.from(bytes).toString(),
      code: undefined,
    }
  }
  const json = JSON.parse(Buffer.from(bytes).toString() || '{}') as {
    version?: number
    indeterminate?: boolean
    error?: { code: string }
  }
  return {
    status: res.status,
    version: json.version,
    indeterminate: json.indeterminate,
    text: '',
    code: json.error?.code,
  }
}

/** Every daemon's ring: each range on `r` of these daemons, the same map everywhere. */
export async function settled(nodes: TestDaemon[], r: number, timeoutMs = 240_000): Promise<Groups> {
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
    timeoutMs,
  )
}

type Answer = Awaited<ReturnType<typeof kv>>

/**
 * One random operation (40 % put, 40 % get, 10 % delete, 10 % cas) on one of `keys` through one of
 * `nodes`, recorded for the linearizability checker: a write without an answer is indeterminate.
 */
export async function randomOp(
  nodes: TestDaemon[],
  c: number,
  i: number,
  keys: string[],
  timeoutMs = 10_000,
): Promise<KvOperation> {
  const key = keys[Math.floor(Math.random() * keys.length)]!
  const via = nodes[Math.floor(Math.random() * nodes.length)]!
  const x = Math.random()
  const value = `c${c}-${i}`
  const base = { id: `${c}.${i}`, client: c, key, invokeAt: performance.now() }
  const call = async (method: string, body?: string, query?: string): Promise<Answer | undefined> => {
    try {
      return await kv(via, method, key, body, query, timeoutMs)
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

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
