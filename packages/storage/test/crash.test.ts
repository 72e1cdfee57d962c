import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { SeededRandom } from '@swarmstore/core'
import { ChunkStore } from '../src/index.js'
import { tempDir } from './support/helpers.js'

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 10)
const fixture = new URL('./fixtures/crash-writer.ts', import.meta.url).pathname

/** Runs the writer until it has reported `ops` resolved operations, then SIGKILLs it. */
async function runAndKill(dir: string, seed: number, ops: number): Promise<string[]> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', fixture, dir, String(seed)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const lines: string[] = []
  let buf = ''
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        lines.push(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
      }
      if (lines.length > ops && child.exitCode === null && !child.killed) child.kill('SIGKILL')
    })
    child.on('error', reject)
    // 'close', not 'exit': lines the child wrote before dying may still sit in the pipe at 'exit'.
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself (code ${code})`))
      // Lines already printed are operations that had resolved before the kill.
      else resolve(lines.filter((l) => l !== 'ready'))
    })
  })
}

describe('crash safety with a real process (SIGKILL)', function () {
  this.timeout(120_000)

  it(`every resolved put survives kill -9, no temp debris, everything verifies (${ROUNDS} rounds)`, async () => {
    const { dir, cleanup } = await tempDir('crash-')
    const rng = new SeededRandom(2026)
    const present = new Set<string>()
    const deleted = new Set<string>()
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const lines = await runAndKill(dir, round + 1, rng.int(40))
        for (const l of lines) {
          const [op, cid] = l.split(' ') as [string, string]
          if (op === 'put') {
            present.add(cid)
            deleted.delete(cid)
          } else if (op === 'deleting') {
            present.delete(cid) // in flight at the kill: either outcome is allowed
          } else {
            present.delete(cid)
            deleted.add(cid)
          }
        }
        const store = await ChunkStore.open(dir, { cacheBytes: 0 })
        assert.deepEqual(await readdir(join(dir, 'tmp')), [], `round ${round}: temp debris removed`)
        const report = await store.verify()
        assert.deepEqual(report.corrupt, [], `round ${round}: nothing torn`)
        assert.deepEqual(report.missing, [])
        for (const cid of present) {
          assert.ok(store.has(cid), `round ${round}: resolved put ${cid} survived; log:\n${lines.join('\n')}`)
        }
        for (const cid of deleted) assert.ok(!store.has(cid), `round ${round}: resolved delete ${cid} stuck`)
        await store.close()
      }
      assert.ok(present.size > ROUNDS, `exercised ${present.size} chunks`)
    } finally {
      await cleanup()
    }
  })
})
