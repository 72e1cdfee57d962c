/**
 * The bytes of the key-value protocol and write-ahead records: dag-cbor (deterministic, bytes as
 * bytes — a 1 KiB value is not base64-inflated), with fields whose value is undefined left out
 * (dag-cbor has no undefined: an absent `value` is a tombstone's). Decoding yields `unknown`:
 * every message is then checked by @swarmstore/kv's parsers; records come from our own
 * checksummed log.
 */
import * as cbor from '@ipld/dag-cbor'

export function encodeKv(message: unknown): Uint8Array {
  return cbor.encode(withoutUndefined(message))
}

/** The decoded message, or an Error naming why it is not dag-cbor. */
export function decodeKv(bytes: Uint8Array): unknown {
  try {
    return cbor.decode(bytes)
  } catch (err) {
    return new Error(`not dag-cbor: ${(err as Error).message}`)
  }
}

function withoutUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUndefined)
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = withoutUndefined(x)
  return out
}
