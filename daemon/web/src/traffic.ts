import uPlot from 'uplot'
import { formatBytes, h } from './dom.js'
import type { EventMark, History, TrafficSample } from './types.js'

const WINDOW_S = 15 * 60
/** The classes a node can see (in by repair or handoff arrives as a put: the wire does not say). */
const SERIES: { key: string; label: string; color: string; dash?: number[] }[] = [
  { key: 'putOut', label: 'put out', color: '#1f77b4' },
  { key: 'putIn', label: 'put in', color: '#1f77b4', dash: [4, 3] },
  { key: 'getOut', label: 'get out', color: '#2ca02c' },
  { key: 'getIn', label: 'get in', color: '#2ca02c', dash: [4, 3] },
  { key: 'repairOut', label: 'repair out', color: '#9467bd' },
  { key: 'handoffOut', label: 'handoff out', color: '#8c564b' },
]
const MARK_COLOR: Record<string, string> = { suspect: '#e69f00', dead: '#d62728', left: '#7f7f7f' }

/**
 * Bytes/s by class over the last 15 minutes (uPlot: one canvas, a few KB of data a second),
 * the under-replicated count on its own axis, and membership events as vertical marks.
 */
export class TrafficView {
  private readonly times: number[] = []
  private readonly values: number[][] = SERIES.map(() => [])
  private readonly under: number[] = []
  private events = new Map<string, EventMark>()
  private readonly plot: uPlot
  private readonly table: HTMLTableElement

  constructor(host: HTMLElement, table: HTMLTableElement) {
    this.table = table
    const opts: uPlot.Options = {
      width: Math.max(320, host.clientWidth || 640),
      height: 240,
      scales: { x: { time: true }, bytes: { auto: true }, count: { auto: true } },
      axes: [
        {},
        { scale: 'bytes', values: (_u, ticks) => ticks.map((v) => `${formatBytes(v)}/s`), size: 80 },
        { scale: 'count', side: 1, grid: { show: false }, label: 'under-replicated' },
      ],
      series: [
        {},
        ...SERIES.map((s) => ({
          label: s.label,
          stroke: s.color,
          scale: 'bytes',
          ...(s.dash ? { dash: s.dash } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${formatBytes(v)}/s`),
        })),
        { label: 'under-replicated', stroke: '#d62728', scale: 'count', width: 1 },
      ],
      hooks: { draw: [(u) => this.drawMarks(u)] },
    }
    this.plot = new uPlot(opts, this.data(), host)
    new ResizeObserver(() =>
      this.plot.setSize({ width: Math.max(320, host.clientWidth), height: 240 }),
    ).observe(host)
  }

  setHistory(history: History): void {
    this.times.length = 0
    for (const v of [...this.values, this.under]) v.length = 0
    for (const s of history.samples) this.push(s)
    this.addEvents(history.events)
    this.render()
  }

  add(sample: TrafficSample | null, events: EventMark[]): void {
    if (sample !== null) this.push(sample)
    this.addEvents(events)
    this.render()
  }

  private push(s: TrafficSample): void {
    this.times.push(s.t / 1000)
    SERIES.forEach((c, i) => {
      this.values[i]!.push(s.rates[c.key] ?? 0)
    })
    this.under.push(s.underReplicated)
    if (this.times.length > WINDOW_S) {
      this.times.shift()
      for (const v of [...this.values, this.under]) v.shift()
    }
  }

  private addEvents(events: EventMark[]): void {
    for (const e of events) if (e.type !== 'alive') this.events.set(`${e.t}:${e.peer}:${e.type}`, e)
    const from = Date.now() - WINDOW_S * 1000
    for (const [k, e] of this.events) if (e.t < from) this.events.delete(k)
  }

  private data(): uPlot.AlignedData {
    return [this.times, ...this.values, this.under]
  }

  private render(): void {
    this.plot.setData(this.data())
    const rows = SERIES.map((c, i) => {
      const v = this.values[i]!
      const total = v.reduce((a, b) => a + b, 0)
      return h(
        'tr',
        { 'data-series': c.key, 'data-total': String(total) },
        h('th', {}, c.label),
        h('td', {}, `${formatBytes(v.at(-1) ?? 0)}/s now`),
        h('td', {}, `${formatBytes(total)} in 15 min`),
      )
    })
    const marks = [...this.events.values()]
    rows.push(
      h(
        'tr',
        {
          'data-series': 'events',
          'data-suspect': String(marks.filter((e) => e.type === 'suspect').length),
          'data-dead': String(marks.filter((e) => e.type === 'dead').length),
        },
        h('th', {}, 'members'),
        h('td', {}, `${marks.filter((e) => e.type === 'suspect').length} suspected`),
        h(
          'td',
          {},
          `${marks.filter((e) => e.type === 'dead').length} dead, ${marks.filter((e) => e.type === 'left').length} left`,
        ),
      ),
    )
    this.table.replaceChildren(...rows)
  }

  private drawMarks(u: uPlot): void {
    const ctx = u.ctx
    const { top, height } = u.bbox
    ctx.save()
    ctx.lineWidth = 2 * devicePixelRatio
    for (const e of this.events.values()) {
      const x = u.valToPos(e.t / 1000, 'x', true)
      if (!Number.isFinite(x) || x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue
      ctx.strokeStyle = MARK_COLOR[e.type] ?? '#000'
      ctx.beginPath()
      ctx.moveTo(x, top)
      ctx.lineTo(x, top + height)
      ctx.stroke()
    }
    ctx.restore()
  }
}
