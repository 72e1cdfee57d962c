import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  bitAt,
  commonPrefixLength,
  compareDistance,
  compareKeys,
  KEY_BITS,
  keyForCid,
  keyForKvName,
  keyForPeer,
  keyFromHex,
  keyToHex,
  xor,
} from '../src/index.js'

// Vectors cross-checked outside JavaScript: python3 hashlib over the base58-decoded peer id
// (identity multihash, 38 bytes) and over 0x12 0x20 || sha256(data) for the CIDs.
const PEER_VECTORS = [
  {
    peerId: '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
    key: 'a9fb3b592b9e6cee5658eaf7de67433434163a081d97cc77e303b300c816251e',
  },
]
const CID_VECTORS = [
  {
    data: 'hello swarmstore',
    cid: 'bafkreicetwaecndekjjlygbwijql6h6wnezpucn4hx6jw23cto4q2hrzqu',
    key: '7955910a8a8ec9dc2e07790f2ca158330dfc2efb17120e7906cf071c4ce658e4',
  },
  {
    data: '',
    cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku',
    key: '6e4ab70ca6e24956137e4aacfa0ecf95feadddb6335f10d7a841eb8cc8daadfe',
  },
]

const key = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('keyspace', () => {
  it('peer id → key test vectors', () => {
    for (const v of PEER_VECTORS) assert.equal(keyToHex(keyForPeer(peerIdFromString(v.peerId))), v.key)
  })

  it('CID → key test vectors (key ignores the codec, uses the multihash)', async () => {
    for (const v of CID_VECTORS) {
      const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(v.data)))
      assert.equal(cid.toString(), v.cid)
      assert.equal(keyToHex(keyForCid(cid)), v.key)
      const asCbor = CID.createV1(0x71, cid.multihash)
      assert.equal(keyToHex(keyForCid(asCbor)), v.key)
    }
  })

  it('XOR metric: identity, symmetry, triangle inequality, unidirectionality', () => {
    fc.assert(
      fc.property(key, key, key, (a, b, c) => {
        assert.equal(compareKeys(xor(a, a), new Uint8Array(32)), 0)
        assert.equal(compareKeys(xor(a, b), xor(b, a)), 0)
        // d(a,c) <= d(a,b) XOR-sum bound: d(a,b) ^ d(b,c) == d(a,c), and x^y <= x+y.
        const ab = BigInt('0x' + keyToHex(xor(a, b)))
        const bc = BigInt('0x' + keyToHex(xor(b, c)))
        const ac = BigInt('0x' + keyToHex(xor(a, c)))
        assert.ok(ac <= ab + bc)
        // Unidirectional: for a given a and distance d there is exactly one b.
        assert.equal(compareKeys(xor(a, xor(a, b)), b), 0)
      }),
    )
  })

  it('compareDistance agrees with comparing XOR distances', () => {
    fc.assert(
      fc.property(key, key, key, (a, b, t) => {
        assert.equal(compareDistance(a, b, t), compareKeys(xor(a, t), xor(b, t)))
      }),
    )
  })

  it('commonPrefixLength and bitAt agree', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        const cpl = commonPrefixLength(a, b)
        for (let i = 0; i < cpl; i++) assert.equal(bitAt(a, i), bitAt(b, i))
        if (cpl < KEY_BITS) assert.notEqual(bitAt(a, cpl), bitAt(b, cpl))
      }),
    )
    const k = keyFromHex('80'.padEnd(64, '0'))
    assert.equal(commonPrefixLength(k, k), 256)
    assert.equal(commonPrefixLength(k, new Uint8Array(32)), 0)
  })

  it('rejects malformed hex keys', () => {
    assert.throws(() => keyFromHex('zz'), /hex key/)
  })

  it('a key-value name has its own key: SHA-256 of a domain prefix and the UTF-8 name', async () => {
    const expected = createHash('sha256').update('swarmstore/kv\0').update('config/leader').digest()
    assert.deepEqual(Buffer.from(keyForKvName('config/leader')), expected)
    assert.notDeepEqual(
      Buffer.from(keyForKvName('config/leader')),
      createHash('sha256').update('config/leader').digest(),
    )
    assert.deepEqual(keyForKvName('é'), keyForKvName('\u00e9'))
  })
})
