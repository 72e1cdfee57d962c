import 'uplot/dist/uPlot.min.css'
import './style.css'
import { byId, facts, formatBytes, formatDuration } from './dom.js'
import { PlacementView } from './placement.js'
import { RingView } from './ring.js'
import { TrafficView } from './traffic.js'
import type { History, Snapshot } from './types.js'

/**
 * The page: trades the one-time code in the URL's fragment for a session cookie, drops the code
 * from the address bar, then draws every snapshot the daemon pushes (one a second).
 */
async function main(): Promise<void> {
  await exchangeCode()
  const ring = new RingView(byId('ring'), byId('ring-legend'), byId('members-count'))
  const traffic = new TrafficView(byId('traffic-chart'), byId<HTMLTableElement>('traffic-table'))
  const placement = new PlacementView(
    byId<HTMLFormElement>('placement-form'),
    byId<HTMLInputElement>('placement-cid'),
    byId<HTMLDataListElement>('placement-recent'),
    byId('placement-puts'),
    byId('placement-share'),
    byId('placement-result'),
  )
  const events = new EventSource('/v1/dashboard/events')
  events.addEventListener('history', (e) => traffic.setHistory(JSON.parse(e.data) as History))
  events.addEventListener('snapshot', (e) => {
    const s = JSON.parse(e.data) as Snapshot
    setLive(true)
    byId('self-id').textContent = s.selfId
    ring.update(s.members)
    traffic.add(s.sample, s.events)
    placement.setChunksHeld(s.disk.chunks)
    placement.setRecentPuts(s.recentPuts)
    renderDisk(s)
    renderHealth(s)
  })
  events.addEventListener('error', () => {
    setLive(false)
    explainFailure(events).catch(() => {})
  })
}

/** `#code=…`: spent once for a cookie; the fragment never reaches a server log or a Referer. */
async function exchangeCode(): Promise<void> {
  const code = new URLSearchParams(location.hash.slice(1)).get('code')
  if (code === null) return
  history.replaceState(null, '', location.pathname)
  const res = await fetch('/v1/dashboard/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  })
  if (!res.ok) {
    const body = await res.json().catch(() => ({}))
    problem(body?.error?.message ?? `the code was refused (HTTP ${res.status})`)
  }
}

/** An event stream that fails says nothing; a plain GET says whether the session is the cause. */
async function explainFailure(events: EventSource): Promise<void> {
  const res = await fetch('/v1/status')
  if (res.status === 401) {
    events.close()
    problem('not signed in, or the session expired: run `swarmstore dashboard` for a new link')
  }
}

function problem(text: string): void {
  const p = byId('problem')
  p.textContent = text
  p.hidden = false
}

function setLive(on: boolean): void {
  const live = byId('live')
  live.textContent = on ? 'live' : 'reconnecting…'
  live.className = on ? 'live on' : 'live off'
}

function renderDisk(s: Snapshot): void {
  const d = s.disk
  const total = d.capacity ?? d.used + d.free
  const meter = document.createElement('meter')
  meter.max = total || 1
  meter.value = d.used
  byId('disk').replaceChildren(
    meter,
    facts(
      [
        [
          'capacity',
          d.capacity === null ? `unlimited (disk: ${formatBytes(total)})` : formatBytes(d.capacity),
        ],
        ['used', formatBytes(d.used)],
        ['free', formatBytes(d.free)],
        ['quarantined', `${d.quarantined} chunks`],
        ['chunks held', String(d.chunks)],
        ['under-replicated', String(s.underReplicated)],
      ],
      { id: 'disk-facts' },
    ),
  )
}

function renderHealth(s: Snapshot): void {
  const x = s.health
  byId('health').replaceChildren(
    facts(
      [
        ['uptime', formatDuration(x.uptimeSeconds)],
        ['memory (RSS)', formatBytes(x.rss)],
        ['heap used', formatBytes(x.heapUsed)],
        ['event-loop lag', `${x.loopLagMeanMs} ms mean, ${x.loopLagMaxMs} ms max`],
        ['connections', String(x.connections)],
      ],
      { id: 'health-facts', 'data-connections': String(x.connections) },
    ),
  )
}

main().catch((err: Error) => problem(err.message))
