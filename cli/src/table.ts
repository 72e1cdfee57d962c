/** Left-aligned columns separated by two spaces; the last column is not padded (no trailing blanks). */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  )
}

/**
 * Peer ids of ed25519 keys all start `12D3KooW`, so the distinguishing part is the end; eight
 * characters of it are enough to tell the peers of a swarm apart in a table.
 */
export function shortPeerId(peerId: string): string {
  return peerId.length <= 10 ? peerId : `…${peerId.slice(-8)}`
}
