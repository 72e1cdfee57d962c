/**
 * Durations on the command line: `500ms`, `30s`, `2m`, `1h`, or a plain number of milliseconds.
 * Decimals are fine (`1.5s`); the result is whole milliseconds.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * setTimeout treats any delay above 2^31-1 ms (about 24.8 days) as 1 ms, so a longer "timeout" would
 * fire at once; refuse it rather than time out immediately.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1

/** Milliseconds in `text`; throws with words for the user when it is not a positive duration. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/i.exec(text)
  if (match === null) {
    throw new Error(`'${text}' is not a duration (examples: 500ms, 30s, 2m, 1h; a plain number is ms)`)
  }
  const unit = (match[2] ?? 'ms').toLowerCase()
  const ms = Math.round(Number(match[1]) * UNIT_MS[unit]!)
  if (ms <= 0) throw new Error(`duration '${text}' must be at least 1ms`)
  if (ms > MAX_DURATION_MS) throw new Error(`duration '${text}' is longer than the maximum (24 days)`)
  return ms
}

/** `1500` → `1.5s`: the inverse of parseDuration for messages. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0) return `${ms / 60_000}m`
  if (ms >= 1000) return `${ms / 1000}s`
  return `${ms}ms`
}
