/** Small DOM helpers: text only ever goes in as text (peer metadata comes from the network). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id)
  if (e === null) throw new Error(`no #${id} in the page`)
  return e as T
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  e.append(...children)
  return e
}

const SVG_NS = 'http://www.w3.org/2000/svg'

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  return e
}

export function formatBytes(n: number | null): string {
  if (n === null) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400)
  const hh = Math.floor((seconds % 86400) / 3600)
  const mm = Math.floor((seconds % 3600) / 60)
  const ss = seconds % 60
  return d > 0 ? `${d}d ${hh}h` : hh > 0 ? `${hh}h ${mm}m` : `${mm}m ${ss}s`
}

export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id
}

/** Rows of label and value. */
export function facts(rows: [string, string][], attrs: Record<string, string> = {}): HTMLElement {
  const dl = h('dl', attrs)
  for (const [k, v] of rows) dl.append(h('dt', {}, k), h('dd', {}, v))
  return dl
}
