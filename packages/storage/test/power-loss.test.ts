import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import type { CID } from 'multiformats/cid'
import { ChunkStore, rawCid } from '../src/index.js'
import { type PowerLossFs, SimDisk } from './support/power-loss-fs.js'

interface Item {
  cid: CID
  bytes: Uint8Array
  /** What a resolved operation promised: present after a put, absent after a delete. */
  promised: 'present' | 'absent' | 'none'
  /** An operation on it was in flight at the cut: either outcome is allowed for it. */
  unsure: boolean
}

const ROUNDS = Number(process.env.POWER_LOSS_ROUNDS ?? 30)

describe('power loss (simulated file system)', function () {
  this.timeout(120_000)

  for (const mode of ['discard', 'torn'] as const) {
    it(`${mode}: every acknowledged put survives, acknowledged deletes stay deleted, nothing torn (${ROUNDS} seeds × 3 cuts)`, async () => {
      for (let seed = 1; seed <= ROUNDS; seed++) await runSeed(seed, mode)
    })
  }
})

async function runSeed(seed: number, mode: 'discard' | 'torn'): Promise<void> {
  const rng = new SeededRandom(seed)
  const disk = new SimDisk(seed, mode)
  const compression = seed % 3 === 0 ? 'zstd' : 'none'
  const items: Item[] = []
  const where = (msg: string) => `seed ${seed} (${mode}): ${msg}`

  for (let cut = 0; cut < 3; cut++) {
    // Sometimes the power fails while the store is opening (cleaning temp files, creating dirs).
    if (cut > 0 && rng.next() < 0.2) {
      const cutsBefore = disk.cuts
      disk.cutAfter(1 + rng.int(300))
      await ChunkStore.open('/data', { fs: disk.mount(), compression }).then(
        (s) => s.close(),
        () => {},
      )
      if (disk.cuts === cutsBefore) disk.cutAfter(Number.POSITIVE_INFINITY)
    }
    const fs = disk.mount()
    const store = await ChunkStore.open('/data', { fs, compression, cacheBytes: 0 })
    await check(store, fs, items, where)
    const cutsBefore = disk.cuts
    disk.cutAfter(20 + rng.int(600))
    const workers = Array.from({ length: 4 }, (_, w) => worker(store, items, rng, w))
    await Promise.all(workers)
    assert.ok(disk.cuts > cutsBefore, where('the cut happened'))
  }
  const fs = disk.mount()
  const store = await ChunkStore.open('/data', { fs, compression, cacheBytes: 0 })
  await check(store, fs, items, where)
  await store.close()
}

async function worker(store: ChunkStore, items: Item[], rng: SeededRandom, w: number): Promise<void> {
  const mine: Item[] = []
  for (;;) {
    const r = rng.next()
    let item: Item
    let op: 'put' | 'delete'
    if (mine.length === 0 || r < 0.6) {
      const text = rng.next() < 0.5
      const n = 1 + rng.int(30_000)
      const bytes = text
        ? new TextEncoder().encode(`worker ${w} ${rng.int(1e9)} `.repeat(n >> 4))
        : rng.bytes(n)
      item = { cid: await rawCid(bytes), bytes, promised: 'none', unsure: false }
      if (items.some((i) => i.cid.equals(item.cid))) continue
      items.push(item)
      mine.push(item)
      op = 'put'
    } else {
      item = mine[rng.int(mine.length)]!
      op = r < 0.85 ? 'put' : 'delete'
    }
    item.unsure = true
    try {
      if (op === 'put') await store.put(item.cid, item.bytes)
      else await store.delete(item.cid)
    } catch (err) {
      if ((err as { code?: string }).code === 'EIO') return // the power went out
      throw err
    }
    item.promised = op === 'put' ? 'present' : 'absent'
    item.unsure = false
  }
}

async function check(store: ChunkStore, fs: PowerLossFs, items: Item[], where: (m: string) => string) {
  assert.deepEqual(fs.list('/data/tmp'), [], where('temp debris removed on open'))
  const report = await store.verify()
  assert.deepEqual(report.corrupt, [], where('no torn or corrupt chunk'))
  assert.deepEqual(report.missing, [], where('no dangling entry'))
  for (const it of items) {
    if (!it.unsure && it.promised === 'present') {
      assert.ok(store.has(it.cid), where(`acknowledged ${it.cid} survived`))
      assert.deepEqual(await store.get(it.cid), it.bytes, where(`acknowledged ${it.cid} intact`))
    }
    if (!it.unsure && it.promised === 'absent')
      assert.equal(store.has(it.cid), false, where(`deleted ${it.cid}`))
    if (it.unsure) {
      // Settle what the disk decided, so the next round's expectations are exact.
      it.promised = store.has(it.cid) ? 'present' : 'absent'
      it.unsure = false
    }
  }
}
