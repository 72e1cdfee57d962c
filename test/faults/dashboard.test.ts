import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { launchChromium, SCREENSHOT_DIR } from '../support/browser.js'
import type { Stat } from '../support/files.js'
import { type TestDaemon, TestSwarm, useSwarm, waitFor } from '../support/swarm.js'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** One HTTP exchange with every header as given (fetch would not let a test set Host). */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

async function mintCode(d: TestDaemon): Promise<string> {
  const r = await raw(`${d.url}/v1/dashboard/code`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await d.token()}` },
  })
  assert.equal(r.status, 200, r.body)
  return (JSON.parse(r.body) as { code: string }).code
}

/** The page's own exchange: a POST from its Origin. */
function exchange(d: TestDaemon, code: string, origin = `http://127.0.0.1:${d.apiPort}`): Promise<Answer> {
  return raw(`${d.url}/v1/dashboard/session`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  })
}

function cookieOf(a: Answer): string {
  const set = a.headers['set-cookie']?.[0] ?? ''
  return set.slice(0, set.indexOf(';'))
}

async function shot(page: Page, name: string, selector?: string): Promise<void> {
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  if (selector) await page.locator(selector).screenshot({ path })
  else await page.screenshot({ path, fullPage: true })
}

describe('dashboard: access rules (HTTP) and the page in a real browser, 5 daemons', function () {
  this.timeout(240_000)
  const ctx = useSwarm(5)

  describe('access', () => {
    it('a code works once: the first exchange sets an HttpOnly, SameSite=Strict cookie; reusing it is refused', async () => {
      const d = ctx.nodes[0]!
      const code = await mintCode(d)
      const first = await exchange(d, code)
      assert.equal(first.status, 200, first.body)
      const set = String(first.headers['set-cookie'])
      assert.match(set, /HttpOnly/)
      assert.match(set, /SameSite=Strict/)
      assert.match(set, /Path=\//)
      const again = await exchange(d, code)
      assert.equal(again.status, 401)
      assert.equal(JSON.parse(again.body).error.code, 'UNAUTHORIZED')
      assert.equal(again.headers['set-cookie'], undefined)
    })

    it('a code expires (its lifetime shortened to 1.5 s for this daemon only)', async () => {
      const swarm = await TestSwarm.create()
      try {
        const d = await swarm.add({ swarm: 'dashboard-ttl' })
        process.env.SWARMSTORE_DASHBOARD_CODE_TTL_MS = '1500' // read by the daemon spawned now
        try {
          await d.start()
        } finally {
          delete process.env.SWARMSTORE_DASHBOARD_CODE_TTL_MS
        }
        const code = await mintCode(d)
        await new Promise((r) => setTimeout(r, 2000))
        const late = await exchange(d, code)
        assert.equal(late.status, 401, late.body)
        const fresh = await exchange(d, await mintCode(d))
        assert.equal(fresh.status, 200, 'a code used in time still works')
      } finally {
        await swarm.destroy()
      }
    })

    it('a cross-origin exchange is refused, and leaves the code unspent', async () => {
      const d = ctx.nodes[0]!
      const code = await mintCode(d)
      for (const origin of ['http://evil.example', `http://127.0.0.1:${d.apiPort + 1}`, 'null']) {
        const r = await exchange(d, code, origin)
        assert.equal(r.status, 403, `${origin}: ${r.body}`)
        assert.equal(JSON.parse(r.body).error.code, 'BAD_ORIGIN')
      }
      const none = await raw(`${d.url}/v1/dashboard/session`, {
        method: 'POST',
        body: JSON.stringify({ code }),
      })
      assert.equal(none.status, 403, 'an exchange without Origin')
      assert.equal((await exchange(d, code)).status, 200)
    })

    it('a foreign Host header is refused everywhere (DNS rebinding)', async () => {
      const d = ctx.nodes[0]!
      const token = await d.token()
      for (const path of ['/', '/health', '/v1/status', '/v1/dashboard/events']) {
        const r = await raw(`${d.url}${path}`, {
          headers: { host: `rebind.evil.example:${d.apiPort}`, authorization: `Bearer ${token}` },
        })
        assert.equal(r.status, 421, `${path}: ${r.body}`)
        assert.equal(JSON.parse(r.body).error.code, 'BAD_HOST')
      }
      for (const host of [`localhost:${d.apiPort}`, `127.0.0.1:${d.apiPort}`]) {
        assert.equal((await raw(`${d.url}/health`, { headers: { host } })).status, 200, host)
      }
    })

    it('the cookie reads but never writes; file contents need the token', async () => {
      const d = ctx.nodes[0]!
      const cookie = cookieOf(await exchange(d, await mintCode(d)))
      const origin = `http://127.0.0.1:${d.apiPort}`
      for (const path of ['/v1/status', '/v1/peers', '/v1/dashboard/placement']) {
        assert.equal((await raw(`${d.url}${path}`, { headers: { cookie } })).status, 200, path)
      }
      const writes: [string, string][] = [
        ['PUT', '/v1/kv/keys/dashboard-probe'],
        ['POST', '/v1/files'],
        ['POST', '/v1/stop'],
        ['POST', '/v1/dashboard/code'],
        ['POST', '/v1/scrub'],
      ]
      for (const [method, path] of writes) {
        const r = await raw(`${d.url}${path}`, { method, headers: { cookie, origin }, body: 'x' })
        assert.equal(r.status, 401, `${method} ${path} with the cookie: ${r.body}`)
      }
      for (const path of ['/v1/kv/keys/dashboard-probe', '/metrics', '/v1/kv/groups']) {
        assert.equal((await raw(`${d.url}${path}`, { headers: { cookie } })).status, 401, path)
      }
      assert.equal(
        (await raw(`${d.url}/v1/status`, { headers: { cookie: 'swarmstore_dashboard=forged' } })).status,
        401,
      )
      assert.equal((await d.status()).ready, true, 'the daemon still runs: no stop went through')
    })

    it("the page and the API carry CSP 'self', nosniff, no-referrer and no framing", async () => {
      const d = ctx.nodes[0]!
      for (const path of ['/', '/dashboard/app.js', '/health']) {
        const r = await raw(`${d.url}${path}`)
        assert.equal(r.status, 200, path)
        assert.match(String(r.headers['content-security-policy']), /default-src 'self'/)
        assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/)
        assert.equal(r.headers['x-content-type-options'], 'nosniff')
        assert.equal(r.headers['referrer-policy'], 'no-referrer')
      }
      const page = await raw(`${d.url}/`)
      assert.doesNotMatch(
        page.body,
        /<script>|<style|style=|https?:\/\//,
        'no inline script or style, no outside asset',
      )
    })
  })

  describe('in chromium', () => {
    let browser: Browser | undefined
    let page: Page
    let bytesOnLoad = 0

    before(async function () {
      browser = await launchChromium(this)
      page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } })
      page.on('response', (r) => {
        r.body().then(
          (b) => {
            if (!r.url().includes('/v1/dashboard/events')) bytesOnLoad += b.byteLength
          },
          () => {},
        )
      })
      const d = ctx.nodes[0]!
      const r = await d.cli(['dashboard', '--no-open', '--json'])
      assert.equal(r.code, 0, r.stderr)
      const { url } = JSON.parse(r.stdout) as { url: string }
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/#code=[\w-]{16,}$/)
      await page.goto(url)
      console.log(`      screenshots in ${SCREENSHOT_DIR}`)
    })

    after(async () => {
      await browser?.close()
    })

    it('shows the 5 members on the ring, this node marked, and drops the code from the address bar', async () => {
      await page.locator('#members-count[data-count="5"]').waitFor({ timeout: 15_000 })
      assert.equal(await page.locator('#ring circle.member').count(), 5)
      // a loaded machine can leave a member suspected for a moment right after start
      await waitFor(
        'all 5 alive on the ring',
        async () => (await page.locator('#ring circle.member[data-state="alive"]').count()) === 5,
        20_000,
        200,
      )
      const self = page.locator('#ring circle.member.self')
      assert.equal(await self.getAttribute('data-peer'), ctx.nodes[0]!.peerId)
      assert.doesNotMatch(page.url(), /code=/)
      assert.equal(await page.locator('#problem').isHidden(), true)
      await page.locator('#health-facts').waitFor()
      await page.locator('#disk-facts').waitFor()
      console.log(`      page weight on load: ${bytesOnLoad} bytes (document, script, style, first answers)`)
      await shot(page, 'ring', '#ring-view')
      await shot(page, 'health-disk', '#health-view')
    })

    it('a put shows in the traffic view, and, picked there, its chunks’ holders in the placement view', async () => {
      const d = ctx.nodes[0]!
      const size = 3 * 1024 * 1024 + 12_345
      const file = join(ctx.swarm.root, 'dashboard.bin')
      await writeFile(file, randomBytes(size))
      const put = await d.cli(['put', file, '--json', '--wait', 'all'])
      assert.equal(put.code, 0, put.stderr)
      const cid = JSON.parse(put.stdout).cid as string
      const r = (await d.status()).replicas
      // node1 coordinated the put: it sent every chunk to the R closest (less itself, at most once)
      await waitFor(
        'the put in the traffic view',
        async () =>
          Number(await page.locator('tr[data-series="putOut"]').getAttribute('data-total')) >=
          0.9 * (r - 1) * size,
        15_000,
        250,
      )
      await shot(page, 'traffic', '#traffic-view')

      // picked from the files put through this node (pasting one into the field works alike)
      await page.locator(`#placement-puts button.put[data-cid="${cid}"]`).click({ timeout: 10_000 })
      await page.locator('#placement-summary').waitFor({ timeout: 30_000 })
      assert.equal(await page.locator('#placement-cid').inputValue(), cid)
      const stat = await d.api<Stat>(`/v1/stat/${cid}`)
      const blocks = [...stat.chunks, ...stat.manifests]
      assert.equal(await page.locator('#placement-table tr.block').count(), blocks.length)
      for (const b of blocks) {
        const row = page.locator(`#placement-table tr.block[data-cid="${b.cid}"]`)
        const held = await row
          .locator('.holder.held')
          .evaluateAll((es) => es.map((e) => e.getAttribute('data-peer')))
        assert.equal(held.length, r, `${b.cid}: R placement members hold it`)
        for (const p of held) assert.ok(b.holders.includes(p!), `${b.cid}: ${p} shown holding, stat agrees`)
      }
      assert.equal(await page.locator('#placement-summary').getAttribute('data-gaps'), '0')
      const share = Number(await page.locator('#placement-share').getAttribute('data-share'))
      assert.ok(share > 0 && share < 1, `own share of the keyspace ${share}`)
      await shot(page, 'placement', '#placement-view')
    })

    it('at 200 members the ring aggregates into arcs (a snapshot of 200 served in place of the stream)', async () => {
      // 200 daemons do not fit this machine: the page's own rendering is checked on a snapshot shaped
      // like the daemon's, with random keys and a mix of states
      const states = [
        'alive',
        'alive',
        'alive',
        'alive',
        'alive',
        'alive',
        'suspect',
        'dead',
        'left',
      ] as const
      const members = Array.from({ length: 200 }, (_, i) => ({
        id: `12D3KooWsynthetic${String(i).padStart(3, '0')}`,
        state: i === 0 ? 'alive' : states[i % states.length]!,
        key: randomBytes(32).toString('hex'),
        addrs: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/4001`],
        version: '0.1.0',
        capacityFree: 1e12,
        connected: i % 7 !== 0,
        self: i === 0,
      }))
      const snapshot = {
        t: Date.now(),
        selfId: members[0]!.id,
        replicas: 3,
        members,
        sample: null,
        underReplicated: 0,
        events: [],
        recentPuts: [],
        disk: { capacity: null, used: 0, free: 1e12, quarantined: 0, chunks: 0 },
        health: {
          uptimeSeconds: 1,
          rss: 1,
          heapUsed: 1,
          loopLagMeanMs: 0,
          loopLagMaxMs: 0,
          connections: 199,
        },
      }
      const crowded = await browser!.newPage({ viewport: { width: 1280, height: 1000 } })
      try {
        await crowded.route('**/v1/dashboard/events', (route) =>
          route.fulfill({
            status: 200,
            contentType: 'text/event-stream',
            body: `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`,
          }),
        )
        await crowded.goto(ctx.nodes[0]!.url)
        await crowded.locator('#members-count[data-count="200"]').waitFor({ timeout: 15_000 })
        assert.equal(await crowded.locator('#ring circle.member').count(), 1, 'only this node as a dot')
        const arcs = await crowded
          .locator('#ring path.bucket')
          .evaluateAll((es) => es.map((e) => Number(e.getAttribute('data-count'))))
        assert.ok(arcs.length > 30 && arcs.length <= 64, `${arcs.length} arcs`)
        assert.equal(
          arcs.reduce((a, b) => a + b, 0),
          200,
        )
        assert.ok(
          (await crowded.locator('#ring path.bucket.dead').count()) > 0,
          'an arc with a dead member shows it',
        )
        await shot(crowded, 'ring-200', '#ring-view')
      } finally {
        await crowded.close()
      }
    })

    it('a SIGSTOPped member turns suspect, then dead, on the ring', async () => {
      const v = ctx.nodes[4]!
      const dot = page.locator(`#ring circle.member[data-peer="${v.peerId}"]`)
      const t0 = Date.now()
      v.proc!.kill('SIGSTOP')
      try {
        await page
          .locator(`#ring circle.member[data-peer="${v.peerId}"][data-state="suspect"]`)
          .waitFor({ timeout: 20_000 })
        const suspectMs = Date.now() - t0
        await shot(page, 'ring-suspect', '#ring-view')
        await page
          .locator(`#ring circle.member[data-peer="${v.peerId}"][data-state="dead"]`)
          .waitFor({ timeout: 30_000 })
        const deadMs = Date.now() - t0
        assert.equal(await dot.getAttribute('data-state'), 'dead')
        await page.locator('tr[data-series="events"]:not([data-dead="0"])').waitFor({ timeout: 5_000 })
        console.log(`      on the ring: suspect after ${suspectMs} ms, dead after ${deadMs} ms`)
        await shot(page, 'ring-dead', '#ring-view')
        await shot(page, 'traffic-marks', '#traffic-view')
        await shot(page, 'page')
      } finally {
        v.proc!.kill('SIGCONT')
      }
    })
  })
})
