/**
 * A cheap structural estimate of a payload's wire size (bytes), for the message/byte counters:
 * byte arrays count their length, strings their length, numbers 8, plus a small per-field overhead
 * as a length-prefixed encoding would add. Depth is bounded so a cyclic object cannot hang it.
 */
export function defaultSizeOf(payload: unknown, depth = 0): number {
  if (payload === null || payload === undefined) return 1
  if (depth > 8) return 0
  switch (typeof payload) {
    case 'string':
      return payload.length + 2
    case 'number':
      return 8
    case 'boolean':
      return 1
    case 'bigint':
      return 16
    case 'object': {
      if (payload instanceof Uint8Array) return payload.byteLength + 2
      if (Array.isArray(payload)) {
        let n = 2
        for (const x of payload) n += defaultSizeOf(x, depth + 1)
        return n
      }
      let n = 2
      for (const k in payload) n += 1 + defaultSizeOf((payload as Record<string, unknown>)[k], depth + 1)
      return n
    }
    default:
      return 0
  }
}
