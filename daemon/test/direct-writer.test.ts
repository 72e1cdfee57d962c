import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { DirectWriter } from '../src/direct-writer.js'

describe('DirectWriter (O_DIRECT writes of get -o)', () => {
  let dir: string
  before(async () => {
    // the repository's disk, not tmpfs: O_DIRECT needs a file system that supports it
    dir = await mkdtemp(join(import.meta.dirname, '.direct-'))
  })
  after(async () => rm(dir, { recursive: true, force: true }))

  for (const size of [0, 1, 4095, 4096, 1 << 20, (4 << 20) + 1, (9 << 20) + 12_345]) {
    it(`writes ${size} bytes, given in uneven pieces, exactly`, async () => {
      const data = randomBytes(size)
      const path = join(dir, `f-${size}`)
      const h = await open(path, 'w+')
      try {
        const w = await DirectWriter.open(h)
        assert.ok(w, 'this file system takes O_DIRECT')
        // pieces of changing sizes, and the caller reuses each piece's buffer at once
        const scratch = Buffer.alloc(700_001)
        for (let o = 0, i = 0; o < size; i++) {
          const n = Math.min(size - o, [1, 4096, 700_001, 65_536, 3][i % 5]!)
          data.copy(scratch, 0, o, o + n)
          await w.write(scratch.subarray(0, n))
          scratch.fill(0xee)
          o += n
        }
        assert.equal(await w.finish(), size)
      } finally {
        await h.close()
      }
      assert.ok((await readFile(path)).equals(data))
    })
  }
})
