/**
 * The control API as bench:kv calls it: plain `node:http` over keep-alive agents (what a real
 * client of the daemon does), one request per operation, each abandoned after 2 s.
 */
import { Agent, type IncomingHttpHeaders, request } from 'node:http'

/** An operation not answered within this is abandoned and counted as an error (issue 21). */
export const OP_TIMEOUT_MS = 2_000

export interface Target {
  /** the control API's base URL, `http://127.0.0.1:port` */
  url: string
  token: string
}

export type Outcome =
  | {
      kind: 'reply'
      status: number
      body: Buffer
      headers: IncomingHttpHeaders
      ms: number
      retried: boolean
    }
  | { kind: 'timeout'; ms: number }
  | { kind: 'failed'; ms: number; error: string }

export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true })
}

export const kvPath = (key: string) => `/v1/kv/keys/${encodeURIComponent(key)}`

function once(
  agent: Agent,
  target: Target,
  method: string,
  path: string,
  body: Uint8Array | undefined,
  deadline: number,
): Promise<
  { status: number; body: Buffer; headers: IncomingHttpHeaders } | { error: Error; reused: boolean }
> {
  return new Promise((resolve) => {
    const req = request(`${target.url}${path}`, {
      agent,
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body ? { 'content-type': 'application/octet-stream', 'content-length': body.byteLength } : {}),
      },
    })
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timeout'), { code: 'BENCH_TIMEOUT' })),
      Math.max(0, deadline - performance.now()),
    )
    req.once('error', (error) => {
      clearTimeout(timer)
      resolve({ error, reused: req.reusedSocket })
    })
    req.once('response', (res) => {
      const parts: Buffer[] = []
      res.on('data', (b: Buffer) => parts.push(b))
      res.once('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers })
      })
      res.once('error', (error) => {
        clearTimeout(timer)
        resolve({ error, reused: false })
      })
    })
    req.end(body)
  })
}

/**
 * One request. A keep-alive socket the server closed just as it was reused fails with ECONNRESET
 * before any answer; that request is sent once more on a fresh socket (Node's documented pattern
 * for `reusedSocket`), inside the same 2 s, and the reply says it was retried.
 */
export async function call(
  agent: Agent,
  target: Target,
  method: string,
  path: string,
  body?: Uint8Array,
  timeoutMs = OP_TIMEOUT_MS,
): Promise<Outcome> {
  const t0 = performance.now()
  const deadline = t0 + timeoutMs
  let retried = false
  for (;;) {
    const r = await once(agent, target, method, path, body, deadline)
    const ms = performance.now() - t0
    if (!('error' in r)) return { kind: 'reply', ...r, ms, retried }
    const code = (r.error as NodeJS.ErrnoException).code
    if (code === 'BENCH_TIMEOUT') return { kind: 'timeout', ms }
    if (code === 'ECONNRESET' && r.reused && !retried) {
      retried = true
      continue
    }
    return { kind: 'failed', ms, error: `${code ?? r.error.name}: ${r.error.message}` }
  }
}

/** A get's 404 for an absent key (code NOT_FOUND), not the 404 of a path no route serves. */
export function isAbsentKey(o: Outcome): boolean {
  if (o.kind !== 'reply' || o.status !== 404) return false
  try {
    return JSON.parse(o.body.toString('utf8')).error?.code === 'NOT_FOUND'
  } catch {
    return false
  }
}

/** The version a KV answer carries: the header of a get, the JSON body of a put. */
export function versionOf(o: Outcome): number | undefined {
  if (o.kind !== 'reply') return undefined
  const h = o.headers['x-swarmstore-version']
  if (typeof h === 'string') return Number(h)
  try {
    const v = JSON.parse(o.body.toString('utf8')).version
    return typeof v === 'number' ? v : undefined
  } catch {
    return undefined
  }
}

/**
 * The sum of a Prometheus counter over every daemon (all its label sets). Each daemon's /metrics
 * is read once; a daemon that does not answer makes the whole sum NaN rather than silently low.
 */
export async function counterSum(targets: Target[], name: string): Promise<number> {
  const agent = keepAliveAgent()
  try {
    const each = await Promise.all(
      targets.map(async (t) => {
        const o = await call(agent, t, 'GET', '/metrics', undefined, 10_000)
        if (o.kind !== 'reply' || o.status !== 200) return Number.NaN
        let sum = 0
        for (const line of o.body.toString('utf8').split('\n')) {
          if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
            sum += Number(line.split(' ').at(-1))
        }
        return sum
      }),
    )
    return each.reduce((a, b) => a + b, 0)
  } finally {
    agent.destroy()
  }
}
