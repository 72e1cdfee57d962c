import { SingleBar } from 'cli-progress'
import { formatSize } from './size.js'

export interface Progress {
  update(bytes: number): void
  stop(): void
}

const NO_PROGRESS: Progress = { update() {}, stop() {} }

/**
 * A byte-count bar on stderr, or nothing: a bar is for a human watching a terminal, so it is drawn
 * only when stderr is a TTY, never with `--json`, and never when the data itself goes to the same
 * terminal. `total` undefined (stdin of unknown length) draws a running count without a bar.
 */
export function startProgress(options: {
  label: string
  total: number | undefined
  enabled: boolean
}): Progress {
  if (!options.enabled || !process.stderr.isTTY) return NO_PROGRESS
  const known = options.total !== undefined
  const bar = new SingleBar({
    stream: process.stderr,
    format: known
      ? `${options.label} [{bar}] {percentage}% {done} / {size}  {rate}  eta {eta_formatted}`
      : `${options.label} {done}  {rate}`,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
  })
  const started = performance.now()
  const payload = (bytes: number) => ({
    done: formatSize(bytes),
    size: known ? formatSize(options.total!) : '?',
    rate: `${formatSize(Math.round(bytes / Math.max((performance.now() - started) / 1000, 0.001)))}/s`,
  })
  // cli-progress needs a total; for an unknown one it is never shown, so any positive number does.
  bar.start(known ? Math.max(options.total!, 1) : 1, 0, payload(0))
  return {
    update: (bytes) => bar.update(known ? bytes : 0, payload(bytes)),
    stop: () => bar.stop(),
  }
}
