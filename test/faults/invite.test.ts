/**
 * Joining in one command, across hosts: a private swarm (pnet key) on one network namespace, `invite`
 * on it, `join TOKEN` on another host with nothing but the token; daemons with a wrong or no swarm
 * key are refused with a message that names the key.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type PutFile, putFiles } from '../support/files.js'
import { NetnsLab, NsDaemon, probeNetns, unreadable } from '../support/netns.js'
import { cli, type Status, waitFor } from '../support/swarm.js'

const swarmKey = () => `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`

/** `swarmstore join TOKEN` inside a host's namespace, in place of `swarmstore daemon`. */
class JoiningDaemon extends NsDaemon {
  invite = ''
  override args(): string[] {
    const { ip } = this.host
    return [
      'join',
      this.invite,
      '--data-dir',
      this.dataDir,
      '--listen',
      `/ip4/${ip}/tcp/4001`,
      '--api',
      `${ip}:5890`,
    ]
  }
}

interface JoinStatus extends Status {
  joinProblem: string | null
}

describe('joining in one command: invite on one host, join on another (network namespaces)', function () {
  this.timeout(300_000)
  let lab: NetnsLab | undefined
  let first: NsDaemon
  let keyFile: string

  before(async function () {
    const p = await probeNetns()
    if ('skip' in p) {
      // CI must run it: a missing capability there is a failure, not a quiet skip
      if (process.env.CI) throw new Error(`network namespaces unavailable under CI: ${p.skip}`)
      console.log(`      skipping (real hosts): ${p.skip}`)
      this.skip()
    }
    lab = await NetnsLab.create({ hosts: 4, delayMs: 1, lossPct: 0, mode: p.mode, subnet: '10.78.0' })
    keyFile = join(lab.root, 'swarm.key')
    await writeFile(keyFile, swarmKey(), { mode: 0o600 })
    first = lab.add({ extra: ['--swarm-key', keyFile] })
    await first.start()
  })

  after(async function () {
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed') ?? false
    await lab?.destroy(failed)
  })

  it('join TOKEN on another host writes the config and key, joins the private swarm, and data flows', async () => {
    const inv = await cli(['invite', '--expires', '10m', '--json', '--data-dir', first.dataDir])
    assert.equal(inv.code, 0, inv.stderr)
    assert.match(inv.stderr, /carries the swarm key/, 'the secret is called one where it is printed')
    const invite = JSON.parse(inv.stdout) as { token: string; private: boolean; bootstrap: string[] }
    assert.equal(invite.private, true)
    assert.ok(invite.bootstrap.includes(first.multiaddr), `${invite.bootstrap} lists ${first.multiaddr}`)

    const host = lab!.hosts[1]!
    const joiner = new JoiningDaemon('node2', join(lab!.root, 'node2'), host, {})
    joiner.invite = invite.token
    lab!.daemons.push(joiner)
    await joiner.start()
    await waitFor(
      'the joined node ready, and alive in the first one’s view',
      async () => {
        const st = await joiner.status()
        const view = await first.peers()
        return st.ready && view.some((p) => p.peerId === joiner.peerId && p.state === 'alive')
      },
      60_000,
    )

    const config = JSON.parse(await readFile(join(joiner.dataDir, 'config.json'), 'utf8'))
    assert.equal(config.swarmKey, join(joiner.dataDir, 'swarm.key'))
    assert.deepEqual(config.bootstrap, invite.bootstrap)
    assert.equal((await stat(config.swarmKey)).mode & 0o777, 0o600)
    assert.equal(await readFile(config.swarmKey, 'utf8'), await readFile(keyFile, 'utf8'))

    await mkdir(join(lab!.root, 'files'))
    const files: PutFile[] = await putFiles(joiner, join(lab!.root, 'files'), 3, {
      minBytes: 1,
      maxBytes: 3 << 20,
    })
    assert.deepEqual(
      await unreadable(first, files),
      [],
      'what the joined node put reads back on the first host',
    )
  })

  it('a daemon with a wrong swarm key, and one with none, are refused with a message naming the key', async () => {
    const wrongKey = join(lab!.root, 'wrong.key')
    await writeFile(wrongKey, swarmKey(), { mode: 0o600 })
    const wrong = new NsDaemon('node3', join(lab!.root, 'node3'), lab!.hosts[2]!, {
      bootstrap: [first.multiaddr],
      extra: ['--swarm-key', wrongKey],
    })
    const none = new NsDaemon('node4', join(lab!.root, 'node4'), lab!.hosts[3]!, {
      bootstrap: [first.multiaddr],
    })
    lab!.daemons.push(wrong, none)
    await Promise.all([wrong.start(), none.start()])
    const problem = async (d: NsDaemon) => {
      const st = await d.api<JoinStatus>('/v1/status')
      assert.equal(st.ready, false, `${d.name} must not join`)
      return st.joinProblem ?? undefined
    }
    const [w, n] = await Promise.all([
      waitFor('the wrong key named', () => problem(wrong), 90_000, 500),
      waitFor('the missing key named', () => problem(none), 90_000, 500),
    ])
    assert.match(w, new RegExp(`swarm key ${wrongKey} is not that swarm's`))
    assert.match(n, /no swarm key: give the swarm's key with --swarm-key/)
    assert.match(await wrong.log(), /SWARM_KEY_MISMATCH/)
    const status = await cli(['status', '--data-dir', none.dataDir])
    assert.match(status.stdout, /join problem\s+cannot join through/)
    const view = await first.peers()
    for (const d of [wrong, none])
      assert.ok(!view.some((p) => p.peerId === d.peerId), `${d.name} is no member`)
  })
})
