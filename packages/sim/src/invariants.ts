import { InvariantViolation } from './errors.js'

/**
 * Invariant checkers in the style of TigerBeetle's VOPR: a named predicate over the simulated
 * world, checked on demand or periodically; a failure names the seed so the run can be replayed.
 */
export class InvariantChecker {
  private readonly checks: { name: string; check: () => string | undefined | boolean }[] = []
  failures = 0

  constructor(readonly seed: number) {}

  /** `check` returns true/undefined when the invariant holds, or false/a description when it does not. */
  add(name: string, check: () => string | undefined | boolean): this {
    this.checks.push({ name, check })
    return this
  }

  /** Runs every check; throws InvariantViolation (and prints the seed) on the first failure. */
  checkAll(context = ''): void {
    for (const { name, check } of this.checks) {
      const r = check()
      if (r === true || r === undefined) continue
      this.fail(
        `invariant "${name}" violated${context ? ` ${context}` : ''}${typeof r === 'string' ? `: ${r}` : ''}`,
      )
    }
  }

  fail(message: string): never {
    this.failures++
    const err = new InvariantViolation(this.seed, message)
    console.error(`[sim] ${err.message}`)
    throw err
  }
}

/** The seed to use: SIM_SEED from the environment when set (to replay a failure), else the default. */
export function seedFromEnv(defaultSeed: number): number {
  const s = process.env.SIM_SEED // io-edge: replay knob
  if (s === undefined || s === '') return defaultSeed
  const n = Number(s)
  if (!Number.isInteger(n)) throw new TypeError(`SIM_SEED must be an integer, got ${s}`)
  return n >>> 0
}

/**
 * Runs a seeded scenario; if it throws, the error message is prefixed with the seed (printed too)
 * so that `SIM_SEED=<seed>` replays exactly the failing run.
 */
export async function withSeed<T>(seed: number, scenario: (seed: number) => Promise<T>): Promise<T> {
  try {
    return await scenario(seed)
  } catch (err) {
    if (err instanceof InvariantViolation) throw err
    const msg = err instanceof Error ? err.message : String(err)
    console.error(`[sim] failed with seed=${seed} (replay with SIM_SEED=${seed}): ${msg}`)
    if (err instanceof Error) {
      err.message = `[seed=${seed}] ${msg}`
      throw err
    }
    throw new Error(`[seed=${seed}] ${msg}`)
  }
}
