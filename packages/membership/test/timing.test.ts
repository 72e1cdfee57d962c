import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import {
  BroadcastQueue,
  compareIncarnation,
  incarnationAbove,
  LAN_PROFILE,
  LocalHealth,
  pushPullIntervalMs,
  retransmitLimit,
  Suspicion,
  suspicionTimeoutAfter,
  suspicionTimeoutMs,
} from '../src/index.js'
import { ProbeList } from '../src/probe-list.js'
import { ManualClock } from './helpers/manual-clock.js'

describe('profile arithmetic (memberlist LAN)', () => {
  it('suspicion min timeout scales with log10 of the swarm size, floor 1', () => {
    assert.equal(suspicionTimeoutMs(LAN_PROFILE, 1), 4000)
    assert.equal(suspicionTimeoutMs(LAN_PROFILE, 6), 4000)
    assert.equal(suspicionTimeoutMs(LAN_PROFILE, 100), 8000)
    assert.equal(suspicionTimeoutMs(LAN_PROFILE, 500), 10796)
  })

  it('retransmit limit is λ·ceil(log10(n+1)); push/pull slows above 32 members', () => {
    assert.equal(retransmitLimit(LAN_PROFILE, 6), 4)
    assert.equal(retransmitLimit(LAN_PROFILE, 100), 12)
    assert.equal(pushPullIntervalMs(LAN_PROFILE, 20), 30_000)
    assert.equal(pushPullIntervalMs(LAN_PROFILE, 64), 60_000)
    assert.equal(pushPullIntervalMs(LAN_PROFILE, 500), 150_000)
  })

  it('suspicion timeout falls from max to min as confirmations arrive', () => {
    assert.equal(suspicionTimeoutAfter(0, 2, 4000, 24000), 24000)
    assert.equal(suspicionTimeoutAfter(1, 2, 4000, 24000), 11381)
    assert.equal(suspicionTimeoutAfter(2, 2, 4000, 24000), 4000)
    assert.equal(suspicionTimeoutAfter(0, 0, 4000, 24000), 4000)
  })

  it('a Suspicion fires at max alone, earlier with confirmations, never for duplicates', async () => {
    const clock = new ManualClock()
    let fired = -1
    const s = new Suspicion(clock, 'a', 2, 4000, 24000, () => {
      fired = clock.now()
    })
    await clock.advance(1000)
    assert.equal(s.confirm('a'), false, 'the accuser itself is no confirmation')
    assert.equal(s.confirm('b'), true)
    assert.equal(s.confirm('b'), false)
    await clock.advance(5000)
    assert.equal(fired, -1)
    assert.equal(s.confirm('c'), true) // 2 of 2: timeout = min, already elapsed
    await clock.advance(0)
    assert.equal(fired, 6000)
    let never = false
    const t = new Suspicion(clock, 'a', 2, 10, 60, () => {
      never = true
    })
    t.cancel()
    await clock.advance(100)
    assert.equal(never, false)
  })

  it('local health stays within [0, max-1] and scales timeouts', () => {
    const h = new LocalHealth(8)
    h.apply(-3)
    assert.equal(h.score, 0)
    h.apply(20)
    assert.equal(h.score, 7)
    assert.equal(h.scale(500), 4000)
  })
})

describe('incarnations', () => {
  it('compare by epoch, then counter; refutation lands just above the claim', () => {
    assert.equal(compareIncarnation({ epoch: 2, counter: 0 }, { epoch: 1, counter: 99 }), 1)
    assert.equal(compareIncarnation({ epoch: 1, counter: 3 }, { epoch: 1, counter: 4 }), -1)
    assert.deepEqual(incarnationAbove({ epoch: 1, counter: 2 }, { epoch: 1, counter: 2 }), {
      epoch: 1,
      counter: 3,
    })
    assert.deepEqual(incarnationAbove({ epoch: 3, counter: 0 }, { epoch: 1, counter: 9 }), {
      epoch: 3,
      counter: 0,
    })
    assert.deepEqual(incarnationAbove({ epoch: 1, counter: 0 }, { epoch: 2, counter: 4 }), {
      epoch: 2,
      counter: 5,
    })
  })
})

describe('BroadcastQueue', () => {
  const u = (id: string, counter: number) =>
    ({ id, state: 'suspect', incarnation: { epoch: 1, counter }, from: 'z' }) as const

  it('sends each update at most `limit` times, least-sent first, newer replacing older', () => {
    const q = new BroadcastQueue()
    q.enqueue(u('a', 1))
    q.enqueue(u('b', 1))
    assert.deepEqual(
      q.take(1, 3).map((x) => x.id),
      ['b'],
    )
    assert.deepEqual(
      q.take(1, 3).map((x) => x.id),
      ['a'],
    )
    q.enqueue(u('a', 2)) // replaces, transmits reset
    assert.equal(q.size, 2)
    let sentA = 0
    for (let i = 0; i < 10; i++) for (const x of q.take(5, 3)) if (x.id === 'a') sentA++
    assert.equal(sentA, 3)
    assert.equal(q.size, 0)
  })
})

describe('ProbeList', () => {
  it('visits every eligible member exactly once per pass', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `n${i}`)
    const list = new ProbeList(new SeededRandom(3))
    for (let pass = 0; pass < 3; pass++) {
      const seen = new Set<string>()
      for (let i = 0; i < ids.length; i++)
        seen.add(
          list.next(
            () => true,
            () => [...ids],
          )!,
        )
      assert.equal(seen.size, ids.length)
    }
    assert.equal(
      list.next(
        () => false,
        () => [...ids],
      ),
      undefined,
    )
  })

  it('keeps its order across passes: every member is probed exactly every n rounds', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `n${i}`)
    const list = new ProbeList(new SeededRandom(7))
    const last = new Map<string, number>()
    let worst = 0
    for (let round = 0; round < 20 * 10; round++) {
      const id = list.next(
        () => true,
        () => [...ids],
      )!
      const prev = last.get(id)
      if (prev !== undefined) worst = Math.max(worst, round - prev)
      last.set(id, round)
    }
    assert.equal(worst, ids.length)
  })

  it('drops departed members and inserts newcomers at the end of a pass', () => {
    const ids = ['a', 'b', 'c', 'd']
    const list = new ProbeList(new SeededRandom(1))
    const pass = (all: string[]) =>
      Array.from({ length: all.length }, () =>
        list.next(
          () => true,
          () => [...all],
        ),
      )
    const first = pass(ids)
    assert.deepEqual([...first].sort(), ids)
    // 'b' left and 'e' joined: the next pass visits the current members, each once
    const second = pass(['a', 'c', 'd', 'e'])
    assert.deepEqual([...second].sort(), ['a', 'c', 'd', 'e'])
    assert.deepEqual(
      second.filter((id) => id !== 'e'),
      first.filter((id) => id !== 'b'),
    )
  })
})
