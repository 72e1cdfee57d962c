import type { KvState } from '../src/index.js'

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

export const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b)

/** A state at `version` holding `value` (undefined: a tombstone), with an empty effect log. */
export function state(version: number, value?: string): KvState {
  return { version, value: value === undefined ? undefined : bytes(value), effects: [] }
}
