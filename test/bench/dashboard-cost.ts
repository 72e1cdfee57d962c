/**
 * What an open dashboard costs: the page's weight on load (bytes of every answer but the event
 * stream, from chromium's responses), the stream's bytes per second, and the daemon's CPU over a
 * window with the page closed, open, then closed again (utime + stime from /proc/PID/stat; the two
 * closed windows bracket the open one, since a young swarm's background work drifts). 5 daemons, an
 * idle swarm: sampling runs either way; what a page adds is the snapshot, serialised once a second.
 *   node --conditions=source --import tsx test/bench/dashboard-cost.ts [--seconds 60]
 */
import { readFile } from 'node:fs/promises'
import { chromium } from 'playwright-core'
import { TestSwarm } from '../support/swarm.js'

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 60
const TICKS = 100 // USER_HZ on Linux

async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS // utime, stime
}

async function cpuOver(pid: number, s: number): Promise<number> {
  const a = await cpuSeconds(pid)
  await new Promise((r) => setTimeout(r, s * 1000))
  return (await cpuSeconds(pid)) - a
}

/** Bytes the event stream sends in `s` seconds (after its history), read with the token. */
async function streamBytesPerSecond(url: string, token: string, s: number): Promise<number> {
  const ac = new AbortController()
  const res = await fetch(`${url}/v1/dashboard/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: ac.signal,
  })
  const reader = res.body!.getReader()
  let bytes = 0
  let counting = false
  const stop = Date.now() + (s + 2) * 1000
  setTimeout(() => {
    counting = true
  }, 2000)
  while (Date.now() < stop) {
    const { value, done } = await reader.read()
    if (done) break
    if (counting) bytes += value.byteLength
  }
  ac.abort()
  return Math.round(bytes / s)
}

const swarm = await TestSwarm.create()
try {
  const nodes = await swarm.start(5)
  const d = nodes[0]!
  const pid = d.proc!.pid!
  await new Promise((r) => setTimeout(r, 30_000)) // settle after joining (key ranges move, audits)
  const closedBefore = await cpuOver(pid, seconds)
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  })
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  const sizes: Record<string, number> = {}
  page.on('response', (r) => {
    if (r.url().includes('/v1/dashboard/events')) return
    r.body().then(
      (b) => {
        sizes[new URL(r.url()).pathname] = b.byteLength
      },
      () => {},
    )
  })
  const cli = await d.cli(['dashboard', '--no-open', '--json'])
  await page.goto(JSON.parse(cli.stdout).url)
  await page.locator('#members-count[data-count="5"]').waitFor({ timeout: 20_000 })
  const open = await cpuOver(pid, seconds)
  await browser.close()
  const closedAfter = await cpuOver(pid, seconds)
  const streamBps = await streamBytesPerSecond(d.url, await d.token(), 10)
  const pct = (cpu: number) => Number(((100 * cpu) / seconds).toFixed(2))
  console.log(
    JSON.stringify({
      seconds,
      pageWeightBytes: Object.values(sizes).reduce((a, b) => a + b, 0),
      byPath: sizes,
      streamBytesPerSecond: streamBps,
      cpuPercent: { closedBefore: pct(closedBefore), open: pct(open), closedAfter: pct(closedAfter) },
    }),
  )
} finally {
  await swarm.destroy()
}
