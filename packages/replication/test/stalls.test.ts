import assert from 'node:assert/strict'
import { PeerStalls } from '../src/index.js'

describe('PeerStalls', () => {
  it('a peer with an unanswered request is stalled after afterMs, and an answer clears it', () => {
    const s = new PeerStalls()
    s.sent('a', 0)
    assert.equal(s.stalled('a', 50, 50), false)
    assert.equal(s.stalled('a', 51, 50), true)
    s.sent('a', 60) // a second request does not restart the clock: the peer is still silent
    assert.equal(s.stalled('a', 70, 50), true)
    s.settled('a', 80, true) // it answered one: not stalled, one still pending
    assert.equal(s.stalled('a', 120, 50), false)
    assert.equal(s.stalled('a', 131, 50), true)
    s.settled('a', 140, true)
    assert.equal(s.stalled('a', 1000, 50), false)
    assert.equal(s.size, 0)
  })

  it('a request that ends without an answer (timeout, reset) does not count as an answer', () => {
    const s = new PeerStalls()
    s.sent('a', 0)
    s.sent('a', 10)
    s.settled('a', 100, false)
    assert.equal(s.stalled('a', 101, 50), true)
    s.settled('a', 200, false)
    assert.equal(s.stalled('a', 201, 50), false, 'nothing outstanding: nothing to be stalled on')
    assert.equal(s.size, 0)
  })

  it('peers are independent, and a peer never asked is never stalled', () => {
    const s = new PeerStalls()
    s.sent('a', 0)
    s.sent('b', 40)
    assert.equal(s.stalled('a', 60, 50), true)
    assert.equal(s.stalled('b', 60, 50), false)
    assert.equal(s.stalled('c', 60, 50), false)
    s.settled('c', 60, true) // unknown peer: ignored
    assert.equal(s.size, 2)
  })
})
