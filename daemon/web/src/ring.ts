import { formatBytes, h, shortId, svg } from './dom.js'
import type { MemberView } from './types.js'

const SIZE = 360
const C = SIZE / 2
const R = 150
/** above this many members, the ring shows BUCKETS arcs (how many and in which state) instead of dots */
const CROWDED = 60
const BUCKETS = 64
const STATES = ['alive', 'suspect', 'dead', 'left'] as const
/** the state an arc of several members is coloured by: the one that needs a look first */
const SEVERITY: Record<string, number> = { dead: 3, suspect: 2, left: 1, alive: 0 }

/** A key's place on the ring: its first 32 bits as a fraction of a turn, from the top, clockwise. */
export function keyFraction(hex: string): number {
  return Number.parseInt(hex.slice(0, 8), 16) / 2 ** 32
}

function point(fraction: number, radius: number): [number, number] {
  const a = fraction * 2 * Math.PI - Math.PI / 2
  return [C + radius * Math.cos(a), C + radius * Math.sin(a)]
}

function describe(m: MemberView): string {
  return [
    `${m.self ? 'this node ' : ''}${m.id}`,
    `state: ${m.state}`,
    `address: ${m.addrs[0] ?? '—'}`,
    `version: ${m.version || '—'}`,
    `free: ${m.capacityFree === null ? 'unlimited' : formatBytes(m.capacityFree)}`,
    `reachable: ${m.connected ? 'connected' : 'no connection'}`,
  ].join('\n')
}

/**
 * The members as dots on a circle (position = key), coloured by state, this node ringed; crowded,
 * as arcs that each aggregate the members of 1/64 of the keyspace. Redrawn only when a member, its
 * state or its reachability changes, so a hover survives the next second's snapshot.
 */
export class RingView {
  private signature = ''
  private readonly svgRoot = svg('svg', { viewBox: `0 0 ${SIZE} ${SIZE}`, role: 'img' })
  private readonly info = h('pre', { id: 'ring-info' }, 'hover a member')

  constructor(
    host: HTMLElement,
    private readonly legend: HTMLElement,
    private readonly count: HTMLElement,
  ) {
    host.append(this.svgRoot, this.info)
  }

  update(members: MemberView[]): void {
    const sig = members.map((m) => `${m.id}:${m.state}:${m.connected}:${m.capacityFree}`).join(',')
    if (sig === this.signature) return
    this.signature = sig
    this.svgRoot.replaceChildren(svg('circle', { cx: C, cy: C, r: R, class: 'track' }))
    if (members.length > CROWDED) this.drawBuckets(members)
    else for (const m of members) if (!m.self) this.svgRoot.append(this.dot(m))
    // this node last, as a dot like the others inside a hollow ring: a member at nearly the same key
    // stays visible beside it
    const self = members.find((m) => m.self)
    if (self !== undefined) {
      const [x, y] = point(keyFraction(self.key), R)
      this.svgRoot.append(svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 11, class: 'self-marker' }))
      this.svgRoot.append(this.dot(self))
    }
    this.drawLegend(members)
  }

  private dot(m: MemberView): SVGElement {
    const [x, y] = point(keyFraction(m.key), R)
    const c = svg('circle', {
      cx: x.toFixed(1),
      cy: y.toFixed(1),
      r: 6,
      class: `member ${m.state}${m.self ? ' self' : ''}${m.connected ? '' : ' unreachable'}`,
      'data-peer': m.id,
      'data-state': m.state,
    })
    const title = svg('title')
    title.textContent = describe(m)
    c.append(title)
    c.addEventListener('mouseenter', () => {
      this.info.textContent = describe(m)
    })
    return c
  }

  private drawBuckets(members: MemberView[]): void {
    const buckets: MemberView[][] = Array.from({ length: BUCKETS }, () => [])
    for (const m of members) buckets[Math.min(BUCKETS - 1, Math.floor(keyFraction(m.key) * BUCKETS))]!.push(m)
    const most = Math.max(...buckets.map((b) => b.length))
    buckets.forEach((b, i) => {
      if (b.length === 0) return
      const worst = b.reduce((w, m) => (SEVERITY[m.state]! > SEVERITY[w]! ? m.state : w), 'alive' as string)
      const [x0, y0] = point(i / BUCKETS + 0.002, R)
      const [x1, y1] = point((i + 1) / BUCKETS - 0.002, R)
      const arc = svg('path', {
        d: `M ${x0.toFixed(1)} ${y0.toFixed(1)} A ${R} ${R} 0 0 1 ${x1.toFixed(1)} ${y1.toFixed(1)}`,
        class: `bucket ${worst}`,
        'stroke-width': (6 + (14 * b.length) / most).toFixed(1),
        'data-count': b.length,
      })
      const text = `${b.length} members in ${i + 1}/${BUCKETS} of the keyspace: ${stateCounts(b)}`
      const title = svg('title')
      title.textContent = text
      arc.append(title)
      arc.addEventListener('mouseenter', () => {
        this.info.textContent = `${text}\n${b
          .slice(0, 8)
          .map((m) => `${shortId(m.id)} ${m.state} ${m.addrs[0] ?? ''}`)
          .join('\n')}${b.length > 8 ? '\n…' : ''}`
      })
      this.svgRoot.append(arc)
    })
  }

  private drawLegend(members: MemberView[]): void {
    this.count.textContent = `(${members.length} members)`
    this.count.dataset.count = String(members.length)
    this.legend.replaceChildren(
      ...STATES.map((s) =>
        h('li', { class: s, 'data-state': s }, `${s} ${members.filter((m) => m.state === s).length}`),
      ),
      h('li', { class: 'self' }, 'this node (ringed)'),
    )
  }
}

function stateCounts(ms: MemberView[]): string {
  return STATES.map((s) => [s, ms.filter((m) => m.state === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ')
}
