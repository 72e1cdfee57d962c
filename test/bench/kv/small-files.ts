/**
 * Small files through the file routes, for comparison with the key-value routes at the same size:
 * `ops` random files of `bytes` put one at a time with `POST /v1/files` (acknowledged at W) through
 * a random daemon, then each got with `GET /v1/files/<cid>` through a different daemon and
 * checked byte for byte. Same 2 s limit and error rules as the key-value phases.
 */
import { randomBytes } from 'node:crypto'
import { ErrorLog } from './errors.js'
import { call, keepAliveAgent, type Outcome, type Target } from './http-client.js'
import { otherIndex, p50p95 } from './stats.js'

export interface SmallFilesResult {
  smallFilePutP50Ms: number | null
  smallFilePutP95Ms: number | null
  smallFileGetP50Ms: number | null
  smallFileGetP95Ms: number | null
  errors: ErrorLog
}

export async function runSmallFiles(init: {
  targets: Target[]
  ops: number
  bytes: number
}): Promise<SmallFilesResult> {
  const { targets } = init
  const agent = keepAliveAgent()
  const errors = new ErrorLog()
  const answered = (o: Outcome, what: string): o is Extract<Outcome, { kind: 'reply' }> => {
    if (o.kind === 'timeout') errors.add('timeouts', `${what}: no answer in 2 s`)
    else if (o.kind === 'failed') errors.add('failed', `${what}: ${o.error}`)
    else if (o.status >= 200 && o.status <= 299) return true
    else errors.add('non2xx', `${what}: ${o.status} ${o.body.subarray(0, 200)}`)
    return false
  }
  try {
    const files = Array.from({ length: init.ops }, () => randomBytes(init.bytes))
    const putVia = files.map(() => Math.floor(Math.random() * targets.length))
    const cids: (string | undefined)[] = []
    const putMs: number[] = []
    for (let i = 0; i < files.length; i++) {
      const o = await call(agent, targets[putVia[i]!]!, 'POST', '/v1/files', files[i]!)
      if (o.kind === 'timeout') putMs.push(o.ms)
      if (answered(o, `file put ${i} via ${putVia[i]}`)) {
        putMs.push(o.ms)
        cids.push(JSON.parse(o.body.toString('utf8')).cid as string)
      } else cids.push(undefined)
    }
    const getMs: number[] = []
    for (let i = 0; i < files.length; i++) {
      const cid = cids[i]
      if (cid === undefined) continue // its put failed: nothing to get
      const t = otherIndex(targets.length, putVia[i]!)
      const o = await call(agent, targets[t]!, 'GET', `/v1/files/${cid}`)
      if (o.kind === 'timeout') getMs.push(o.ms)
      if (!answered(o, `file get ${cid} via ${t}`)) continue
      getMs.push(o.ms)
      if (!o.body.equals(files[i]!)) errors.add('wrong', `file get ${cid} via ${t}: other bytes`)
    }
    const put = p50p95(putMs)
    const get = p50p95(getMs)
    return {
      smallFilePutP50Ms: put.p50,
      smallFilePutP95Ms: put.p95,
      smallFileGetP50Ms: get.p50,
      smallFileGetP95Ms: get.p95,
      errors,
    }
  } finally {
    agent.destroy()
  }
}
