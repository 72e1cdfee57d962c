import { formatBytes, h, shortId } from './dom.js'
import type { PlacementAnswer } from './types.js'

/**
 * Pick or paste a file CID: each block's R closest members (placement as this node computes it)
 * and who answered they hold it — a placement member that does not is a gap, in red.
 */
export class PlacementView {
  private share = 0
  private replicas = 0
  private chunksHeld = 0
  private readonly recent = new Set<string>()

  private putsShown = ''

  constructor(
    form: HTMLFormElement,
    private readonly input: HTMLInputElement,
    private readonly recentList: HTMLDataListElement,
    private readonly putsList: HTMLElement,
    private readonly shareLine: HTMLElement,
    private readonly result: HTMLElement,
  ) {
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      this.show(this.input.value.trim()).catch((err: Error) =>
        this.result.replaceChildren(h('p', { class: 'error' }, err.message)),
      )
    })
    this.refreshShare().catch(() => {})
    setInterval(() => this.refreshShare().catch(() => {}), 10_000)
  }

  /** The files put through this node, newest first, each a button that shows its placement. */
  setRecentPuts(puts: { cid: string; size: number }[]): void {
    const sig = puts.map((p) => p.cid).join()
    if (sig === this.putsShown || puts.length === 0) return
    this.putsShown = sig
    this.putsList.replaceChildren(
      ...[...puts].reverse().map((p) => {
        const b = h(
          'button',
          { type: 'button', class: 'put', 'data-cid': p.cid, title: p.cid },
          `${shortId(p.cid)} (${formatBytes(p.size)})`,
        )
        b.addEventListener('click', () => {
          this.input.value = p.cid
          this.show(p.cid).catch((err: Error) =>
            this.result.replaceChildren(h('p', { class: 'error' }, err.message)),
          )
        })
        return b
      }),
    )
  }

  setChunksHeld(n: number): void {
    this.chunksHeld = n
    this.renderShare()
  }

  private async refreshShare(): Promise<void> {
    const a = await fetchPlacement('')
    this.share = a.share
    this.replicas = a.replicas
    this.renderShare()
  }

  private renderShare(): void {
    this.shareLine.textContent = `This node is one of the R=${this.replicas} closest for ${(this.share * 100).toFixed(1)}% of the keyspace (its share of new chunks), and holds ${this.chunksHeld} chunks.`
    this.shareLine.dataset.share = String(this.share)
  }

  private async show(cid: string): Promise<void> {
    if (cid === '') return
    this.result.replaceChildren(h('p', {}, 'asking the holders…'))
    const a = await fetchPlacement(cid)
    this.share = a.share
    this.renderShare()
    if (a.file === null) return
    this.recent.add(cid)
    this.recentList.replaceChildren(...[...this.recent].map((c) => h('option', { value: c })))
    const blocks = a.file.blocks
    const gaps = blocks.reduce((n, b) => n + b.placement.filter((p) => !b.holders.includes(p)).length, 0)
    const table = h(
      'table',
      { id: 'placement-table' },
      h(
        'tr',
        {},
        h('th', {}, 'block'),
        h('th', {}, `R=${a.replicas} closest (held / gap)`),
        h('th', {}, 'other holders'),
      ),
    )
    for (const b of blocks) {
      const cells = b.placement.map((p) => {
        const held = b.holders.includes(p)
        return h(
          'span',
          {
            class: held ? 'holder held' : 'holder gap',
            'data-peer': p,
            title: `${p}: ${held ? 'holds it' : 'does not hold it'}`,
          },
          shortId(p),
        )
      })
      const extra = b.holders.filter((p) => !b.placement.includes(p))
      table.append(
        h(
          'tr',
          { class: 'block', 'data-cid': b.cid, 'data-holders': String(b.holders.length) },
          h('td', { title: b.cid }, `${b.manifest ? 'manifest ' : ''}${shortId(b.cid)}`),
          h('td', {}, ...cells),
          h('td', {}, ...extra.map((p) => h('span', { class: 'holder extra', title: p }, shortId(p)))),
        ),
      )
    }
    const summary = h(
      'p',
      { id: 'placement-summary', 'data-gaps': String(gaps) },
      `${blocks.length} blocks${a.file.truncated ? ' (the first ones)' : ''}, ${gaps} gaps`,
    )
    this.result.replaceChildren(summary, table)
  }
}

async function fetchPlacement(cid: string): Promise<PlacementAnswer> {
  const res = await fetch(`/v1/dashboard/placement${cid ? `/${encodeURIComponent(cid)}` : ''}`)
  const body = await res.json()
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`)
  return body as PlacementAnswer
}
