import assert from 'node:assert/strict'
import { RingMap } from '../src/kv/ring.js'

const config = (epoch: number, members = ['a', 'b', 'c']) => ({ epoch, members })

describe('RingMap (the ring of key-value groups each node keeps)', () => {
  it('its digest covers configurations, not sizes: a busy range does not make gossip ship the map', () => {
    const ring = new RingMap()
    ring.learn(7, config(1))
    const before = ring.digest()
    assert.ok(ring.learn(7, config(1), 500, true), 'an own count is taken')
    assert.equal(ring.digest(), before)
    assert.ok(ring.learn(7, config(2, ['a', 'b', 'd'])))
    assert.notEqual(ring.digest(), before, 'a new epoch changes the digest')
  })

  it('keeps its own count of a range against gossip, and takes the newest gossiped count otherwise', () => {
    const ring = new RingMap()
    ring.learn(1, config(3), 10, true)
    assert.equal(ring.learn(1, config(3), 99), false)
    assert.equal(ring.entry(1)?.keys, 10)
    ring.learn(2, config(3), 10)
    assert.ok(ring.learn(2, config(3), 12))
    assert.equal(ring.entry(2)?.keys, 12)
    // a configuration heard without a size keeps the size of its epoch, and drops it on a new epoch
    assert.equal(ring.learn(2, config(3)), false)
    assert.equal(ring.entry(2)?.keys, 12)
    ring.learn(2, config(4))
    assert.equal(ring.entry(2)?.keys, null)
  })

  it('round-trips through the wire form, sizes included', () => {
    const a = new RingMap()
    a.learn(0, config(2), 4, true)
    a.learn(4095, config(5, ['x', 'y', 'z']), 1)
    const b = new RingMap()
    assert.deepEqual(
      b.merge(a.toWire()).sort((x, y) => x - y),
      [0, 4095],
    )
    assert.equal(b.digest(), a.digest())
    assert.deepEqual([b.entry(0)?.keys, b.entry(4095)?.keys], [4, 1])
  })
})
