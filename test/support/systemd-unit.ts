/**
 * Just enough of systemd's unit-file syntax to run deploy/swarmstore.service's commands outside
 * systemd: sections, `Key=value` lines (repeatable), `Environment=` assignments and Exec command
 * lines split on whitespace. Anything this does not understand (quotes, escapes, `%` specifiers,
 * Exec prefixes such as `-`/`@`/`+`, line continuations) throws, so a unit that outgrows it fails the
 * test instead of being run differently from how systemd would run it.
 */
export type Unit = Map<string, Map<string, string[]>>

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map()
  let section: Map<string, string[]> | undefined
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    if (line.endsWith('\\')) throw new Error(`line ${i + 1}: continuation lines are not supported`)
    const header = /^\[(\w+)\]$/.exec(line)
    if (header) {
      section = new Map()
      unit.set(header[1]!, section)
      continue
    }
    const eq = line.indexOf('=')
    if (section === undefined || eq <= 0)
      throw new Error(`line ${i + 1}: not a Key=value in a section: ${line}`)
    const key = line.slice(0, eq).trim()
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()])
  }
  return unit
}

/** The one value of `key` in `section`; throws when it is missing or repeated. */
export function single(unit: Unit, section: string, key: string): string {
  const values = unit.get(section)?.get(key) ?? []
  if (values.length !== 1) throw new Error(`[${section}] ${key}: expected one value, found ${values.length}`)
  return values[0]!
}

function plain(value: string, what: string): string {
  if (/["'\\%$]/.test(value))
    throw new Error(`${what}: quotes, escapes, specifiers and $ are not supported: ${value}`)
  return value
}

/** An Exec*= line as argv. */
export function execArgv(line: string): string[] {
  if (/^[-@:+!]/.test(line)) throw new Error(`Exec prefixes are not supported: ${line}`)
  return plain(line, 'Exec line').split(/\s+/)
}

/** Every `Environment=` assignment of [Service], later ones winning, as systemd applies them. */
export function environment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {}
  for (const line of unit.get('Service')?.get('Environment') ?? []) {
    for (const assignment of plain(line, 'Environment').split(/\s+/)) {
      const eq = assignment.indexOf('=')
      if (eq <= 0) throw new Error(`Environment: not NAME=value: ${assignment}`)
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1)
    }
  }
  return env
}
