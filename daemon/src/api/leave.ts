import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { Handoff } from '../handoff.js'
import type { StopRequests } from '../stop-requests.js'
import { errorCode, publicCode, sendError } from './http.js'

export interface LeaveContext {
  log: Logger
  handoff: Pick<Handoff, 'check' | 'run'>
  stopRequests: Pick<StopRequests, 'request'>
}

/**
 * `POST /v1/leave`: hands this node's chunks off, streaming NDJSON events, then answers
 * `{"event":"stopping","pid"}` and stops as a leave. A client that goes away cancels the handoff and
 * the node keeps running (what was sent stays sent). Refusals that can be known up front (fewer
 * than R other members, a leave already running) are plain error answers, before any event.
 */
export async function leaveSwarm(
  api: LeaveContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  api.handoff.check()
  const cancelled = new AbortController()
  let finished = false
  res.on('close', () => {
    if (!finished) cancelled.abort()
  })
  req.resume()
  res.writeHead(200, { 'content-type': 'application/x-ndjson' })
  try {
    for await (const e of api.handoff.run(cancelled.signal)) res.write(`${JSON.stringify(e)}\n`)
  } catch (err) {
    if (cancelled.signal.aborted) {
      api.log.info('leave cancelled (the client went away); the node keeps running')
      return
    }
    const code = errorCode(err)
    if (code === 'INTERNAL') return sendError(res, err, api.log)
    res.end(
      `${JSON.stringify({ event: 'error', error: { code: publicCode(code), message: (err as Error).message } })}\n`,
    )
    return
  }
  finished = true
  res.once('finish', () => api.stopRequests.request('leave'))
  res.end(`${JSON.stringify({ event: 'stopping', pid: process.pid })}\n`)
}
