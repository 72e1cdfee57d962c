/** Latency summaries shared by bench:kv's phases (nearest-rank percentiles, as the other benchmarks). */

export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

/** One decimal, or null when there was nothing to measure (JSON keeps null; NaN would become null silently). */
export function r1(x: number | null): number | null {
  return x === null || !Number.isFinite(x) ? null : Math.round(x * 10) / 10
}

export function p50p95(ms: readonly number[]): { p50: number | null; p95: number | null } {
  return { p50: r1(quantile(ms, 0.5)), p95: r1(quantile(ms, 0.95)) }
}

/** A uniformly random element. */
export function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!
}

/** A uniformly random index other than `not` (needs at least two to choose from). */
export function otherIndex(n: number, not: number): number {
  const i = Math.floor(Math.random() * (n - 1))
  return i >= not ? i + 1 : i
}
