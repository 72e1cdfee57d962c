/**
 * The sequential phase of bench:kv: one operation at a time, so each latency is that of the
 * production path alone. `ops` distinct keys are put, each through a random daemon; then each is
 * read back through a different daemon and checked byte for byte, and its version against the
 * put's; then the first `casOps` of them are compare-and-set with the version their put answered
 * (each must succeed with a higher version), and each result is read back (not timed) through yet
 * another daemon. A few keys of its own are put and read first, untimed, so the first timed
 * operations do not pay for the connections and the daemons' first compiles.
 */
import { randomBytes } from 'node:crypto'
import { ErrorLog } from './errors.js'
import {
  call,
  isAbsentKey,
  keepAliveAgent,
  kvPath,
  type Outcome,
  type Target,
  versionOf,
} from './http-client.js'
import { otherIndex, p50p95 } from './stats.js'

export interface SequentialInit {
  targets: Target[]
  ops: number
  casOps: number
  valueBytes: number
  /** untimed put + get pairs before the timed ones */
  warmupOps: number
  /** a prefix of every key, apart from the other phases' */
  prefix: string
}

export interface SequentialResult {
  putP50Ms: number | null
  putP95Ms: number | null
  getP50Ms: number | null
  getP95Ms: number | null
  casP50Ms: number | null
  casP95Ms: number | null
  casOps: number
  errors: ErrorLog
}

const ok = (o: Outcome) => o.kind === 'reply' && o.status >= 200 && o.status <= 299

/** Latencies include timeouts (at 2 s) so that leaving them out does not flatter the percentiles. */
const timedOrAnswered = (o: Outcome) => ok(o) || o.kind === 'timeout'

export async function runSequential(init: SequentialInit): Promise<SequentialResult> {
  const { targets } = init
  const agent = keepAliveAgent()
  const errors = new ErrorLog()
  const n = targets.length
  const via = () => Math.floor(Math.random() * n)

  /** Counts a failed answer; true if the answer is a 2xx. */
  const answered = (o: Outcome, what: string, allow404 = false): boolean => {
    if (o.kind === 'timeout') errors.add('timeouts', `${what}: no answer in 2 s`)
    else if (o.kind === 'failed') errors.add('failed', `${what}: ${o.error}`)
    else if (ok(o) || (allow404 && isAbsentKey(o))) return ok(o)
    else errors.add('non2xx', `${what}: ${o.status} ${o.body.subarray(0, 200)}`)
    return false
  }

  const put = async (key: string, value: Uint8Array, t: number, expect?: number) => {
    const q = expect === undefined ? '' : `?expect=${expect}`
    const o = await call(agent, targets[t]!, 'PUT', `${kvPath(key)}${q}`, value)
    const good = answered(o, `${expect === undefined ? 'put' : 'cas'} ${key} via ${t}`)
    return { o, version: good ? versionOf(o) : undefined }
  }

  /** A get through daemon t that must return `value` at `version` (either may be unknown if the write failed). */
  const getAndCheck = async (key: string, t: number, value: Uint8Array, version: number | undefined) => {
    const o = await call(agent, targets[t]!, 'GET', kvPath(key))
    if (version !== undefined && isAbsentKey(o)) {
      errors.add('wrong', `get ${key} via ${t}: not found after its write was acknowledged at ${version}`)
      return o
    }
    // a write that failed may not have happened: then "not found" is a right answer too
    if (!answered(o, `get ${key} via ${t}`, version === undefined) || o.kind !== 'reply') return o
    if (!o.body.equals(value))
      errors.add('wrong', `get ${key} via ${t}: other bytes (${o.body.byteLength} B)`)
    else if (version !== undefined && versionOf(o) !== version)
      errors.add('wrong', `get ${key} via ${t}: version ${versionOf(o)}, the write answered ${version}`)
    return o
  }

  try {
    for (let i = 0; i < init.warmupOps; i++) {
      const key = `${init.prefix}warm-${i}`
      const value = randomBytes(init.valueBytes)
      const t = via()
      const { version } = await put(key, value, t)
      await getAndCheck(key, otherIndex(n, t), value, version)
    }

    const keys = Array.from({ length: init.ops }, (_, i) => `${init.prefix}${i}`)
    const values = keys.map(() => randomBytes(init.valueBytes))
    const putVia = keys.map(via)
    const versions: (number | undefined)[] = []
    const putMs: number[] = []
    for (let i = 0; i < keys.length; i++) {
      const { o, version } = await put(keys[i]!, values[i]!, putVia[i]!)
      versions.push(version)
      if (timedOrAnswered(o)) putMs.push(o.ms)
    }

    const getMs: number[] = []
    for (let i = 0; i < keys.length; i++) {
      const o = await getAndCheck(keys[i]!, otherIndex(n, putVia[i]!), values[i]!, versions[i])
      if (timedOrAnswered(o)) getMs.push(o.ms)
    }

    const casMs: number[] = []
    let casOps = 0
    for (let i = 0; i < keys.length && casOps < init.casOps; i++) {
      const expect = versions[i]
      if (expect === undefined) continue // its put failed: no version to expect
      casOps++
      const value = randomBytes(init.valueBytes)
      const t = via()
      const { o, version } = await put(keys[i]!, value, t, expect)
      if (timedOrAnswered(o)) casMs.push(o.ms)
      if (version === undefined) continue // failed (counted); a cas that timed out may or may not hold
      if (!(version > expect))
        errors.add('wrong', `cas ${keys[i]} via ${t}: answered version ${version}, not above ${expect}`)
      await getAndCheck(keys[i]!, otherIndex(n, t), value, version)
    }

    const put50 = p50p95(putMs)
    const get50 = p50p95(getMs)
    const cas50 = p50p95(casMs)
    return {
      putP50Ms: put50.p50,
      putP95Ms: put50.p95,
      getP50Ms: get50.p50,
      getP95Ms: get50.p95,
      casP50Ms: cas50.p50,
      casP95Ms: cas50.p95,
      casOps,
      errors,
    }
  } finally {
    agent.destroy()
  }
}
