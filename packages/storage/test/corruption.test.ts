import assert from 'node:assert/strict'
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { keyForCid } from '@swarmstore/core'
import type { CID } from 'multiformats/cid'
import { ChunkCorruptError, ChunkStore, rawCid } from '../src/index.js'
import { expectReject, randomBytes, tempDir } from './support/helpers.js'

async function chunkPath(dir: string, cid: CID): Promise<string> {
  const shard = join(dir, 'blocks', keyForCid(cid)[0]!.toString(16).padStart(2, '0'))
  const name = (await readdir(shard)).find((n) => n.startsWith(cid.toString()))!
  return join(shard, name)
}

describe('corruption', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({ dir, cleanup } = await tempDir())
  })
  afterEach(async () => {
    await cleanup()
  })

  async function fill(compression: 'none' | 'zstd' = 'none') {
    const s = await ChunkStore.open(dir, { compression })
    const items = []
    for (let i = 0; i < 6; i++) {
      const b =
        compression === 'zstd'
          ? new TextEncoder().encode(`chunk ${i} `.repeat(5000))
          : randomBytes(40 + i, 20_000 + i)
      const cid = await rawCid(b)
      await s.put(cid, b)
      items.push({ b, cid })
    }
    await s.close()
    return items
  }

  it('a flipped byte: typed error, quarantined, counted, never returned', async () => {
    const items = await fill()
    const victim = items[2]!
    const p = await chunkPath(dir, victim.cid)
    const raw = await readFile(p)
    raw[1234]! ^= 0x40
    await writeFile(p, raw)
    const s = await ChunkStore.open(dir)
    const err = await expectReject(s.get(victim.cid), 'CHUNK_CORRUPT')
    assert.ok(err instanceof ChunkCorruptError)
    assert.equal(err.cid, victim.cid.toString())
    assert.equal(s.has(victim.cid), false)
    await expectReject(s.get(victim.cid), 'CHUNK_NOT_FOUND')
    const st = await s.stats()
    assert.equal(st.quarantined, 1)
    assert.equal(st.chunks, 5)
    assert.equal((await readdir(join(dir, 'quarantine'))).length, 1)
    // A replica's copy can be put again.
    await s.put(victim.cid, victim.b)
    assert.deepEqual(await s.get(victim.cid), victim.b)
    await s.close()
  })

  it('a truncated chunk, and verify() scrubbing the whole store', async () => {
    const items = await fill()
    await truncate(await chunkPath(dir, items[0]!.cid), 100)
    const p4 = await chunkPath(dir, items[4]!.cid)
    const raw = await readFile(p4)
    raw[0]! ^= 1
    await writeFile(p4, raw)
    const s = await ChunkStore.open(dir)
    const report = await s.verify()
    assert.equal(report.checked, 6)
    assert.deepEqual(report.corrupt.sort(), [items[0]!.cid.toString(), items[4]!.cid.toString()].sort())
    assert.equal((await s.stats()).quarantined, 2)
    const again = await s.verify()
    assert.deepEqual(again, { ...again, checked: 4, corrupt: [], missing: [] })
    for (const it of [items[1]!, items[2]!, items[3]!, items[5]!]) assert.deepEqual(await s.get(it.cid), it.b)
    await s.close()
    const s2 = await ChunkStore.open(dir)
    assert.equal((await s2.stats()).quarantined, 2)
    await s2.close()
  })

  it('a corrupt compressed chunk is caught too', async () => {
    const items = await fill('zstd')
    const p = await chunkPath(dir, items[1]!.cid)
    assert.match(p, /\.zstd\.\d+$/)
    const raw = await readFile(p)
    raw[Math.floor(raw.length / 2)]! ^= 0xff
    await writeFile(p, raw)
    await truncate(await chunkPath(dir, items[3]!.cid), 10)
    const s = await ChunkStore.open(dir, { compression: 'zstd' })
    await expectReject(s.get(items[1]!.cid), 'CHUNK_CORRUPT')
    const report = await s.verify()
    assert.deepEqual(report.corrupt, [items[3]!.cid.toString()])
    assert.equal((await s.stats()).quarantined, 2)
    await s.close()
  })

  it('a chunk file removed from outside is reported missing by verify', async () => {
    const items = await fill()
    const { unlink } = await import('node:fs/promises')
    const s = await ChunkStore.open(dir, { cacheBytes: 0 })
    await unlink(await chunkPath(dir, items[5]!.cid))
    await expectReject(s.get(items[5]!.cid), 'CHUNK_NOT_FOUND')
    const report = await s.verify()
    assert.deepEqual(report.missing, [items[5]!.cid.toString()])
    assert.equal(s.has(items[5]!.cid), false)
    assert.equal((await s.stats()).chunks, 5)
    await s.close()
  })
})
