import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { misplaced, type PutFile, putFiles } from '../support/files.js'
import {
  DeathWatch,
  memberDownLines,
  NetnsLab,
  type NsDaemon,
  probeNetns,
  unreadable,
} from '../support/netns.js'
import { waitFor } from '../support/swarm.js'

const HOSTS = 6
const DELAY_MS = 20
const LOSS_PCT = 1
const CUT_MS = 30_000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)))
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`

describe('fault 8: real hosts (network namespaces, 20 ms delay, 1% loss)', function () {
  this.timeout(600_000)
  let lab: NetnsLab | undefined
  let nodes: NsDaemon[] = []
  let watch: DeathWatch | undefined
  const files: PutFile[] = []

  before(async function () {
    const p = await probeNetns()
    if ('skip' in p) {
      console.log(`      skipping fault 8 (real hosts): ${p.skip}`)
      this.skip()
    }
    const t0 = Date.now()
    lab = await NetnsLab.create({ hosts: HOSTS, delayMs: DELAY_MS, lossPct: LOSS_PCT, mode: p.mode })
    console.log(`      ${HOSTS} hosts ${lab.hosts[0]!.ip}..${lab.hosts.at(-1)!.ip}; ${lab.impairment}`)
    nodes = await lab.start()
    watch = new DeathWatch(nodes)
    console.log(`      swarm up in ${secs(Date.now() - t0)} (logs in ${lab.root}/nodeN.log)`)
  })

  after(async function () {
    await watch?.stop()
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed') ?? false
    if (watch && failed) {
      console.log('      member down (daemon logs):', JSON.stringify(await memberDownLines(nodes)))
      console.log('      false deaths (/v1/peers):', JSON.stringify(watch.falseDeaths))
      console.log('      failed API polls outside a cut:', JSON.stringify(watch.failedPolls.slice(0, 20)))
    }
    await lab?.destroy(failed) // a failed run keeps its data dirs and logs for the evidence
  })

  it('delayed and lossy: files put with --wait all read back byte-identical from another host; no false deaths', async () => {
    // the impairment is there: an answer from a host's API comes back at least one delay later
    let rtt = Number.POSITIVE_INFINITY
    for (let i = 0; i < 5; i++) {
      const t = performance.now()
      await fetch(`${nodes[1]!.url}/health`)
      rtt = Math.min(rtt, performance.now() - t)
    }
    assert.ok(rtt >= DELAY_MS, `API round trip ${rtt.toFixed(1)} ms < ${DELAY_MS} ms: no delay on the path`)

    const t0 = Date.now()
    await mkdir(join(lab!.root, 'before'))
    files.push(
      ...(await putFiles(nodes[0]!, join(lab!.root, 'before'), 20, {
        minBytes: 1,
        maxBytes: 1 << 20,
        wait: 'all',
      })),
    )
    const putMs = Date.now() - t0
    await waitFor(
      'under-replicated = 0 on every daemon',
      async () => (await Promise.all(nodes.map((d) => d.status()))).every((s) => s.underReplicated === 0),
      30_000,
      500,
    )
    assert.deepEqual(await misplaced(nodes[1]!, files, nodes), [], 'every block on exactly its R closest')
    const t1 = Date.now()
    assert.deepEqual(await unreadable(nodes[5]!, files), [], 'read back from another host')
    const getMs = Date.now() - t1
    assert.deepEqual(watch!.falseDeaths, [], 'live, reachable members declared dead (/v1/peers)')
    assert.deepEqual(await watch!.falseInLogs(), [], 'live, reachable members declared dead (daemon logs)')
    const mib = files.reduce((s, f) => s + f.size, 0) / 2 ** 20
    console.log(
      `      API rtt ${rtt.toFixed(1)} ms; put ${files.length} files (${mib.toFixed(1)} MiB) in ${secs(putMs)},` +
        ` read back in ${secs(getMs)}; ${watch!.polls} peer views polled, ${watch!.suspects} suspect entries, 0 dead`,
    )
  })

  it('one host cut off for 30 s, then healed: it rejoins, no acknowledged write is lost, replicas converge', async () => {
    const w = watch!
    const victim = nodes[2]!
    const others = nodes.filter((n) => n !== victim)
    const held = (await victim.status()).chunks
    assert.ok(held > 0, 'the host to cut off holds chunks')

    await mkdir(join(lab!.root, 'during'))
    w.excuse(victim)
    const cutAt = Date.now()
    await lab!.cut(victim.host)
    // acknowledged (W) writes while it is unreachable, some of them during the detection window
    const during = putFiles(nodes[4]!, join(lab!.root, 'during'), 10, { minBytes: 1, maxBytes: 1 << 20 })
    await waitFor(
      `every other host declares ${victim.name} dead`,
      async () => {
        const views = await Promise.all(others.map((d) => d.peers()))
        return views.every((v) => {
          const s = v.find((p) => p.peerId === victim.peerId)?.state
          return s === undefined || s === 'dead' || s === 'left'
        })
      },
      30_000,
      200,
    )
    const allDeadMs = Date.now() - cutAt
    files.push(...(await during))
    const duringMs = Date.now() - cutAt
    await sleep(CUT_MS - (Date.now() - cutAt))
    await lab!.heal(victim.host)
    const healAt = Date.now()
    const cutMs = healAt - cutAt

    let firstView = '' // what the returning host saw first, before it caught up
    await waitFor(
      `${victim.name} alive again in every view (and seeing every other alive)`,
      async () => {
        const views = await Promise.all(nodes.map((d) => d.peers(3000)))
        firstView ||= others
          .map(
            (o) =>
              `${o.name} ${views[nodes.indexOf(victim)]!.find((p) => p.peerId === o.peerId)?.state ?? 'absent'}`,
          )
          .join(', ')
        return views.every((v, i) =>
          nodes.every((o, j) => i === j || v.find((p) => p.peerId === o.peerId)?.state === 'alive'),
        )
      },
      60_000,
      250,
    )
    const rejoinMs = Date.now() - healAt
    w.rejoined(victim)

    // every block again on exactly its R closest of all six (handed to the returning host, surplus trimmed)
    let bad: string[] = []
    let under: number[] = []
    try {
      await waitFor(
        'placement converged on all six, under-replicated 0 everywhere',
        async () => {
          under = (await Promise.all(nodes.map((d) => d.status()))).map((s) => s.underReplicated)
          bad = await misplaced(nodes[0]!, files, nodes)
          return bad.length === 0 && under.every((u) => u === 0)
        },
        120_000,
        2000,
      )
    } catch (err) {
      assert.fail(
        `${err}; under-replicated per node ${under}; misplaced ${bad.length}: ${bad.slice(0, 10)};` +
          ` false deaths so far ${JSON.stringify(w.falseDeaths)}`,
      )
    }
    const convergeMs = Date.now() - healAt

    assert.deepEqual(await unreadable(victim, files), [], 'read back through the host that was cut off')
    assert.deepEqual(await unreadable(nodes[1]!, files), [], 'read back through another host')
    assert.deepEqual(w.falseDeaths, [], `live, reachable members declared dead (/v1/peers); ${w.timeline}`)
    assert.deepEqual(await w.falseInLogs(), [], 'live, reachable members declared dead (daemon logs)')

    const seen = others.map((o) => w.firstDead(o, victim, cutAt)).filter((t) => t !== undefined)
    const detect = seen.map((t) => t - cutAt).sort((a, b) => a - b)
    const logged = (await memberDownLines(nodes))
      .filter((d) => d.subject === victim.name && d.state === 'dead' && d.at >= cutAt && d.at <= healAt)
      .map((d) => `${d.observer} ${secs(d.at - cutAt)}`)
    console.log(
      `      ${victim.name} (${held} chunks) cut ${secs(cutMs)}: first declared dead after ${secs(detect[0] ?? Number.NaN)},` +
        ` by all after ${secs(allDeadMs)} (per observer ${detect.map(secs).join(' ')});` +
        ` logged: ${logged.join(', ')}; 10 puts during the cut acknowledged by ${secs(duringMs)}`,
    )
    const back = w.revivals
      .filter((d) => d.at >= healAt && (d.subject === victim.name || d.observer === victim.name))
      .map((d) => `${d.observer}>${d.subject} ${secs(d.at - healAt)}`)
    console.log(
      `      healed: alive in every view after ${secs(rejoinMs)} (${back.join(', ')};` +
        ` ${victim.name} first saw ${firstView}),` +
        ` placement converged after ${secs(convergeMs)}; ${files.length} files read back from 2 hosts;` +
        ` ${w.failedPolls.length} API polls failed outside a cut ${JSON.stringify(w.failedPolls.slice(0, 3))}`,
    )
  })
})
