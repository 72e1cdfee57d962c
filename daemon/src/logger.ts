import { type DestinationStream, type Logger, pino } from 'pino'
import type { DaemonConfig } from './config.js'

/**
 * The daemon's logger, on stderr: JSON lines for machines (a file, journald, a log shipper), or
 * pino-pretty's one readable line per event when a person watches a terminal. `auto` picks by
 * whether stderr is a terminal. Pretty printing runs in this process, synchronously (no worker
 * thread), so the last lines before an exit are never lost; its cost only matters at debug level.
 */
export async function createLogger(config: Pick<DaemonConfig, 'logLevel' | 'logFormat'>): Promise<Logger> {
  const pretty =
    config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stderr.isTTY === true)
  const options = { level: config.logLevel, base: { pid: process.pid } }
  if (!pretty) return pino(options, pino.destination(2))
  const { default: pinoPretty } = await import('pino-pretty')
  const stream: DestinationStream = pinoPretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  })
  return pino(options, stream)
}
