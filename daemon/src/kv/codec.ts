/**
 * The bytes of the key-value protocol and write-ahead records: dag-cbor (deterministic, bytes as
 * bytes — a 1 KiB value is not base64-inflated), with fields whose value is undefined left out
 * (dag-cbor has no undefined: an absent `value` is a tombstone's). Decoding yields `unknown`:
 * every message is then checked by @swarmstore/kv's parsers; records come from our own
 * checksummed log.
 */
import * as cbor from '@ipld/dag-cbor'
import { encode } from 'cborg'

/** dag-cbor's rules, with object fields whose value is undefined skipped as they are encoded. */
const ENCODE_OPTIONS = { ...cbor.encodeOptions, ignoreUndefinedProperties: true }

export function encodeKv(message: unknown): Uint8Array {
  return encode(message, ENCODE_OPTIONS)
}

/** The decoded message, or an Error naming why it is not dag-cbor. */
export function decodeKv(bytes: Uint8Array): unknown {
  try {
    return cbor.decode(bytes)
  } catch (err) {
    return new Error(`not dag-cbor: ${(err as Error).message}`)
  }
}
