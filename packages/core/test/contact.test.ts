import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { contactFromPeerId, keyForPeer, keyToHex } from '../src/index.js'

describe('contactFromPeerId', () => {
  it('is the peer id string, its key and the addresses given', () => {
    const id = peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA')
    const addrs = ['/ip4/127.0.0.1/tcp/4001']
    const c = contactFromPeerId(id, addrs)
    assert.equal(c.peerId, id.toString())
    assert.equal(keyToHex(c.key), keyToHex(keyForPeer(id)))
    assert.equal(c.addrs, addrs)
  })
})
