import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BadConfigError, DEFAULTS, parseBytes, resolveConfig } from '../src/index.js'

describe('daemon config', () => {
  it('defaults ← config.json ← SWARMSTORE_* ← flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'))
    await writeFile(join(dir, 'config.json'), JSON.stringify({ replicas: 5, swarm: 'file', capacity: '1G' }))
    const env = {
      SWARMSTORE_SWARM: 'env',
      SWARMSTORE_BOOTSTRAP: '/ip4/1.2.3.4/tcp/1/p2p/x, /ip4/1.2.3.5/tcp/1/p2p/y',
    }
    const c = await resolveConfig({ dataDir: dir, writeQuorum: 3 }, env)
    assert.equal(c.replicas, 5)
    assert.equal(c.swarm, 'env')
    assert.equal(c.writeQuorum, 3)
    assert.equal(c.capacity, 2 ** 30)
    assert.deepEqual(c.bootstrap, ['/ip4/1.2.3.4/tcp/1/p2p/x', '/ip4/1.2.3.5/tcp/1/p2p/y'])
    assert.equal(c.chunkSize, DEFAULTS.chunkSize)
    const f = await resolveConfig({ dataDir: dir, swarm: 'flag' }, env)
    assert.equal(f.swarm, 'flag')
  })
  it('names the source of a bad value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'))
    await assert.rejects(resolveConfig({ dataDir: dir, replicas: 0 }, {}), /--replicas must be an integer/)
    await assert.rejects(
      resolveConfig({ dataDir: dir }, { SWARMSTORE_REPLICAS: 'x' }),
      /environment: replicas/,
    )
    await writeFile(join(dir, 'config.json'), '{"replica": 3}')
    await assert.rejects(
      resolveConfig({ dataDir: dir }, {}),
      (e: Error) => e instanceof BadConfigError && /unknown setting "replica"/.test(e.message),
    )
    await writeFile(join(dir, 'config.json'), '{nope')
    await assert.rejects(resolveConfig({ dataDir: dir }, {}), /not valid JSON/)
  })
  it('refuses W > R, bad swarm names, bad api addresses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'))
    await assert.rejects(resolveConfig({ dataDir: dir, replicas: 2, writeQuorum: 3 }, {}), /cannot exceed/)
    await assert.rejects(resolveConfig({ dataDir: dir, swarm: 'Has Spaces' }, {}), /swarm/)
    await assert.rejects(resolveConfig({ dataDir: dir, api: 'localhost' }, {}), /HOST:PORT/)
  })
  it('parses sizes', () => {
    assert.equal(parseBytes('0', 'x'), 0)
    assert.equal(parseBytes('500M', 'x'), 500 * 2 ** 20)
    assert.equal(parseBytes('10GiB', 'x'), 10 * 2 ** 30)
    assert.throws(() => parseBytes('ten', 'x'), BadConfigError)
  })
})
