import assert from 'node:assert/strict'
import { InvariantChecker, InvariantViolation, type SimNode, Simulator, withSeed } from '../src/index.js'

function ring(sim: Simulator, n: number, boot?: (node: SimNode) => void): string[] {
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push(sim.addNode(`n${i}`, boot).id)
  return ids
}

describe('Simulator: clock and timers', () => {
  it('fires timers in time order, ties in scheduling order, and honours clearTimer', async () => {
    const sim = new Simulator({ seed: 1 })
    const seen: string[] = []
    sim.clock.setTimer(30, () => seen.push(`c@${sim.now()}`))
    sim.clock.setTimer(10, () => seen.push(`a@${sim.now()}`))
    sim.clock.setTimer(10, () => seen.push(`b@${sim.now()}`))
    const h = sim.clock.setTimer(20, () => seen.push('cancelled'))
    sim.clock.clearTimer(h)
    await sim.run()
    assert.deepEqual(seen, ['a@10', 'b@10', 'c@30'])
    assert.equal(sim.now(), 30)
  })

  it('run({until}) stops before later events and leaves the clock at until', async () => {
    const sim = new Simulator({ seed: 1 })
    let fired = 0
    sim.clock.setTimer(50, () => fired++)
    sim.clock.setTimer(150, () => fired++)
    await sim.run({ until: 100 })
    assert.equal(fired, 1)
    assert.equal(sim.now(), 100)
    await sim.run()
    assert.equal(fired, 2)
  })

  it('promise continuations run at the virtual time of the event that resolved them', async () => {
    const sim = new Simulator({ seed: 3 })
    const [a, b] = ring(sim, 2, (node) => node.handle('echo', (_from, m) => m))
    const times: number[] = []
    const chain = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await sim.request(a!, b!, 'echo', i)
        times.push(sim.now())
      }
    }
    await sim.settle(chain())
    const rtt = 2 * sim.linkLatency(a!, b!)
    for (const [i, t] of times.entries()) {
      assert.ok(Math.abs(t - (i + 1) * rtt) < 1e-6, `t=${t} want ${(i + 1) * rtt}`)
    }
  })
})

describe('Simulator: message bus', () => {
  it('request resolves with the handler reply after two one-way latencies from a fixed 10–100 ms per pair', async () => {
    const sim = new Simulator({ seed: 9 })
    const ids = ring(sim, 50, (node) => node.handle('add', (_f, m: { x: number }) => ({ y: m.x + 1 })))
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < 50; j++) {
        if (i === j) continue
        const l = sim.linkLatency(ids[i]!, ids[j]!)
        assert.ok(l >= 10 && l <= 100, `latency ${l}`)
        assert.equal(l, sim.linkLatency(ids[j]!, ids[i]!))
      }
    }
    const t0 = sim.now()
    const r = await sim.settle(sim.request<{ y: number }>(ids[0]!, ids[1]!, 'add', { x: 41 }))
    assert.deepEqual(r, { y: 42 })
    assert.ok(Math.abs(sim.now() - t0 - 2 * sim.linkLatency(ids[0]!, ids[1]!)) < 1e-9)
    assert.equal(sim.stats.messages, 2)
    assert.equal(sim.stats.requests, 1)
    assert.equal(sim.stats.replies, 1)
    assert.ok(sim.stats.bytes > 0)
    assert.equal(sim.stats.byProtocol.get('add')?.messages, 2)
  })

  it('supports async handlers and reports handler errors and missing handlers as remote errors', async () => {
    const sim = new Simulator({ seed: 2 })
    const [a, b] = ring(sim, 2, (node) => {
      node.handle('slow', async (_f, m: number) => {
        await new Promise<void>((r) => node.clock.setTimer(500, r))
        return m * 2
      })
      node.handle('boom', () => {
        throw new Error('kaput')
      })
    })
    const t0 = sim.now()
    assert.equal(await sim.settle(sim.request(a!, b!, 'slow', 21, { timeoutMs: 2000 })), 42)
    assert.ok(sim.now() - t0 >= 500)
    await assert.rejects(sim.settle(sim.request(a!, b!, 'boom', 0)), {
      code: 'SIM_REMOTE_ERROR',
      message: /kaput/,
    })
    await assert.rejects(sim.settle(sim.request(a!, b!, 'nope', 0)), { code: 'SIM_NO_HANDLER' })
  })

  it('times out under total loss, across a partition, and towards a crashed node', async () => {
    const sim = new Simulator({ seed: 4, lossRate: 1 })
    const [a, b, c] = ring(sim, 3, (node) => node.handle('ping', () => 'pong'))
    await assert.rejects(sim.settle(sim.request(a!, b!, 'ping', null, { timeoutMs: 300 })), {
      code: 'SIM_TIMEOUT',
    })
    assert.equal(sim.now(), 300)
    assert.equal(sim.stats.lost, 1)
    sim.lossRate = 0
    sim.partition([[a!], [b!, c!]])
    await assert.rejects(sim.settle(sim.request(a!, b!, 'ping', null)), { code: 'SIM_TIMEOUT' })
    assert.equal(await sim.settle(sim.request(b!, c!, 'ping', null)), 'pong')
    sim.heal()
    assert.equal(await sim.settle(sim.request(a!, b!, 'ping', null)), 'pong')
    sim.crash(c!)
    await assert.rejects(sim.settle(sim.request(a!, c!, 'ping', null)), { code: 'SIM_TIMEOUT' })
    assert.equal(sim.stats.toDownNode, 1)
    assert.equal(sim.stats.timeouts, 3)
  })

  it('a crash drops the node timers and handlers; restart re-boots a new incarnation', async () => {
    const sim = new Simulator({ seed: 5 })
    const boots: number[] = []
    let ticks = 0
    const [a, b] = ring(sim, 2, (node) => {
      boots.push(node.incarnation)
      node.handle('who', () => node.incarnation)
      const tick = (): void => {
        ticks++
        node.clock.setTimer(100, tick)
      }
      if (node.id === 'n1') node.clock.setTimer(100, tick)
    })
    await sim.run({ until: 1000 })
    assert.equal(ticks, 10)
    sim.crash(b!)
    assert.equal(sim.isUp(b!), false)
    await sim.run({ until: 2000 })
    assert.equal(ticks, 10, 'no timer fires on a crashed node')
    sim.restart(b!)
    assert.deepEqual(boots, [0, 0, 1])
    assert.equal(await sim.settle(sim.request(a!, b!, 'who', null)), 1)
    await sim.run({ until: 3500 })
    assert.ok(ticks >= 24)
  })

  it('requests of a node that crashes while waiting never settle, and run() still ends', async () => {
    const sim = new Simulator({ seed: 6 })
    const [a, b] = ring(sim, 2, (node) => node.handle('ping', () => 'pong'))
    let settled = false
    sim.request(a!, b!, 'ping', null).then(
      () => {
        settled = true
      },
      () => {
        settled = true
      },
    )
    sim.crash(a!)
    await sim.run()
    assert.equal(settled, false)
    await assert.rejects(sim.request(a!, b!, 'ping', null), { code: 'SIM_NODE_DOWN' })
  })

  it('settle() reports a deadlock when the queue runs dry', async () => {
    const sim = new Simulator({ seed: 7 })
    await assert.rejects(sim.settle(new Promise(() => {})), { code: 'SIM_DEADLOCK' })
  })
})

/** A gossip-ish workload with loss, jitter, crashes and random choices everywhere. */
async function trace(seed: number): Promise<string[]> {
  const sim = new Simulator({ seed, jitterMs: 20, lossRate: 0.1 })
  const out: string[] = []
  const ids = ring(sim, 40, (node) =>
    node.handle('hello', (from, m: number) => {
      out.push(`${sim.now().toFixed(6)} ${from}>${node.id} ${m}`)
      return node.random.int(1000)
    }),
  )
  const work = ids.map(async (id, i) => {
    for (let r = 0; r < 10; r++) {
      const to = ids[sim.random.int(ids.length)]!
      try {
        const v = await sim.request<number>(id, to, 'hello', r, { timeoutMs: 400 })
        out.push(`${sim.now().toFixed(6)} ${id}<${to} ${v}`)
      } catch (err) {
        out.push(`${sim.now().toFixed(6)} ${id} err ${(err as { code: string }).code}`)
      }
      if (i === 3 && r === 5) sim.crash(ids[7]!)
    }
  })
  // node 7's own worker never finishes: its process died while awaiting
  await sim.settle(Promise.allSettled(work.filter((_, i) => i !== 7)))
  await sim.run()
  out.push(`messages=${sim.stats.messages} bytes=${sim.stats.bytes} lost=${sim.stats.lost}`)
  return out
}

describe('Simulator: determinism', () => {
  it('the same seed gives an identical run, a different seed a different one', async () => {
    const a = await trace(11)
    const b = await trace(11)
    const c = await trace(12)
    assert.ok(a.length > 400)
    assert.deepEqual(a, b)
    assert.notDeepEqual(a, c)
  })

  it('handles 10,000 nodes and 100,000 requests quickly', async () => {
    const sim = new Simulator({ seed: 8 })
    const ids = ring(sim, 10_000, (node) => node.handle('ping', () => 1))
    let ok = 0
    const started = performance.now()
    const jobs: Promise<void>[] = []
    for (let w = 0; w < 1000; w++) {
      jobs.push(
        (async () => {
          for (let r = 0; r < 100; r++) {
            const v = await sim.request<number>(
              ids[sim.random.int(10_000)]!,
              ids[sim.random.int(10_000)]!,
              'ping',
              r,
            )
            ok += v
          }
        })(),
      )
    }
    await sim.settle(Promise.all(jobs))
    assert.equal(ok, 100_000)
    assert.equal(sim.stats.messages, 200_000)
    // generous: the machines running CI are shared; this guards against an accidental O(n²)
    assert.ok(performance.now() - started < 90_000)
  })
})

describe('InvariantChecker and withSeed', () => {
  it('passes holding invariants and names the seed of a violated one', async () => {
    const errors: unknown[] = []
    const orig = console.error
    console.error = (...a: unknown[]) => errors.push(a.join(' '))
    try {
      let x = 1
      const chk = new InvariantChecker(77).add('x is one', () => x === 1 || `x=${x}`)
      chk.checkAll()
      x = 2
      assert.throws(
        () => chk.checkAll('at t=5'),
        (e: unknown) => {
          assert.ok(e instanceof InvariantViolation)
          assert.equal(e.seed, 77)
          assert.match(e.message, /x is one.*at t=5: x=2.*SIM_SEED=77/)
          return true
        },
      )
      await assert.rejects(
        withSeed(99, async () => {
          throw new Error('broken')
        }),
        /\[seed=99\] broken/,
      )
      assert.ok(errors.some((e) => String(e).includes('SIM_SEED=77')))
      assert.ok(errors.some((e) => String(e).includes('SIM_SEED=99')))
    } finally {
      console.error = orig
    }
  })
})
