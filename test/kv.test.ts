import assert from 'node:assert/strict'
import { checkLinearizability, type KvOperation } from '@swarmstore/sim'
import { type Groups, kv, randomOp, rangeOfKey, settled, sleep } from './support/kv.js'
import { type TestDaemon, TestSwarm, waitFor } from './support/swarm.js'

describe('key-value state on 4 daemons as processes (issue 21)', function () {
  this.timeout(400_000)
  let swarm: TestSwarm
  let nodes: TestDaemon[]

  before(async () => {
    swarm = await TestSwarm.create()
    nodes = await swarm.start(4)
    await settled(nodes, 3)
  })
  after(async () => {
    for (const d of swarm?.daemons ?? []) d.proc?.kill('SIGCONT')
    await swarm?.destroy()
  })

  it('put, get from every other node, cas, delete: versions grow by one, across delete', async () => {
    assert.deepEqual((await kv(nodes[0]!, 'PUT', 'greeting', 'hello')).status, 200)
    for (const d of nodes.slice(1)) {
      const r = await kv(d, 'GET', 'greeting')
      assert.deepEqual([r.status, r.version, r.text], [200, 1, 'hello'])
    }
    const wrong = await kv(nodes[1]!, 'PUT', 'greeting', 'x', '?expect=7')
    assert.equal(wrong.status, 409)
    assert.equal(wrong.version, 1, 'a conflict names the current version')
    assert.equal((await kv(nodes[2]!, 'PUT', 'greeting', 'hi', '?expect=1')).version, 2)
    assert.equal(
      (await kv(nodes[3]!, 'PUT', 'greeting', 'y', '?expect=0')).status,
      409,
      'expect 0: only if absent',
    )
    assert.equal((await kv(nodes[3]!, 'DELETE', 'greeting')).version, 3)
    const gone = await kv(nodes[0]!, 'GET', 'greeting')
    assert.equal(gone.status, 404)
    assert.equal(gone.version, 3, 'the tombstone keeps the counter')
    assert.equal((await kv(nodes[1]!, 'PUT', 'greeting', 'again', '?expect=0')).version, 4, 'never reused')
  })

  it('bad input is refused and stores nothing', async () => {
    assert.equal((await kv(nodes[0]!, 'PUT', 'k'.repeat(1025), 'v')).status, 400)
    assert.equal((await kv(nodes[0]!, 'PUT', 'big', new Uint8Array((1 << 20) + 1))).status, 413)
    const big = await kv(nodes[1]!, 'GET', 'big')
    assert.deepEqual([big.status, big.version], [404, 0])
    assert.equal(
      (await kv(nodes[0]!, 'PUT', 'max', new Uint8Array(1 << 20))).status,
      200,
      'exactly 1 MiB is allowed',
    )
  })

  it('a write that would overfill its range (one move message) is refused: 507, nothing stored', async () => {
    const first = 'heavy/0'
    let second = 'heavy/1'
    for (let i = 1; rangeOfKey(second) !== rangeOfKey(first); i++) second = `heavy/${i}`
    const big = new Uint8Array(600 * 1024).fill(7)
    assert.equal((await kv(nodes[0]!, 'PUT', first, big)).status, 200)
    const refused = await kv(nodes[1]!, 'PUT', second, big)
    assert.equal(refused.status, 507)
    assert.equal(refused.code, 'ERR_KV_RANGE_FULL')
    assert.equal((await kv(nodes[2]!, 'GET', second)).status, 404, 'nothing stored')
    const replaced = await kv(nodes[3]!, 'PUT', first, new Uint8Array(1 << 20))
    assert.equal(replaced.status, 200, 'a value replaced in place only counts its growth')
    assert.equal((await kv(nodes[0]!, 'DELETE', first)).status, 200)
  })

  it('5 clients on 3 hot keys while a member is killed -9, restarted, and frozen: the history is linearizable', async () => {
    const history: KvOperation[] = []
    const hot = ['hot/a', 'hot/b', 'hot/c']
    let stop = false
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) history.push(await randomOp(nodes, c, i, hot))
    }
    const clients = Array.from({ length: 5 }, (_, c) => client(c))
    const victim = nodes[2]!
    await sleep(5_000)
    await victim.kill('SIGKILL')
    await sleep(5_000)
    await victim.start()
    await sleep(5_000)
    victim.proc?.kill('SIGSTOP')
    await sleep(8_000)
    victim.proc?.kill('SIGCONT')
    await sleep(5_000)
    stop = true
    await Promise.all(clients)
    const report = checkLinearizability(history, { maxMs: 60_000 })
    const answered = history.filter(
      (o) => o.result.type !== 'indeterminate' && o.result.type !== 'failed',
    ).length
    assert.ok(answered > 100, `only ${answered} operations answered`)
    assert.equal(report.ok, true, JSON.stringify(report).slice(0, 2000))
  })

  it('a replica frozen while its key is deleted does not bring the value back when it resumes, nor after the purge', async () => {
    const g = await nodes[0]!.api<Groups>('/v1/kv/groups')
    const members = g.ranges.find((r) => r.range === rangeOfKey('zombie'))!.members
    const replica = nodes.find((d) => members.includes(d.peerId))!
    assert.equal((await kv(nodes[0]!, 'PUT', 'zombie', 'alive')).version, 1)
    // another member of the group: it runs rounds itself, with the two live members
    const member = nodes.find((d) => d !== replica && members.includes(d.peerId))!
    replica.proc?.kill('SIGSTOP') // shorter than the suspicion timeout: it stays a member
    try {
      const del = await kv(member, 'DELETE', 'zombie')
      assert.equal(del.version, 2, JSON.stringify(del))
    } finally {
      replica.proc?.kill('SIGCONT')
    }
    for (const d of nodes) {
      const r = await answered(d, 'zombie')
      assert.deepEqual([r.status, r.version], [404, 2], `${d.name}: NOT_FOUND at the tombstone's version`)
    }
    // the resumed replica missed the delete: a sweep settles it (a full round on the key), then
    // two sweeps purge the tombstone everywhere (SWEEP_EVERY_MS apart)
    // (a member reports its own key count every few seconds — a non-member keeps the first count it
    // heard for the epoch: first the tombstone is seen held, then gone)
    const keysHeld = async () => {
      const groups = await member.api<Groups>('/v1/kv/groups')
      return groups.ranges.find((r) => r.range === rangeOfKey('zombie'))!.keys
    }
    await waitFor('the tombstone counted in its group', async () => (await keysHeld()) === 1, 30_000, 500)
    await waitFor('the tombstone purged from its group', async () => (await keysHeld()) === 0, 120_000, 1_000)
    for (const d of nodes) {
      const r = await answered(d, 'zombie')
      assert.equal(r.status, 404, `${d.name}: still NOT_FOUND once purged`)
      assert.ok((r.version ?? 0) >= 2, `${d.name}: the version never goes back (${r.version})`)
    }
    const back = await kv(nodes[1]!, 'PUT', 'zombie', 'new life', '?expect=0')
    assert.ok((back.version ?? 0) > 2, `a purged key's next version is above its last (${back.version})`)
  })

  it('a member killed for good is replaced: every range back on 3 live members, the data readable', async () => {
    await kv(nodes[0]!, 'PUT', 'survivor', 'still here')
    const dead = nodes[3]!
    await dead.kill('SIGKILL')
    const rest = nodes.slice(0, 3)
    const t0 = Date.now()
    await settled(rest, 3)
    const replacedMs = Date.now() - t0
    assert.ok(replacedMs < 240_000, `replaced in ${replacedMs} ms`)
    for (const d of rest) assert.equal((await kv(d, 'GET', 'survivor')).text, 'still here')
  })

  it('every daemon killed -9 at once and restarted: acknowledged values and versions are all back', async () => {
    const rest = nodes.slice(0, 3)
    const acked = new Map<string, number>()
    for (let i = 0; i < 30; i++) {
      const r = await kv(rest[i % 3]!, 'PUT', `durable/${i}`, `v${i}`)
      assert.equal(r.status, 200)
      acked.set(`durable/${i}`, r.version!)
    }
    await Promise.all(rest.map((d) => d.kill('SIGKILL')))
    await rest[0]!.start()
    await Promise.all(rest.slice(1).map((d) => d.start()))
    await settled(rest, 3)
    for (const [key, version] of acked) {
      const r = await answered(rest[version % 3]!, key)
      assert.deepEqual([r.status, r.version, r.text], [200, version, `v${key.split('/')[1]}`], key)
    }
  })
})

/** A get's answer, asked again while it is 503 (a range still moving or catching up after a fault). */
function answered(d: TestDaemon, key: string) {
  return waitFor(`${d.name} answers a get of ${key}`, async () => {
    const r = await kv(d, 'GET', key)
    return r.status === 503 ? undefined : r
  })
}
