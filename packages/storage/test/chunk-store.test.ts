import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compareKeys, keyForCid, keyToHex, SeededRandom } from '@swarmstore/core'
import { buildFile, ChunkStore, type KeyEntry, rawCid, readFile, SUMMARY_BITS } from '../src/index.js'
import { concat, expectReject, pieces, randomBytes, tempDir } from './support/helpers.js'

async function collect(it: AsyncIterable<KeyEntry>): Promise<KeyEntry[]> {
  const out: KeyEntry[] = []
  for await (const e of it) out.push(e)
  return out
}

describe('ChunkStore', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({ dir, cleanup } = await tempDir())
  })
  afterEach(async () => {
    await cleanup()
  })

  it('puts, gets, has, deletes; survives reopen', async () => {
    const s = await ChunkStore.open(dir)
    const bytes = randomBytes(1, 5000)
    const cid = await rawCid(bytes)
    assert.equal(s.has(cid), false)
    await expectReject(s.get(cid), 'CHUNK_NOT_FOUND')
    await s.put(cid, bytes)
    await s.put(cid, bytes) // idempotent
    assert.equal(s.has(cid), true)
    assert.deepEqual(await s.get(cid), bytes)
    assert.deepEqual(await s.get(cid.toString()), bytes) // from the cache, by string
    await s.close()
    await expectReject(
      Promise.resolve().then(() => s.get(cid)),
      'STORE_CLOSED',
    )

    const s2 = await ChunkStore.open(dir, { cacheBytes: 0 })
    assert.deepEqual(await s2.get(cid), bytes)
    const st = await s2.stats()
    assert.equal(st.chunks, 1)
    assert.equal(st.bytes, 5000)
    assert.equal(await s2.delete(cid), true)
    assert.equal(await s2.delete(cid), false)
    assert.equal(s2.has(cid), false)
    assert.equal((await s2.stats()).chunks, 0)
    await s2.close()
    const s3 = await ChunkStore.open(dir)
    assert.equal(s3.has(cid), false)
    await s3.close()
  })

  it('stores files through buildFile/readFile', async () => {
    const s = await ChunkStore.open(dir)
    const data = randomBytes(2, 5 * 1024 * 1024 + 17)
    const built = await buildFile(pieces(data, 3, 300_000), (c, b) => s.put(c, b, { trusted: true }))
    assert.equal(built.chunks, 6)
    assert.deepEqual(await concat(readFile(built.cid, (c) => s.get(c))), data)
    const mid = await concat(readFile(built.cid, (c) => s.get(c), { offset: 1_500_000, length: 2_000_000 }))
    assert.deepEqual(mid, data.subarray(1_500_000, 3_500_000))
    const trusted = await concat(
      readFile(built.cid, (c) => s.get(c), { offset: 7, length: 3, trustBlocks: true }),
    )
    assert.deepEqual(trusted, data.subarray(7, 10))
    assert.equal((await s.verify()).corrupt.length, 0)
    await s.close()
  })

  it('concurrent puts of the same chunk write it once', async () => {
    const s = await ChunkStore.open(dir)
    const bytes = randomBytes(4, 100_000)
    const cid = await rawCid(bytes)
    await Promise.all(Array.from({ length: 20 }, () => s.put(cid, bytes)))
    const st = await s.stats()
    assert.equal(st.chunks, 1)
    assert.equal(st.storedBytes, 100_000)
    const files = (await readdir(join(dir, 'blocks', keyToHex(keyForCid(cid)).slice(0, 2)))).length
    assert.equal(files, 1)
    assert.deepEqual(await readdir(join(dir, 'tmp')), [])
    await s.close()
  })

  it('refuses bad CIDs and bytes that do not match, leaving the store unchanged', async () => {
    const s = await ChunkStore.open(dir)
    const bytes = randomBytes(5, 1000)
    const cid = await rawCid(bytes)
    await expectReject(
      Promise.resolve().then(() => s.put('not-a-cid', bytes)),
      'BAD_CID',
    )
    // CIDv0 (dag-pb, sha2-256) is refused.
    await expectReject(
      Promise.resolve().then(() => s.put('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n', bytes)),
      'BAD_CID',
    )
    await expectReject(
      Promise.resolve().then(() => s.get('bafy-garbage')),
      'BAD_CID',
    )
    await expectReject(s.put(cid, randomBytes(6, 1000)), 'HASH_MISMATCH')
    const st = await s.stats()
    assert.equal(st.chunks, 0)
    assert.deepEqual(await readdir(join(dir, 'tmp')), [])
    await s.close()
  })

  it('enforces a hard quota with a typed error and nothing left behind', async () => {
    const s = await ChunkStore.open(dir, { capacityBytes: 250_000 })
    const a = randomBytes(7, 100_000)
    const b = randomBytes(8, 100_000)
    const c = randomBytes(9, 100_000)
    await s.put(await rawCid(a), a)
    await s.put(await rawCid(b), b)
    const err = await expectReject(s.put(await rawCid(c), c), 'CAPACITY_EXCEEDED')
    assert.match(err.message, /100000 bytes needed, 50000 of 250000/)
    const st = await s.stats()
    assert.equal(st.chunks, 2)
    assert.equal(st.freeBytes, 50_000)
    assert.equal(s.has(await rawCid(c)), false)
    assert.deepEqual(await readdir(join(dir, 'tmp')), [])
    // Concurrent puts cannot overshoot together: reservations count.
    await s.delete(await rawCid(a))
    const many = Array.from({ length: 5 }, (_, i) => randomBytes(100 + i, 60_000))
    const results = await Promise.allSettled(many.map(async (m) => s.put(await rawCid(m), m)))
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2)
    assert.ok((await s.stats()).storedBytes <= 250_000)
    await s.close()
  })

  it('pins survive reopen; gc deletes released unpinned chunks only', async () => {
    const s = await ChunkStore.open(dir)
    const items = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const b = randomBytes(20 + i, 3000)
        return { b, cid: await rawCid(b) }
      }),
    )
    for (const { b, cid } of items) await s.put(cid, b)
    await s.pin(items[0]!.cid)
    await expectReject(s.delete(items[0]!.cid), 'CHUNK_PINNED')
    await s.close()
    const s2 = await ChunkStore.open(dir)
    assert.equal(s2.isPinned(items[0]!.cid), true)
    assert.equal(s2.isPinned(items[1]!.cid), false)
    for (const { cid } of items) s2.release(cid)
    // A put after release means "mine again".
    await s2.put(items[2]!.cid, items[2]!.b)
    const r = await s2.gc()
    assert.deepEqual(r, { deleted: 1, freedBytes: 3000 })
    assert.equal(s2.has(items[0]!.cid), true)
    assert.equal(s2.has(items[1]!.cid), false)
    assert.equal(s2.has(items[2]!.cid), true)
    await s2.unpin(items[0]!.cid)
    assert.equal(s2.isPinned(items[0]!.cid), false)
    await s2.close()
    const s3 = await ChunkStore.open(dir)
    assert.equal(s3.isPinned(items[0]!.cid), false)
    assert.equal((await s3.stats()).pinned, 0)
    await s3.close()
  })

  it('iterates keys in key order, by range, and keeps prefix summaries current', async () => {
    const s = await ChunkStore.open(dir)
    const rng = new SeededRandom(11)
    const cids = []
    for (let i = 0; i < 300; i++) {
      const b = rng.bytes(1 + rng.int(200))
      const cid = await rawCid(b)
      await s.put(cid, b)
      cids.push(cid)
    }
    for (const cid of cids.slice(0, 40)) await s.delete(cid)
    const live = cids.slice(40)
    const keys = live.map((c) => keyForCid(c)).sort(compareKeys)
    const all = await collect(s.keys())
    assert.equal(all.length, live.length)
    assert.deepEqual(
      all.map((e) => keyToHex(e.key)),
      keys.map(keyToHex),
    )
    for (const e of all) assert.deepEqual(keyForCid(e.cid), e.key)
    // Range [keys[10], keys[50]).
    const part = await collect(s.keys({ from: keys[10], to: keys[50] }))
    assert.deepEqual(
      part.map((e) => keyToHex(e.key)),
      keys.slice(10, 50).map(keyToHex),
    )
    // Summaries versus brute force, at depths inside and beyond the maintained tree.
    for (const bits of [0, 1, 3, 8, SUMMARY_BITS, SUMMARY_BITS + 3, 20]) {
      for (const probe of keys.slice(0, 12)) {
        const sum = s.rangeSummary(probe, bits)
        const under = keys.filter((k) => commonPrefix(k, probe) >= bits)
        const xor = new Uint8Array(32)
        for (const k of under) for (let i = 0; i < 32; i++) xor[i]! ^= k[i]!
        assert.equal(sum.count, under.length, `count at ${bits} bits`)
        assert.deepEqual(sum.xor, xor, `xor at ${bits} bits`)
      }
    }
    const level4 = s.summariesAt(4)
    assert.equal(level4.length, 16)
    assert.equal(
      level4.reduce((n, x) => n + x.count, 0),
      live.length,
    )
    await s.close()
    // Rebuilt identically on open.
    const s2 = await ChunkStore.open(dir)
    const s3 = await ChunkStore.open(dir)
    assert.deepEqual(s2.rangeSummary(keys[0]!, 6), s3.rangeSummary(keys[0]!, 6))
    await s3.close()
    assert.equal(s2.rangeSummary(new Uint8Array(32), 0).count, live.length)
    await s2.close()
  })

  it('compresses where it pays, skips incompressible data, CID of the uncompressed bytes', async () => {
    const s = await ChunkStore.open(dir, { compression: 'zstd', cacheBytes: 0 })
    const text = new TextEncoder().encode('swarmstore keeps chunks on disk. '.repeat(30_000))
    const noise = randomBytes(12, 500_000)
    const tc = await rawCid(text)
    const nc = await rawCid(noise)
    await s.put(tc, text)
    await s.put(nc, noise)
    const st = await s.stats()
    assert.equal(st.bytes, text.length + noise.length)
    assert.ok(st.storedBytes < noise.length + text.length / 10, `stored ${st.storedBytes}`)
    await s.close()
    for (const compression of ['brotli', 'none'] as const) {
      const s2 = await ChunkStore.open(dir, { compression, cacheBytes: 0 })
      assert.deepEqual(await s2.get(tc), text)
      assert.deepEqual(await s2.get(nc), noise)
      assert.equal((await s2.verify()).corrupt.length, 0)
      await s2.close()
    }
    const { dir: d2, cleanup: c2 } = await tempDir()
    const b = await ChunkStore.open(d2, { compression: 'brotli' })
    await b.put(tc, text)
    assert.ok((await b.stats()).storedBytes < text.length / 10)
    await b.close()
    await c2()
  })

  it('removes temp debris on open and refuses an unknown future format', async () => {
    const s = await ChunkStore.open(dir)
    await s.close()
    await writeFile(join(dir, 'tmp', 'abc.7'), 'half a chunk')
    const s2 = await ChunkStore.open(dir)
    assert.deepEqual(await readdir(join(dir, 'tmp')), [])
    await s2.close()
    await writeFile(join(dir, 'FORMAT'), JSON.stringify({ format: 'swarmstore-chunkstore', version: 2 }))
    await expectReject(ChunkStore.open(dir), 'UNKNOWN_FORMAT')
    await writeFile(join(dir, 'FORMAT'), 'something else')
    await expectReject(ChunkStore.open(dir), 'UNKNOWN_FORMAT')
  })

  it('serves repeated gets from a bounded cache', async () => {
    const s = await ChunkStore.open(dir, { cacheBytes: 1_000_000 })
    const cids = []
    for (let i = 0; i < 10; i++) {
      const b = randomBytes(30 + i, 200_000)
      const cid = await rawCid(b)
      await s.put(cid, b)
      cids.push(cid)
    }
    for (const cid of cids) await s.get(cid)
    const st = await s.stats()
    assert.ok(st.cacheBytes <= 1_000_000 && st.cacheBytes > 0, `cache ${st.cacheBytes}`)
    await s.close()
  })
})

function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const x = a[i]! ^ b[i]!
    if (x !== 0) return i * 8 + Math.clz32(x) - 24
  }
  return 256
}
