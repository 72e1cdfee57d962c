import assert from 'node:assert/strict'
import {
  decodeMessage,
  encodeMessage,
  InvalidMembershipMessageError,
  MAX_MESSAGE_BYTES,
  MAX_SYNC_MEMBERS,
  MAX_UPDATES_PER_MESSAGE,
  type MembershipMessage,
  validateMessage,
  validateMeta,
} from '../src/index.js'
import { metaFor } from './helpers/local-net.js'

const alive = { id: 'a', state: 'alive', incarnation: { epoch: 5, counter: 2 }, meta: metaFor('a') }

function rejects(v: unknown, re: RegExp): void {
  assert.throws(
    () => validateMessage(v),
    (err: unknown) =>
      err instanceof InvalidMembershipMessageError &&
      err.code === 'MEMBERSHIP_INVALID_MESSAGE' &&
      re.test(err.message),
  )
}

describe('validateMessage / decodeMessage', () => {
  it('round-trips every message type through encode/decode unchanged', () => {
    const msgs: MembershipMessage[] = [
      { type: 'ping', target: 'b', updates: [alive as never] },
      { type: 'ping-req', target: 'c', timeoutMs: 400, updates: [] },
      {
        type: 'ack',
        updates: [{ id: 'x', state: 'suspect', incarnation: { epoch: 1, counter: 0 }, from: 'y' }],
      },
      { type: 'nack', updates: [] },
      {
        type: 'gossip',
        updates: [{ id: 'x', state: 'left', incarnation: { epoch: 1, counter: 3 }, from: 'x' }],
      },
      { type: 'sync', join: true, members: [alive as never] },
    ]
    for (const m of msgs) assert.deepEqual(decodeMessage(encodeMessage(m)), m)
  })

  it('returns a fresh copy, not the input object', () => {
    const input = { type: 'gossip', updates: [alive] }
    const out = validateMessage(input)
    assert.notEqual(out, input)
    assert.notEqual((out as { updates: unknown[] }).updates[0], alive)
  })

  it('rejects unknown types, extra fields and wrong field types', () => {
    rejects(null, /not an object/)
    rejects([], /not an object/)
    rejects({ type: 'shout', updates: [] }, /unknown type/)
    rejects({ type: 'ack', updates: [], extra: 1 }, /unexpected field "extra"/)
    rejects({ type: 'ping', target: 7, updates: [] }, /ping.target: not a string/)
    rejects({ type: 'ping', target: '', updates: [] }, /length 0/)
    rejects({ type: 'sync', join: 'yes', members: [] }, /sync.join/)
    rejects({ type: 'ack', updates: [{ ...alive, state: 'zombie' }] }, /unknown state/)
    rejects({ type: 'ack', updates: [{ ...alive, meta: undefined }] }, /alive without meta/)
    rejects({ type: 'ack', updates: [{ ...alive, incarnation: { epoch: -1, counter: 0 } }] }, /epoch/)
    rejects({ type: 'ack', updates: [{ ...alive, incarnation: { epoch: 1.5, counter: 0 } }] }, /epoch/)
    rejects({ type: 'ping-req', target: 'c', timeoutMs: 10 ** 9, updates: [] }, /timeoutMs/)
  })

  it('enforces the size bounds', () => {
    rejects({ type: 'ack', updates: Array(MAX_UPDATES_PER_MESSAGE + 1).fill(alive) }, /more than 32/)
    rejects({ type: 'sync', join: false, members: Array(MAX_SYNC_MEMBERS + 1).fill(alive) }, /more than 2048/)
    rejects({ type: 'ack', updates: [{ ...alive, id: 'x'.repeat(129) }] }, /length 129/)
    const fat = { ...metaFor('a'), addrs: Array(9).fill('/ip4/1.2.3.4/tcp/1') }
    rejects({ type: 'ack', updates: [{ ...alive, meta: fat }] }, /more than 8/)
    const settings = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']))
    rejects({ type: 'ack', updates: [{ ...alive, meta: { ...metaFor('a'), settings } }] }, /more than 16/)
    rejects(
      { type: 'ack', updates: [{ ...alive, meta: { ...metaFor('a'), capacityFree: Number.NaN } }] },
      /capacityFree/,
    )
    assert.throws(() => decodeMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1)), /more than/)
    assert.throws(() => decodeMessage(new TextEncoder().encode('{"type":')), /not UTF-8 JSON/)
    assert.throws(() => decodeMessage(new Uint8Array([0xff, 0xfe])), /not UTF-8 JSON/)
  })

  it('validateMeta rejects metadata we must not advertise', () => {
    assert.throws(() => validateMeta({ ...metaFor('a'), version: 'v'.repeat(65) }), {
      code: 'MEMBERSHIP_INVALID_META',
    })
    assert.deepEqual(validateMeta(metaFor('a')), metaFor('a'))
  })
})
