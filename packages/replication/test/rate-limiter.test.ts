import assert from 'node:assert/strict'
import { TokenBucket } from '../src/index.js'

class ManualClock {
  t = 0
  now(): number {
    return this.t
  }
}

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate on the injected clock', () => {
    const clock = new ManualClock()
    const b = new TokenBucket({ clock, ratePerSecond: 100, burst: 50 })
    assert.ok(b.tryTake(50))
    assert.equal(b.tryTake(1), false)
    assert.equal(b.delayFor(10), 100)
    clock.t = 100
    assert.ok(b.tryTake(10))
    assert.equal(b.tryTake(1), false)
    clock.t = 10_000
    assert.equal(b.available(), 50, 'capped at burst')
  })

  it('lets one request larger than the burst through when full, then owes for it', () => {
    const clock = new ManualClock()
    const b = new TokenBucket({ clock, ratePerSecond: 10, burst: 10 })
    assert.ok(b.tryTake(30))
    assert.equal(b.available(), -20)
    assert.equal(b.delayFor(5), 2500)
    clock.t = 2500
    assert.ok(b.tryTake(5))
  })

  it('over a long run grants at most rate × time + burst', () => {
    const clock = new ManualClock()
    const b = new TokenBucket({ clock, ratePerSecond: 1000, burst: 200 })
    let granted = 0
    for (clock.t = 0; clock.t <= 60_000; clock.t += 7) if (b.tryTake(64)) granted += 64
    assert.ok(granted <= 1000 * 60 + 200, `granted ${granted}`)
    assert.ok(granted >= 1000 * 60 - 200, `granted ${granted}`)
  })
})
