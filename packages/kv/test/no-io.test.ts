import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

describe('sans-I/O', () => {
  it('no file in src/ reads a clock, sets a timer or draws its own randomness', () => {
    const dir = join(import.meta.dirname, '../src')
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'))
    assert.ok(files.includes('acceptor.ts') && files.includes('proposer.ts'))
    for (const f of files) {
      const src = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      assert.doesNotMatch(
        src,
        /Date\.now|setTimeout|setInterval|setImmediate|Math\.random|performance\.now/,
        f,
      )
    }
  })
})
