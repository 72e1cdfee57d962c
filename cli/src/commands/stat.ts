import type { Command } from 'commander'
import type { StatResponse } from '../daemon-api.js'
import { printJson, printLine } from '../output.js'
import { formatSize } from '../size.js'
import { formatTable, shortPeerId } from '../table.js'
import { connect } from './connect.js'

export function registerStat(program: Command): void {
  program
    .command('stat')
    .description('size, chunks, and the peers holding each chunk of a file')
    .argument('<cid>', 'the CID that put printed')
    .action(async (cid: string, _options: unknown, command: Command) => {
      const { client, options, metadataDeadlineMs } = await connect(command)
      const stat = await client.json<StatResponse>(`/v1/stat/${encodeURIComponent(cid)}`, {
        deadlineMs: metadataDeadlineMs,
      })
      if (options.json) printJson(stat)
      else printStat(stat)
    })
}

function printStat(stat: StatResponse): void {
  const below = stat.underReplicated
  for (const line of formatTable([
    ['cid', stat.cid],
    ['size', `${stat.size} (${formatSize(stat.size)})`],
    ['chunks', String(stat.chunks.length)],
    ['replicas', `R=${stat.replicas}`],
    ['below R', below === 0 ? '0' : `${below} (marked !; repair adds copies when members are up)`],
  ])) {
    printLine(line)
  }
  printLine()
  const holders = (list: string[]) => (list.length === 0 ? '(none)' : list.map(shortPeerId).join(' '))
  const copies = (list: string[]) => `${list.length}${list.length < stat.replicas ? ' !' : ''}`
  const chunkRows = stat.chunks.map((chunk, i) => [
    String(i),
    chunk.cid,
    String(chunk.size),
    copies(chunk.holders),
    holders(chunk.holders),
  ])
  for (const line of formatTable([['chunk', 'cid', 'size', 'copies', 'holders'], ...chunkRows]))
    printLine(line)
  if (stat.manifests.length > 0) {
    printLine()
    const manifestRows = stat.manifests.map((manifest, i) => [
      String(i),
      manifest.cid,
      copies(manifest.holders),
      holders(manifest.holders),
    ])
    for (const line of formatTable([['manifest', 'cid', 'copies', 'holders'], ...manifestRows]))
      printLine(line)
  }
}
