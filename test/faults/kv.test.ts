import assert from 'node:assert/strict'
import { checkLinearizability, type KvOperation } from '@swarmstore/sim'
import { type Groups, kv, randomOp, rangeOfKey, settled, sleep } from '../support/kv.js'
import { NetnsLab, type NsDaemon, probeNetns } from '../support/netns.js'
import { waitFor } from '../support/swarm.js'

const HOSTS = 6
const HOT = ['hot/a', 'hot/b', 'hot/c']
const CLIENTS = 5
/** past the suspicion timeout: the frozen member is declared dead and replaced meanwhile */
const FREEZE_MS = 12_000
const CUT_MS = 12_000
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`

describe('fault 9: key-value state on real hosts (network namespaces, 5 ms delay, 1% loss)', function () {
  this.timeout(600_000)
  let lab: NetnsLab | undefined
  let nodes: NsDaemon[] = []

  before(async function () {
    const p = await probeNetns()
    if ('skip' in p) {
      console.log(`      skipping fault 9 (kv on real hosts): ${p.skip}`)
      this.skip()
    }
    lab = await NetnsLab.create({ hosts: HOSTS, delayMs: 5, lossPct: 1, mode: p.mode })
    const first = lab.add()
    await first.start()
    const rest = Array.from({ length: HOSTS - 2 }, () => lab!.add({ bootstrap: [first.multiaddr] }))
    await Promise.all(rest.map((d) => d.start()))
    nodes = [first, ...rest]
    const t0 = Date.now()
    await settled(nodes, 3)
    console.log(`      ${nodes.length} daemons; ring settled in ${secs(Date.now() - t0)}`)
  })

  after(async function () {
    for (const d of lab?.daemons ?? []) d.proc?.kill('SIGCONT')
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed') ?? false
    await lab?.destroy(failed)
  })

  it('5 clients on 3 hot keys through kill -9, a freeze past the suspicion timeout, a partition and a join: linearizable', async () => {
    const history: KvOperation[] = []
    let stop = false
    const away = new Set<NsDaemon>() // frozen or cut off: clients do not wait on them
    const live = () => nodes.filter((d) => !away.has(d))
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) history.push(await randomOp(live(), c, i, HOT, 3_000))
    }
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c))
    const t0 = Date.now()
    const at = (ms: number) => sleep(ms - (Date.now() - t0))
    const groupOf = async (key: string) => {
      const g = await nodes[0]!.api<Groups>('/v1/kv/groups')
      const members = g.ranges.find((r) => r.range === rangeOfKey(key))!.members
      return nodes.find((d) => members.includes(d.peerId) && d !== nodes[0])!
    }
    await at(5_000)
    const killed = await groupOf(HOT[0]!)
    await killed.kill('SIGKILL')
    await at(12_000)
    await killed.start()
    await at(20_000)
    const frozen = await groupOf(HOT[1]!)
    frozen.proc?.kill('SIGSTOP')
    away.add(frozen)
    await at(20_000 + FREEZE_MS)
    frozen.proc?.kill('SIGCONT')
    away.delete(frozen)
    await at(38_000)
    const cut = await groupOf(HOT[2]!)
    await lab!.cut(cut.host)
    away.add(cut)
    await at(38_000 + CUT_MS)
    await lab!.heal(cut.host)
    away.delete(cut)
    await at(55_000)
    const joined = lab!.add({ bootstrap: [nodes[0]!.multiaddr] })
    await joined.start()
    nodes.push(joined)
    await at(75_000)
    stop = true
    await Promise.all(clients)

    const report = checkLinearizability(history, { maxMs: 120_000 })
    const answered = history.filter((o) => o.result.type !== 'indeterminate' && o.result.type !== 'failed')
    console.log(`      ${history.length} operations, ${answered.length} answered, checker: ${report.ok}`)
    assert.equal(report.ok, true, JSON.stringify(report).slice(0, 3000))
    assert.ok(answered.length > 200, `only ${answered.length} operations answered`)
    // after the faults: every range back on 3 live members, the newcomer holding its share
    const g = await settled(nodes, 3)
    assert.ok(
      g.ranges.some((r) => r.members.includes(joined.peerId)),
      'the joined daemon holds ranges',
    )
    for (const key of HOT) {
      const r = await waitFor(`${key} readable`, async () => {
        const a = await kv(nodes[1]!, 'GET', key)
        return a.status === 200 || a.status === 404 ? a : undefined
      })
      assert.ok(r.status === 200 || r.status === 404)
    }
  })
})
