/**
 * Strict validation of untrusted input. `validateMessage` accepts exactly the shapes in types.ts
 * (no extra keys, every string and array bounded) and returns a fresh copy built from the checked
 * fields, so nothing the peer sent (prototypes, extra properties) flows further.
 */
import { InvalidMembershipMessageError, InvalidMetaError } from './errors.js'
import {
  MAX_ADDR_LENGTH,
  MAX_CONTACT_ADDRS,
  MAX_INCARNATION_PART,
  MAX_MEMBER_ID_LENGTH,
  MAX_MESSAGE_BYTES,
  MAX_META_BYTES,
  MAX_PING_REQ_TIMEOUT_MS,
  MAX_SETTING_KEY_LENGTH,
  MAX_SETTING_VALUE_LENGTH,
  MAX_SETTINGS,
  MAX_SYNC_MEMBERS,
  MAX_UPDATES_PER_MESSAGE,
  MAX_VERSION_LENGTH,
} from './limits.js'
import type {
  Incarnation,
  MemberId,
  MemberMeta,
  MemberState,
  MembershipMessage,
  MemberUpdate,
} from './types.js'

const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left']

function fail(path: string, why: string): never {
  throw new InvalidMembershipMessageError(`${path}: ${why}`)
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function obj(v: unknown, path: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(v)) fail(path, 'not an object')
  for (const k of Object.keys(v))
    if (!allowed.includes(k)) fail(path, `unexpected field ${JSON.stringify(k)}`)
  return v
}

function str(v: unknown, path: string, max: number, min = 0): string {
  if (typeof v !== 'string') fail(path, 'not a string')
  if (v.length < min || v.length > max) fail(path, `length ${v.length} outside [${min}, ${max}]`)
  return v
}

function uint(v: unknown, path: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    fail(path, `not an integer in [0, ${max}]`)
  }
  return v
}

function arr(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail(path, 'not an array')
  if (v.length > max) fail(path, `${v.length} entries, more than ${max}`)
  return v
}

function memberId(v: unknown, path: string): MemberId {
  return str(v, path, MAX_MEMBER_ID_LENGTH, 1)
}

function incarnation(v: unknown, path: string): Incarnation {
  const o = obj(v, path, ['epoch', 'counter'])
  return {
    epoch: uint(o.epoch, `${path}.epoch`, MAX_INCARNATION_PART),
    counter: uint(o.counter, `${path}.counter`, MAX_INCARNATION_PART),
  }
}

function meta(v: unknown, path: string): MemberMeta {
  const o = obj(v, path, ['addrs', 'capacityFree', 'settings', 'version'])
  const addrs = arr(o.addrs, `${path}.addrs`, MAX_CONTACT_ADDRS).map((a, i) =>
    str(a, `${path}.addrs[${i}]`, MAX_ADDR_LENGTH, 1),
  )
  const cap = o.capacityFree
  if (typeof cap !== 'number' || !Number.isFinite(cap) || cap < 0)
    fail(`${path}.capacityFree`, 'not a finite number >= 0')
  const so = obj(o.settings, `${path}.settings`, Object.keys(isPlainObject(o.settings) ? o.settings : {}))
  const keys = Object.keys(so)
  if (keys.length > MAX_SETTINGS)
    fail(`${path}.settings`, `${keys.length} entries, more than ${MAX_SETTINGS}`)
  const settings: Record<string, string> = Object.create(null)
  for (const k of keys) {
    str(k, `${path}.settings key`, MAX_SETTING_KEY_LENGTH, 1)
    settings[k] = str(so[k], `${path}.settings.${k}`, MAX_SETTING_VALUE_LENGTH)
  }
  const out: MemberMeta = {
    addrs,
    capacityFree: cap,
    settings: { ...settings },
    version: str(o.version, `${path}.version`, MAX_VERSION_LENGTH),
  }
  const size = JSON.stringify(out).length
  if (size > MAX_META_BYTES) fail(path, `encodes to ${size} bytes, more than ${MAX_META_BYTES}`)
  return out
}

function update(v: unknown, path: string): MemberUpdate {
  const o = obj(v, path, ['id', 'state', 'incarnation', 'meta', 'from'])
  const state = o.state
  if (typeof state !== 'string' || !STATES.includes(state as MemberState))
    fail(`${path}.state`, 'unknown state')
  const out: { -readonly [K in keyof MemberUpdate]: MemberUpdate[K] } = {
    id: memberId(o.id, `${path}.id`),
    state: state as MemberState,
    incarnation: incarnation(o.incarnation, `${path}.incarnation`),
  }
  if (o.meta !== undefined) out.meta = meta(o.meta, `${path}.meta`)
  if (o.from !== undefined) out.from = memberId(o.from, `${path}.from`)
  if (out.state === 'alive' && out.meta === undefined) fail(path, 'alive without meta')
  return out
}

function updates(v: unknown, path: string, max = MAX_UPDATES_PER_MESSAGE): MemberUpdate[] {
  return arr(v, path, max).map((u, i) => update(u, `${path}[${i}]`))
}

/** Checks an untrusted value and returns a clean copy, or throws InvalidMembershipMessageError. */
export function validateMessage(v: unknown): MembershipMessage {
  if (!isPlainObject(v)) fail('message', 'not an object')
  switch (v.type) {
    case 'ping': {
      const o = obj(v, 'ping', ['type', 'target', 'updates'])
      return {
        type: 'ping',
        target: memberId(o.target, 'ping.target'),
        updates: updates(o.updates, 'ping.updates'),
      }
    }
    case 'ping-req': {
      const o = obj(v, 'ping-req', ['type', 'target', 'timeoutMs', 'updates'])
      return {
        type: 'ping-req',
        target: memberId(o.target, 'ping-req.target'),
        timeoutMs: uint(o.timeoutMs, 'ping-req.timeoutMs', MAX_PING_REQ_TIMEOUT_MS),
        updates: updates(o.updates, 'ping-req.updates'),
      }
    }
    case 'ack':
    case 'nack':
    case 'gossip': {
      const o = obj(v, v.type, ['type', 'updates'])
      return { type: v.type, updates: updates(o.updates, `${v.type}.updates`) }
    }
    case 'sync': {
      const o = obj(v, 'sync', ['type', 'join', 'members'])
      if (typeof o.join !== 'boolean') fail('sync.join', 'not a boolean')
      return { type: 'sync', join: o.join, members: updates(o.members, 'sync.members', MAX_SYNC_MEMBERS) }
    }
    default:
      fail('message.type', `unknown type ${JSON.stringify(String(v.type)).slice(0, 40)}`)
  }
}

/** Checks local metadata before we advertise it; throws InvalidMetaError. */
export function validateMeta(m: MemberMeta): MemberMeta {
  try {
    return meta(m, 'meta')
  } catch (err) {
    throw new InvalidMetaError((err as Error).message)
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 JSON. Throws InvalidMembershipMessageError if the result would exceed MAX_MESSAGE_BYTES. */
export function encodeMessage(msg: MembershipMessage): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(msg))
  if (bytes.length > MAX_MESSAGE_BYTES)
    fail('message', `encodes to ${bytes.length} bytes, more than ${MAX_MESSAGE_BYTES}`)
  return bytes
}

/** Size check first, then strict UTF-8, JSON and shape. Throws InvalidMembershipMessageError. */
export function decodeMessage(bytes: Uint8Array): MembershipMessage {
  if (bytes.length > MAX_MESSAGE_BYTES)
    fail('message', `${bytes.length} bytes, more than ${MAX_MESSAGE_BYTES}`)
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch {
    fail('message', 'not UTF-8 JSON')
  }
  return validateMessage(value)
}
