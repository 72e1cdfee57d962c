import assert from 'node:assert/strict'
import { type Startable, startAll, stopAll } from '../src/lifecycle.js'

function part(name: string, log: string[], failStart = false): Startable {
  return {
    start: async () => {
      if (failStart) throw new Error(`${name} failed`)
      log.push(`start ${name}`)
    },
    stop: () => {
      log.push(`stop ${name}`)
    },
  }
}

describe('lifecycle', () => {
  it('starts in order and stops in reverse', async () => {
    const log: string[] = []
    const parts = ['a', 'b', 'c'].map((n) => part(n, log))
    await startAll(parts)
    await stopAll(parts)
    assert.deepEqual(log, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a'])
  })

  it('a part that fails to start stops those already started, in reverse, and throws', async () => {
    const log: string[] = []
    const parts = [part('a', log), part('b', log), part('c', log, true), part('d', log)]
    await assert.rejects(startAll(parts), /c failed/)
    assert.deepEqual(log, ['start a', 'start b', 'stop b', 'stop a'])
  })

  it('a part that fails to stop does not keep the others running', async () => {
    const log: string[] = []
    const bad: Startable = { start: () => {}, stop: () => Promise.reject(new Error('no')) }
    await stopAll([part('a', log), bad, part('c', log)])
    assert.deepEqual(log, ['stop c', 'stop a'])
  })
})
