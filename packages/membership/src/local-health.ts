/**
 * Lifeguard's local health (memberlist "awareness"): a score in [0, max − 1] that rises when this
 * node misses acks and nacks it should have received (a sign that *it* is slow or cut off) and falls
 * on each successful probe. Timeouts are multiplied by (score + 1), so a struggling node probes
 * more patiently and suspects more slowly instead of accusing healthy members.
 */
export class LocalHealth {
  private value = 0

  constructor(private readonly maxMultiplier: number) {}

  get score(): number {
    return this.value
  }

  apply(delta: number): void {
    this.value = Math.min(this.maxMultiplier - 1, Math.max(0, this.value + delta))
  }

  scale(ms: number): number {
    return ms * (this.value + 1)
  }
}
