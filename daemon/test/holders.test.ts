import assert from 'node:assert/strict'
import { type Contact, keyForCid } from '@swarmstore/core'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { Holders } from '../src/holders.js'

async function cidOf(i: number): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`chunk ${i}`)))
}

const peer = (id: string): Contact => ({ peerId: id, key: new Uint8Array(32), addrs: [] })

describe('Holders (stat)', () => {
  it('asks each peer once per batch of 1000 about the chunks it is close to, and maps answers back', async () => {
    const cids = await Promise.all(Array.from({ length: 1500 }, (_, i) => cidOf(i)))
    const [a, b, c] = [peer('a'), peer('b'), peer('c')]
    const key = (cid: CID) => keyForCid(cid)[0]!
    // a is close to every chunk, b to the even-keyed ones, c to none but answers nothing (fails)
    const closest = async (k: Uint8Array) => (k[0]! % 2 === 0 ? [a, b, c] : [a, c])
    const asked: { peer: string; n: number }[] = []
    const held = (p: string, cid: CID) => p === 'a' || (p === 'b' && cid.toString().endsWith('a'))
    const holders = new Holders({
      replicas: { closest },
      chunks: {
        hasAt: async (to: Contact, list: CID[]) => {
          asked.push({ peer: to.peerId, n: list.length })
          if (to.peerId === 'c') throw new Error('unreachable')
          return list.map((cid) => held(to.peerId, cid))
        },
      },
    })
    const out = await holders.find(cids)
    const evens = cids.filter((cid) => key(cid) % 2 === 0).length
    const batches = (n: number) => (n > 1000 ? [1000, n - 1000] : [n])
    assert.deepEqual(
      asked.filter((x) => x.peer === 'a').map((x) => x.n),
      batches(1500),
    )
    assert.deepEqual(
      asked.filter((x) => x.peer === 'b').map((x) => x.n),
      batches(evens),
    )
    for (const cid of cids) {
      const want = ['a', ...(key(cid) % 2 === 0 && held('b', cid) ? ['b'] : [])]
      assert.deepEqual([...(out.get(cid.toString()) ?? [])].sort(), want)
    }
  })
})
