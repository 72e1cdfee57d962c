import assert from 'node:assert/strict'
import { CarWriter } from '@ipld/car'
import type { CID } from 'multiformats/cid'
import { buildFile, ChunkStore, rawCid, readFile } from '../src/index.js'
import { concat, expectReject, randomBytes, tempDir } from './support/helpers.js'

describe('CAR backup', () => {
  const dirs: (() => Promise<void>)[] = []
  const open = async (init = {}) => {
    const { dir, cleanup } = await tempDir()
    dirs.push(cleanup)
    return ChunkStore.open(dir, init)
  }
  afterEach(async () => {
    for (const c of dirs.splice(0)) await c()
  })

  it('exports a file and imports it into another store, verified', async () => {
    const a = await open()
    const data = randomBytes(50, 40 * 1024 + 3)
    const built = await buildFile([data], (c, b) => a.put(c, b), { chunkSize: 1024 })
    // Unrelated chunk: not part of the file's CAR.
    const other = randomBytes(51, 999)
    await a.put(await rawCid(other), other)
    const car = await concat(a.exportCar({ roots: [built.cid] }))
    const b = await open()
    const r = await b.importCar([car])
    assert.equal(r.roots[0]!.toString(), built.cid.toString())
    assert.equal(r.blocks, built.chunks + built.manifests)
    assert.equal(r.added, r.blocks)
    assert.equal(b.has(await rawCid(other)), false)
    assert.deepEqual(await concat(readFile(built.cid, (c) => b.get(c))), data)
    // Importing again adds nothing.
    assert.equal((await b.importCar([car])).added, 0)
    await a.close()
    await b.close()
  })

  it('exports and restores the whole store', async () => {
    const a = await open({ compression: 'zstd' })
    for (let i = 0; i < 30; i++) {
      const b = i % 2 ? randomBytes(60 + i, 3000) : new TextEncoder().encode(`text ${i} `.repeat(900))
      await a.put(await rawCid(b), b)
    }
    const car = await concat(a.exportCar())
    const b = await open()
    const r = await b.importCar([car.subarray(0, 1000), car.subarray(1000)])
    assert.equal(r.blocks, 30)
    const ka = []
    for await (const e of a.keys()) ka.push(e.cid.toString())
    const kb = []
    for await (const e of b.keys()) kb.push(e.cid.toString())
    assert.deepEqual(kb, ka)
    assert.equal((await b.verify()).corrupt.length, 0)
    await a.close()
    await b.close()
  })

  it('bad CAR input: clear error, store unchanged', async () => {
    const src = await open()
    const blocks: { cid: CID; b: Uint8Array }[] = []
    for (let i = 0; i < 5; i++) {
      const b = randomBytes(70 + i, 2000)
      const cid = await rawCid(b)
      await src.put(cid, b)
      blocks.push({ cid, b })
    }
    const good = await concat(src.exportCar())
    const b = await open()
    const pre = randomBytes(80, 500)
    await b.put(await rawCid(pre), pre)
    const unchanged = async () => {
      const st = await b.stats()
      assert.equal(st.chunks, 1)
      assert.equal(b.has(blocks[0]!.cid), false)
    }
    await expectReject(b.importCar([new Uint8Array([1, 2, 3, 4, 5])]), 'BAD_CAR')
    await unchanged()
    // Truncated in the middle of a later block: the blocks before it were added, then rolled back.
    await expectReject(b.importCar([good.subarray(0, good.length - 700)]), 'BAD_CAR')
    await unchanged()
    // A block whose bytes do not match its CID, after good ones.
    const { writer, out } = CarWriter.create([])
    const collected = concat(out)
    await writer.put({ cid: blocks[0]!.cid, bytes: blocks[0]!.b })
    await writer.put({ cid: blocks[1]!.cid, bytes: blocks[1]!.b })
    await writer.put({ cid: blocks[2]!.cid, bytes: blocks[3]!.b })
    await writer.close()
    await expectReject(b.importCar([await collected]), 'BAD_CAR')
    await unchanged()
    // A section claiming 100 MiB is refused before anything buffers it.
    const header = good.subarray(0, 1 + good[0]!)
    const hostile = new Uint8Array([...header, 0x80, 0x80, 0x80, 0x32, 1, 2, 3])
    const e = await expectReject(b.importCar([hostile]), 'BAD_CAR')
    assert.match(e.message, /exceeds/)
    await unchanged()
    // Full store during import: capacity error, rolled back.
    const small = await open({ capacityBytes: 5000 })
    await expectReject(small.importCar([good]), 'CAPACITY_EXCEEDED')
    assert.equal((await small.stats()).chunks, 0)
    await src.close()
    await b.close()
    await small.close()
  })
})
