import assert from 'node:assert/strict'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  BadManifestError,
  buildFile,
  chunkFile,
  decodeManifest,
  encodeManifest,
  fanoutFor,
  fileBlocks,
  getManifest,
  readFile,
  UnknownFormatError,
} from '../src/index.js'
import { concat, expectReject, MemoryBlocks, pieces, randomBytes } from './support/helpers.js'

const KiB = 1024

describe('chunking and manifests', () => {
  const cs = 1 * KiB // fanout 16: a manifest tree appears above 16 KiB
  const sizes = [0, 1, cs - 1, cs, cs + 1, 5 * cs + 7, 16 * cs, 16 * cs + 1, 300 * cs + 3, 16 * 16 * cs + 5]

  for (const size of sizes) {
    it(`round-trips ${size} bytes (chunk ${cs}) with stable CIDs and every range`, async () => {
      const data = randomBytes(size + 1, size)
      const a = new MemoryBlocks()
      const built = await buildFile(pieces(data, size, 3000), a.put, { chunkSize: cs, concurrency: 3 })
      assert.equal(built.size, size)
      assert.equal(built.chunks, Math.ceil(size / cs))
      // Same bytes, different piece boundaries and concurrency: the same CID.
      const b = new MemoryBlocks()
      const again = await buildFile(pieces(data, size + 99, 500), b.put, { chunkSize: cs, concurrency: 1 })
      assert.equal(again.cid.toString(), built.cid.toString())
      assert.deepEqual([...b.blocks.keys()].sort(), [...a.blocks.keys()].sort())
      // Every manifest fits in a chunk.
      for (const bytes of a.blocks.values()) assert.ok(bytes.length <= cs)

      assert.deepEqual(await concat(readFile(built.cid, a.get, { concurrency: 4 })), data)
      const ranges: [number, number][] = [
        [0, 0],
        [0, 1],
        [cs - 1, 2],
        [cs, cs],
        [Math.floor(size / 2), 3 * cs + 5],
        [size, 10],
        [Math.max(0, size - 1), 100],
      ]
      for (const [offset, length] of ranges) {
        if (offset > size) continue
        const got = await concat(readFile(built.cid, a.get, { offset, length, concurrency: 2 }))
        assert.deepEqual(got, data.subarray(offset, offset + length), `range ${offset}+${length}`)
      }
    })
  }

  it('builds a manifest tree that is packed and of the expected depth', async () => {
    const size = 16 * 16 * cs + 5 // 257 chunks: 17 leaves, 2 level-1 manifests, a depth-2 root
    const a = new MemoryBlocks()
    const built = await buildFile([randomBytes(7, size)], a.put, { chunkSize: cs })
    const root = await getManifest(built.cid, a.get)
    assert.equal(root.depth, 2)
    assert.equal(root.links.length, 2)
    assert.equal(root.links[0]!.size, 256 * cs)
    assert.equal(built.manifests, 17 + 2 + 1)
    const all = []
    for await (const c of fileBlocks(built.cid, a.get)) all.push(c.toString())
    assert.equal(all.length, 257 + 20)
    assert.equal(new Set(all).size, a.blocks.size)
  })

  it('reads a byte range without fetching chunks outside it', async () => {
    const size = 64 * cs
    const a = new MemoryBlocks()
    const built = await buildFile([randomBytes(3, size)], a.put, { chunkSize: cs })
    a.gets = 0
    await concat(readFile(built.cid, a.get, { offset: 40 * cs + 10, length: cs }))
    // root (depth 1) + one leaf manifest + 2 data chunks
    assert.equal(a.gets, 4)
  })

  it('buildFile reports a failing putBlock only after every put in flight has settled', async () => {
    let calls = 0
    let inFlight = 0
    const put = async (): Promise<void> => {
      const n = ++calls
      inFlight++
      try {
        // Completion order differs from start order (every third call yields longer).
        for (let i = 0; i < (n % 3) * 3; i++) await Promise.resolve()
        if (n === 5) throw new Error('disk on fire')
      } finally {
        inFlight--
      }
    }
    await assert.rejects(
      buildFile([randomBytes(8, 20 * cs)], put, { chunkSize: cs, concurrency: 4 }),
      /disk on fire/,
    )
    assert.equal(inFlight, 0)
    assert.ok(calls < 20, 'stopped early')
  })

  it('chunkFile yields full chunks and a short last one', async () => {
    const data = randomBytes(1, 3 * cs + 10)
    const sizesSeen: number[] = []
    for await (const c of chunkFile(pieces(data, 2, 777), { chunkSize: cs })) sizesSeen.push(c.length)
    assert.deepEqual(sizesSeen, [cs, cs, cs, 10])
  })

  it('matches test vectors (same bytes, same CID on any machine)', async () => {
    // Independent recomputation of a raw chunk CID with multiformats alone.
    const hello = new TextEncoder().encode('hello swarmstore')
    const expectRaw = CID.createV1(raw.code, await sha256.digest(hello))
    const m = new MemoryBlocks()
    const built = await buildFile([hello], m.put)
    const root = decodeManifest(m.blocks.get(built.cid.toString())!)
    assert.equal(root.links[0]!.cid.toString(), expectRaw.toString())
    // Frozen vectors: a change here changes every file CID in the swarm (bump MANIFEST_VERSION).
    assert.equal(expectRaw.toString(), VECTORS.helloRaw)
    assert.equal(built.cid.toString(), VECTORS.helloFile)
    assert.equal((await buildFile([], m.put)).cid.toString(), VECTORS.empty)
    const big = await buildFile([randomBytes(42, 3 * 1024 * 1024 + 5)], m.put)
    assert.equal(big.cid.toString(), VECTORS.seeded3MiB)
    const tree = await buildFile([randomBytes(43, 40 * KiB)], m.put, { chunkSize: cs })
    assert.equal(tree.cid.toString(), VECTORS.seededTree1KiB)
  })

  describe('decodeManifest on untrusted input', () => {
    const good = async () => {
      const m = new MemoryBlocks()
      const built = await buildFile([randomBytes(9, 3 * cs)], m.put, { chunkSize: cs })
      return decodeManifest(m.blocks.get(built.cid.toString())!)
    }

    it('accepts a good manifest and lists its children', async () => {
      const g = await good()
      assert.equal(g.links.length, 3)
      assert.equal(g.size, 3 * cs)
    })

    it('rejects garbage, wrong types, extra fields, bad sizes, bad codecs', async () => {
      const g = await good()
      const enc = (o: unknown) => dagCbor.encode(o)
      const base = { v: 1, chunkSize: cs, depth: 0, size: g.size, links: g.links.map((l) => [l.cid, l.size]) }
      const cases: [string, Uint8Array][] = [
        ['garbage', new Uint8Array([0xff, 0x00, 0x13])],
        ['a list', enc([1, 2])],
        ['extra field', enc({ ...base, extra: 1 })],
        ['string size', enc({ ...base, size: '3072' })],
        ['sizes do not add up', enc({ ...base, size: g.size + 1 })],
        ['chunkSize too small', enc({ ...base, chunkSize: 10 })],
        ['negative depth', enc({ ...base, depth: -1 })],
        ['huge depth', enc({ ...base, depth: 99 })],
        ['link not a pair', enc({ ...base, links: [[g.links[0]!.cid]] })],
        ['inner manifest pointing at raw', enc({ ...base, depth: 1 })],
        [
          'a short chunk before the last',
          enc({ ...base, links: [[g.links[0]!.cid, 5], ...base.links.slice(1)] }),
        ],
        ['too many links', enc({ ...base, links: Array(fanoutFor(cs) + 1).fill(base.links[0]) })],
        ['version 0', enc({ ...base, v: 0 })],
        ['oversized input', new Uint8Array(9 << 20)],
      ]
      for (const [what, bytes] of cases) {
        assert.throws(() => decodeManifest(bytes), BadManifestError, what)
      }
      assert.throws(() => decodeManifest(enc({ ...base, v: 2 })), UnknownFormatError)
    })

    it('readFile refuses a block that does not match its CID', async () => {
      const m = new MemoryBlocks()
      const built = await buildFile([randomBytes(5, 3 * cs)], m.put, { chunkSize: cs })
      const root = decodeManifest(m.blocks.get(built.cid.toString())!)
      const victim = root.links[1]!.cid.toString()
      const bad = m.blocks.get(victim)!.slice()
      bad[0]! ^= 1
      m.blocks.set(victim, bad)
      await expectReject(concat(readFile(built.cid, m.get)), 'HASH_MISMATCH')
      // A manifest swapped for another (valid) one is refused too: its hash is not the root CID.
      const other = encodeManifest({ ...root, links: root.links.slice(0, 1), size: cs })
      m.blocks.set(built.cid.toString(), other)
      await expectReject(concat(readFile(built.cid, m.get)), 'HASH_MISMATCH')
    })
  })
})

const VECTORS = {
  helloRaw: 'bafkreicetwaecndekjjlygbwijql6h6wnezpucn4hx6jw23cto4q2hrzqu',
  helloFile: 'bafyreibyuo3t5ew2g2t7xgxyvkqxwtyy6qivbpokmgyszvih27nzwa63ie',
  empty: 'bafyreiafh7k2xtwcoeaecaq4jcqwl2lggknchqmfaifwc22o5pyrwzwzay',
  seeded3MiB: 'bafyreiaohfcyix3ffhyilnobdgwmn2cpxwrxzulhvl7r74ktnd3ujgfxwy',
  seededTree1KiB: 'bafyreihfgcnjvaovx56hmfj6bcggwcti6grmz34pn523fke4dxrgpepcta',
}
