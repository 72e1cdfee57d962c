import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { sha256, type TestDaemon, TestSwarm, waitFor } from './support/swarm.js'

/** Key function, computed here independently of the code under test: SHA-256 of multihash bytes. */
const peerKey = (id: string) => createHash('sha256').update(peerIdFromString(id).toMultihash().bytes).digest()
const cidKey = (cid: string) => createHash('sha256').update(CID.parse(cid).multihash.bytes).digest()
function rClosest(key: Buffer, peers: string[], r: number): string[] {
  const dist = (id: string) => Buffer.from(peerKey(id).map((b, i) => b ^ key[i]!))
  return [...peers].sort((a, b) => Buffer.compare(dist(a), dist(b))).slice(0, r)
}

interface Stat {
  cid: string
  size: number
  chunks: { cid: string; size: number; holders: string[] }[]
  manifests: { cid: string; holders: string[] }[]
}

describe('5 daemons as processes: put, get, stat, kill -9, restart', function () {
  this.timeout(300_000)
  let swarm: TestSwarm
  let nodes: TestDaemon[]
  let file: string
  let digest: string
  let cid: string

  before(async () => {
    swarm = await TestSwarm.create()
    nodes = await swarm.start(5)
    file = join(swarm.root, 'input.bin')
    const bytes = randomBytes(64 * 1024 * 1024)
    digest = sha256(bytes)
    await writeFile(file, bytes)
  })
  after(async () => {
    await swarm.destroy()
  })

  it('puts 64 MiB with --wait all through node 1 and gets identical bytes through node 5', async () => {
    const put = await nodes[0]!.cli(['put', file, '--wait', 'all', '--json'])
    assert.equal(put.code, 0, put.stderr)
    const out = JSON.parse(put.stdout) as { cid: string; size: number; chunks: number }
    assert.equal(out.size, 64 * 1024 * 1024)
    assert.equal(out.chunks, 64)
    cid = out.cid
    const back = join(swarm.root, 'back.bin')
    const get = await nodes[4]!.cli(['get', cid, '-o', back])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(sha256(await readFile(back)), digest)
  })

  it('stat shows every chunk on exactly its R closest nodes', async () => {
    const st = await nodes[2]!.cli(['stat', cid, '--json'])
    assert.equal(st.code, 0, st.stderr)
    const stat = JSON.parse(st.stdout) as Stat
    assert.equal(stat.chunks.length, 64)
    const ids = nodes.map((n) => n.peerId)
    for (const c of [...stat.chunks, ...stat.manifests]) {
      assert.deepEqual([...c.holders].sort(), rClosest(cidKey(c.cid), ids, 3).sort(), `holders of ${c.cid}`)
    }
    const total = (await Promise.all(nodes.map((n) => n.status()))).reduce((s, x) => s + x.chunks, 0)
    assert.equal(total, 65 * 3, 'exactly R copies of every block (no extra copy on the uploader)')
  })

  it('after kill -9 of a holder, get still succeeds; restarted, it rejoins with its chunks', async () => {
    // node 3 holds some chunks (it is among the R closest of ~60% of them)
    const victim = nodes[2]!
    const before = await victim.status()
    assert.ok(before.chunks > 0)
    await victim.kill('SIGKILL')
    const back = join(swarm.root, 'back2.bin')
    const get = await nodes[4]!.cli(['get', cid, '-o', back])
    assert.equal(get.code, 0, get.stderr)
    assert.equal(sha256(await readFile(back)), digest)

    await victim.start()
    const after = await waitFor('victim ready again', async () => {
      const s = await victim.status()
      return s.ready && s.peers >= 4 ? s : undefined
    })
    assert.equal(after.chunks, before.chunks, 'every chunk it held survived kill -9')
    assert.equal(after.peerId, before.peerId, 'same identity after restart')
    const st = JSON.parse((await nodes[0]!.cli(['stat', cid, '--json'])).stdout) as Stat
    const ids = nodes.map((n) => n.peerId)
    for (const c of st.chunks) assert.deepEqual([...c.holders].sort(), rClosest(cidKey(c.cid), ids, 3).sort())
  })

  it('an unknown CID is not found (exit 4), a raw chunk CID is not a file (exit 2)', async () => {
    const unknown = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    const r = await nodes[1]!.cli(['get', unknown, '--timeout', '20s'])
    assert.equal(r.code, 4, r.stderr)
    const s = await nodes[1]!.cli(['get', 'not-a-cid'])
    assert.equal(s.code, 2, s.stderr)
  })
})
