/**
 * Time and randomness are injected into every state machine (routing, membership, replication),
 * so the same code runs inside the daemon and in the seeded simulator, where a run replays exactly.
 */

export type TimerHandle = { readonly id: number }

export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic. */
  now(): number
  /** Calls fn after ms milliseconds; the returned handle cancels it. */
  setTimer(ms: number, fn: () => void): TimerHandle
  clearTimer(handle: TimerHandle): void
}

export interface Random {
  /** Uniform float in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  /** Fills a new array of n random bytes. */
  bytes(n: number): Uint8Array
}

/**
 * Seeded PRNG: SplitMix64 seeding a xoshiro128**. Fast, good statistical quality, and exactly
 * reproducible from a 32-bit seed across platforms (only 32-bit integer ops).
 */
export class SeededRandom implements Random {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: number) {
    let x = seed >>> 0
    const sm = (): number => {
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.s0 = sm()
    this.s1 = sm()
    this.s2 = sm()
    this.s3 = sm()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  next(): number {
    return this.nextUint32() / 0x1_0000_0000
  }

  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      const v = this.nextUint32()
      out[i] = v & 0xff
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff
      if (i + 3 < n) out[i + 3] = v >>> 24
    }
    return out
  }

  /** Derives an independent stream, e.g. one per simulated node. */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32())
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

let nextTimerId = 1

/** The real clock, for the daemon. */
export class SystemClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>()

  now(): number {
    return performance.now() // io-edge
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = nextTimerId++
    const fire = () => {
      this.timers.delete(id)
      fn()
    }
    const t = setTimeout(fire, ms) // io-edge: SystemClock is the real clock
    t.unref?.()
    this.timers.set(id, t)
    return { id }
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.timers.get(handle.id)
    if (t !== undefined) {
      clearTimeout(t)
      this.timers.delete(handle.id)
    }
  }
}

/**
 * Unseeded randomness, for the daemon. `next` and `int` are not cryptographic: they come from the
 * JavaScript engine's PRNG (V8's xorshift128+, predictable from a few outputs), which is enough for
 * what they choose here (probe order, jitter, which peer to ask) and never for a secret or a nonce.
 * `bytes` comes from crypto.getRandomValues, which is cryptographic.
 */
export class SystemRandom implements Random {
  next(): number {
    return Math.random() // io-edge
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  bytes(n: number): Uint8Array {
    return new Uint8Array(globalThis.crypto.getRandomValues(new Uint8Array(n))) // io-edge
  }
}
