import assert from 'node:assert/strict'
import { readFile as readBuffered, stat, truncate, writeFile as writeBuffered } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeFs } from '../src/index.js'
import { randomBytes, tempDir } from './support/helpers.js'

// Sizes around the block (4 KiB) and staging-buffer (1 MiB) edges, and a multi-stage file.
const SIZES = [
  0,
  1,
  4095,
  4096,
  4097,
  65_536,
  1 << 20,
  (1 << 20) - 1,
  (1 << 20) + 1,
  2.5 * (1 << 20) + 12_345,
]

describe('NodeFs (O_DIRECT where the file system allows it, buffered otherwise)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({ dir, cleanup } = await tempDir('node-fs-'))
  })
  afterEach(async () => {
    await cleanup()
  })

  for (const direct of [true, false]) {
    it(`${direct ? 'direct' : 'buffered'}: files of every size are written and read back byte-exact`, async () => {
      const fs = new NodeFs({ direct })
      for (const [i, n] of SIZES.entries()) {
        const data = randomBytes(100 + i, n)
        const p = join(dir, `f${i}`)
        await fs.writeFile(p, data, { sync: true })
        assert.equal((await stat(p)).size, n, `size of a ${n} B file`)
        assert.deepEqual(new Uint8Array(await readBuffered(p)), data, `${n} B as written (read by node:fs)`)
        assert.deepEqual(await fs.readFile(p), data, `${n} B read back`)
      }
      // concurrent writes and reads (more than the staging buffers kept) do not share a buffer
      const many = Array.from({ length: 12 }, (_, i) => randomBytes(200 + i, 300_000 + i * 1_000))
      await Promise.all(many.map((d, i) => fs.writeFile(join(dir, `m${i}`), d, { sync: false })))
      const back = await Promise.all(many.map((_, i) => fs.readFile(join(dir, `m${i}`))))
      for (const [i, b] of back.entries()) assert.deepEqual(b, many[i])
      await fs.close()
    })
  }

  it('overwrites a longer file completely (no stale tail) and reads files written by others', async () => {
    const fs = new NodeFs()
    const p = join(dir, 'x')
    await fs.writeFile(p, randomBytes(1, 3 << 20), { sync: false })
    const short = randomBytes(2, 70_000)
    await fs.writeFile(p, short, { sync: true })
    assert.deepEqual(await fs.readFile(p), short)
    const other = join(dir, 'other')
    const theirs = randomBytes(3, 123_457)
    await writeBuffered(other, theirs)
    assert.deepEqual(await fs.readFile(other), theirs)
    // a file cut short under us reads as what is there (the store's size check then sees it)
    await truncate(other, 5_000)
    assert.deepEqual(await fs.readFile(other), theirs.subarray(0, 5_000))
    await fs.close()
  })

  it('an empty file read first does not leave a misaligned staging buffer behind', async () => {
    // (an O_DIRECT read of an empty file succeeds at any alignment, so it cannot be the probe)
    const fs = new NodeFs()
    const empty = join(dir, 'empty')
    await writeBuffered(empty, new Uint8Array(0))
    assert.deepEqual(await fs.readFile(empty), new Uint8Array(0))
    const data = randomBytes(4, 300_000)
    await fs.writeFile(join(dir, 'after'), data, { sync: true })
    assert.deepEqual(await fs.readFile(join(dir, 'after')), data)
    const small = randomBytes(5, 3)
    await writeBuffered(join(dir, 'small'), small)
    assert.deepEqual(await fs.readFile(join(dir, 'small')), small)
    await fs.close()
  })

  it('a missing file is ENOENT, as before', async () => {
    const fs = new NodeFs()
    await assert.rejects(fs.readFile(join(dir, 'nope')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT')
  })
})
