import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { FileHandle } from 'node:fs/promises'
import { readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SeededRandom } from '@swarmstore/core'
import { RECORD_LOG_MAGIC, RecordLog } from '../src/index.js'
import { expectReject, randomBytes, tempDir } from './support/helpers.js'

const MiB = 1 << 20
const FRAME_HEAD = 8
const recordLogSrc = new URL('../src/record-log.ts', import.meta.url).pathname

/** `n` records of random sizes below `maxSize`, with an empty one and a 1 MiB one among them. */
function someRecords(seed: number, n: number, maxSize = 3000): Uint8Array[] {
  const rng = new SeededRandom(seed)
  const out = Array.from({ length: n }, (_, i) => randomBytes(seed * 1000 + i, rng.int(maxSize)))
  out.splice(n >> 2, 0, new Uint8Array(0))
  out.splice(n >> 1, 0, randomBytes(seed + 7, MiB))
  return out
}

/** Byte offset of frame `i` in a log holding `records` (the header first). */
function frameOffset(records: readonly Uint8Array[], i: number): number {
  return records.slice(0, i).reduce((off, r) => off + FRAME_HEAD + r.length, RECORD_LOG_MAGIC.length)
}

async function reopen(path: string, maxRecordBytes?: number) {
  const opened = await RecordLog.open({ path, maxRecordBytes })
  await opened.log.close()
  return opened
}

async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path)
  bytes[at] = bytes[at]! ^ 0x40
  await writeFile(path, bytes)
}

/**
 * Runs a child that appends record i = [i, i, i, …] forever, printing i once its append resolved;
 * SIGKILLs it after `acks` lines and resolves with the number of lines it printed.
 */
function appendUntilKilled(path: string, acks: number): Promise<number> {
  const code = `
    const { RecordLog } = await import(process.argv[1])
    const { log } = await RecordLog.open({ path: process.argv[2] })
    for (let i = 0; ; i++) {
      await log.append([new Uint8Array(100 + i).fill(i & 0xff)])
      process.stdout.write(i + '\\n')
    }`
  const args = [
    '--conditions=source',
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    code,
    recordLogSrc,
    path,
  ]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let acked = 0
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      acked += d.toString().split('\n').length - 1
      if (acked >= acks && !child.killed) child.kill('SIGKILL')
    })
    child.on('error', reject)
    // 'close', not 'exit': lines printed before the kill may still sit in the pipe at 'exit'.
    child.on('close', (status, signal) => {
      if (signal === 'SIGKILL') resolve(acked)
      else reject(new Error(`writer exited by itself (status ${status})`))
    })
  })
}

describe('RecordLog (durable append-only record file, on a real disk)', () => {
  let dir: string
  let path: string
  let cleanup: () => Promise<void>
  beforeEach(async () => {
    ;({ dir, cleanup } = await tempDir('record-log-'))
    path = join(dir, 'kv.log')
  })
  afterEach(async () => {
    await cleanup()
  })

  it('round-trips many records in order, empty and 1 MiB ones included', async () => {
    const records = someRecords(1, 400)
    const { log, records: none, repaired } = await RecordLog.open({ path })
    assert.deepEqual([none, repaired], [[], 0])
    for (let i = 0; i < records.length; i += 37) await log.append(records.slice(i, i + 37))
    assert.equal(log.size, frameOffset(records, records.length))
    assert.equal(log.size, (await stat(path)).size)
    await log.close()
    const again = await reopen(path)
    assert.deepEqual(again.records, records)
    assert.equal(again.repaired, 0)
  })

  it('appends issued concurrently resolve and land in call order', async () => {
    const { log } = await RecordLog.open({ path })
    const batches = Array.from({ length: 60 }, (_, i) => someRecords(i + 1, i % 4, 500).slice(0, i % 4))
    const resolved: number[] = []
    await Promise.all(batches.map((b, i) => log.append(b).then(() => resolved.push(i))))
    assert.deepEqual(
      resolved,
      batches.map((_, i) => i),
    )
    await log.close()
    assert.deepEqual((await reopen(path)).records, batches.flat())
  })

  it('continues after a reopen: old records first, then the new ones', async () => {
    const [a, b] = [someRecords(2, 20), someRecords(3, 20)]
    const first = await RecordLog.open({ path })
    await first.log.append(a)
    await first.log.close()
    const second = await RecordLog.open({ path })
    assert.deepEqual(second.records, a)
    await second.log.append(b)
    await second.log.close()
    assert.deepEqual((await reopen(path)).records, [...a, ...b])
  })

  it('cuts a torn tail (the file truncated mid-frame), then appends after the last intact record', async () => {
    const records = someRecords(4, 30)
    const { log } = await RecordLog.open({ path })
    await log.append(records)
    await log.close()
    const lastStart = frameOffset(records, records.length - 1)
    for (const cut of [lastStart + 3, lastStart + FRAME_HEAD + 1]) {
      await truncate(path, cut)
      const torn = await RecordLog.open({ path })
      assert.deepEqual(torn.records, records.slice(0, -1))
      assert.equal(torn.repaired, cut - lastStart)
      assert.equal((await stat(path)).size, lastStart, 'the tail is cut on disk')
      await torn.log.close()
    }
    const { log: again } = await RecordLog.open({ path })
    await again.append([records.at(-1)!, new Uint8Array([9])])
    await again.close()
    const after = await reopen(path)
    assert.deepEqual(after.records, [...records, new Uint8Array([9])])
    assert.equal(after.repaired, 0)
  })

  it('a flipped payload byte in the middle record drops it and everything after it', async () => {
    const records = someRecords(5, 9)
    const { log } = await RecordLog.open({ path })
    await log.append(records)
    await log.close()
    const mid = records.findIndex((r) => r.length > 10)
    const start = frameOffset(records, mid)
    const fileSize = (await stat(path)).size
    await flipByte(path, start + FRAME_HEAD + 5)
    const opened = await reopen(path)
    assert.deepEqual(opened.records, records.slice(0, mid))
    assert.equal(opened.repaired, fileSize - start)
  })

  it('a flipped length byte, or a length above maxRecordBytes, ends the log there', async () => {
    const records = [new Uint8Array(300).fill(1), new Uint8Array(300).fill(2), new Uint8Array(300).fill(3)]
    const { log } = await RecordLog.open({ path })
    await log.append(records)
    await log.close()
    // 300 → 364: still a whole frame inside the file, so only the crc (which covers the length) catches it.
    await flipByte(path, frameOffset(records, 1))
    assert.deepEqual((await reopen(path)).records, records.slice(0, 1))
    assert.deepEqual((await reopen(path, 299)).records, [], 'a 300-byte length is corruption at max 299')
  })

  it('a zero-filled tail (size extended, data never written) yields no phantom empty records', async () => {
    const { log } = await RecordLog.open({ path })
    await log.append([new Uint8Array([1, 2, 3])])
    await log.close()
    const size = (await stat(path)).size
    await truncate(path, size + 4096)
    const opened = await reopen(path)
    assert.deepEqual(opened.records, [new Uint8Array([1, 2, 3])])
    assert.equal(opened.repaired, 4096)
  })

  it('refuses a file that is not a record log, and leaves it untouched', async () => {
    for (const content of ['{"some": "config file"}\n', 'SWKV', '']) {
      await writeFile(path, content)
      const err = await expectReject(RecordLog.open({ path }), 'ERR_RECORD_LOG_FOREIGN')
      assert.match(err.message, /not a swarmstore record log/)
      assert.equal(await readFile(path, 'utf8'), content)
    }
  })

  it('compact keeps exactly the live records; appends queued before it are replaced, ones after it kept', async () => {
    const records = someRecords(6, 50)
    const { log } = await RecordLog.open({ path })
    await log.append(records)
    const live = [records[3]!, records[1]!, new Uint8Array([42])]
    const before = log.append([new Uint8Array([7])])
    const compacted = log.compact(live)
    const after = log.append([new Uint8Array([8])])
    await Promise.all([before, compacted, after])
    assert.equal(log.size, frameOffset([...live, new Uint8Array([8])], 4))
    assert.equal(log.size, (await stat(path)).size)
    await log.append([new Uint8Array([9])])
    await log.close()
    assert.deepEqual((await reopen(path)).records, [...live, new Uint8Array([8]), new Uint8Array([9])])
    assert.deepEqual(await readdir(dir), ['kv.log'], 'no temp file left behind')
  })

  it('rejects appends and compactions after close, once the earlier appends are durable', async () => {
    const { log } = await RecordLog.open({ path })
    const pending = log.append([new Uint8Array([1])])
    const closed = log.close()
    await expectReject(log.append([new Uint8Array([2])]), 'ERR_RECORD_LOG_CLOSED')
    await expectReject(log.compact([]), 'ERR_RECORD_LOG_CLOSED')
    await Promise.all([pending, closed])
    assert.deepEqual((await reopen(path)).records, [new Uint8Array([1])])
  })

  it('rejects a record above maxRecordBytes without writing anything, and stays usable', async () => {
    const { log } = await RecordLog.open({ path, maxRecordBytes: 100 })
    await expectReject(log.append([new Uint8Array(5), new Uint8Array(101)]), 'ERR_RECORD_TOO_LARGE')
    await log.append([new Uint8Array(100)])
    await log.close()
    assert.deepEqual((await reopen(path, 100)).records, [new Uint8Array(100)])
  })

  it('after a failed write every later call rejects', async () => {
    const { log } = await RecordLog.open({ path })
    await log.append([new Uint8Array([1])])
    // Reach in and close the file under the log, so its next write fails (EBADF) as a bad disk would.
    await (log as unknown as { fh: FileHandle }).fh.close()
    await assert.rejects(log.append([new Uint8Array([2])]))
    await expectReject(log.append([new Uint8Array([3])]), 'ERR_RECORD_LOG_FAILED')
    await expectReject(log.compact([]), 'ERR_RECORD_LOG_FAILED')
    await log.close().catch(() => {})
    assert.deepEqual((await reopen(path)).records, [new Uint8Array([1])])
  })

  it('every append that resolved in a process killed with SIGKILL is there on reopen', async function () {
    this.timeout(30_000)
    const acked = await appendUntilKilled(path, 25)
    const { records } = await reopen(path)
    assert.ok(records.length >= acked, `${records.length} records, ${acked} acknowledged`)
    assert.deepEqual(
      records,
      records.map((_, i) => new Uint8Array(100 + i).fill(i & 0xff)),
    )
  })
})
