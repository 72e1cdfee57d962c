/**
 * Byte sizes on the command line: `0`, `4096`, `512K`, `500M`, `10G`, `1T`, with an optional `B` or
 * `iB` (`10GB`, `10GiB`). Every multiple is a power of 1024: disks are sold in powers of 1000, but
 * chunk sizes and capacities here are meant in binary units, and one meaning is less surprising than
 * two spellings that differ by 7%.
 */

const MULTIPLIER: Record<string, number> = {
  '': 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
}

/** Bytes in `text` (whole bytes, rounded down); throws with words for the user when it is not a size. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgtp])(i?b)?|b)?\s*$/i.exec(text)
  if (match === null) {
    throw new Error(`'${text}' is not a size in bytes (examples: 0, 4096, 512K, 500M, 10G)`)
  }
  const bytes = Math.floor(Number(match[1]) * MULTIPLIER[(match[2] ?? '').toLowerCase()]!)
  if (!Number.isSafeInteger(bytes)) throw new Error(`size '${text}' is too large`)
  return bytes
}

/** `1536` → `1.5 KiB`: sizes for humans in messages, tables and progress bars. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}
