// Engine comparison behind the README's choice. Not part of the package: lmdb and classic-level are
// not dependencies. Run: mkdir /tmp/eb && cd /tmp/eb && npm i lmdb classic-level &&
//   node /path/to/packages/storage/bench/engines.mjs [MiB]
// Each engine stores N distinct 1 MiB random pieces durably (lmdb: default sync commits;
// classic-level: put with {sync:true}; files: temp + fsync + rename + dir fsync), 8 in flight.
import { createHash, randomFillSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, open, rename } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(join(process.cwd(), 'x.js'))
const N = Number(process.argv[2] ?? 256)
const PIECE = 1 << 20
const pool = randomFillSync(Buffer.alloc(PIECE * 4))
const piece = (i) => {
  const b = Buffer.allocUnsafe(PIECE)
  pool.copy(b, 0, (i * 4099) % (PIECE * 3), ((i * 4099) % (PIECE * 3)) + PIECE)
  b.writeUInt32BE(i, 0)
  return b
}
const rssAnon = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024

async function run(name, put, inflight = 8) {
  let next = 0
  let peak = rssAnon()
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < N) {
        const i = next++
        const b = piece(i)
        const key = createHash('sha256').update(b).digest()
        await put(key, b)
        peak = Math.max(peak, rssAnon())
      }
    }),
  )
  const s = (performance.now() - t0) / 1000
  console.log(
    JSON.stringify({
      engine: name,
      MBps: Math.round((N * PIECE) / 1e6 / s),
      peakRssAnonMiB: Math.round(peak),
    }),
  )
}

const base = mkdtempSync(join(tmpdir(), 'engines-'))
try {
  {
    const dir = join(base, 'files')
    await mkdir(join(dir, 'tmp'), { recursive: true })
    const dh = await open(dir, 'r')
    await run('files(fsync+rename+dirfsync)', async (key, b) => {
      const tmp = join(dir, 'tmp', key.toString('hex'))
      const fh = await open(tmp, 'w')
      await fh.writeFile(b)
      await fh.sync()
      await fh.close()
      await rename(tmp, join(dir, key.toString('hex')))
      await dh.sync()
    })
    await dh.close()
  }
  {
    const { open: lopen } = require('lmdb')
    const db = lopen({ path: join(base, 'lmdb'), compression: false, encoding: 'binary' })
    await run('lmdb(sync commits)', (key, b) => db.put(key, b))
    await db.close()
  }
  {
    const { ClassicLevel } = require('classic-level')
    const db = new ClassicLevel(join(base, 'level'), { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    await db.open()
    await run('classic-level(sync:true)', (key, b) => db.put(key, b, { sync: true }))
    await db.close()
  }
} finally {
  rmSync(base, { recursive: true, force: true })
}
