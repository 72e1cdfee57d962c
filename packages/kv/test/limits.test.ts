import assert from 'node:assert/strict'
import {
  checkKey,
  checkValue,
  KvKeyNotUtf8Error,
  KvKeyTooLongError,
  KvMalformedMessageError,
  KvValueTooLargeError,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  parseKvMessage,
  utf8Length,
} from '../src/index.js'
import { bytes } from './helpers.js'

describe('limits', () => {
  it('counts UTF-8 bytes exactly and refuses lone surrogates', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a😀é€']) assert.equal(utf8Length(s), Buffer.byteLength(s), s)
    assert.equal(utf8Length('a\ud800b'), undefined)
    assert.equal(utf8Length('\udc00'), undefined)
    assert.equal(utf8Length('\ud800'), undefined)
  })

  it('a key is at most 1024 bytes of UTF-8', () => {
    assert.equal(checkKey('k'.repeat(MAX_KEY_BYTES)), undefined)
    assert.equal(checkKey('€'.repeat(341)), undefined)
    assert.ok(checkKey('k'.repeat(MAX_KEY_BYTES + 1)) instanceof KvKeyTooLongError)
    const e = checkKey('€'.repeat(342))
    assert.ok(e instanceof KvKeyTooLongError)
    assert.equal(e.code, 'ERR_KV_KEY_TOO_LONG')
    assert.match(e.message, /1026 bytes .* at most 1024/)
    assert.ok(checkKey('a\ud800') instanceof KvKeyNotUtf8Error)
    assert.ok(checkKey(42) instanceof KvKeyNotUtf8Error)
  })

  it('a value is at most 1 MiB', () => {
    assert.equal(checkValue(new Uint8Array(MAX_VALUE_BYTES)), undefined)
    const e = checkValue(new Uint8Array(MAX_VALUE_BYTES + 1))
    assert.ok(e instanceof KvValueTooLargeError)
    assert.match(e.message, /1048577 bytes; at most 1048576/)
    assert.ok(checkValue('text') instanceof KvMalformedMessageError)
  })

  it('the wire parser refuses malformed messages with a reason', () => {
    const ballot = { counter: 1, proposer: 'p' }
    const state = { version: 1, value: bytes('x'), effects: [{ version: 1, by: 'p#1' }] }
    assert.equal(parseKvMessage({ t: 'prepare', range: 0, epoch: 1, key: 'k', ballot }).constructor, Object)
    assert.equal(
      parseKvMessage({ t: 'accept', range: 0, epoch: 1, key: 'k', ballot, state }).constructor,
      Object,
    )
    const bad: [unknown, RegExp][] = [
      [null, /not an object/],
      [{ t: 'learn', range: 0, epoch: 1, key: 'k', ballot }, /unknown type/],
      [{ t: 'prepare', range: 0, epoch: -1, key: 'k', ballot }, /epoch/],
      [{ t: 'prepare', range: 0, epoch: 1, key: 'k', ballot: { counter: 1.5, proposer: 'p' } }, /ballot/],
      [{ t: 'accept', range: 0, epoch: 1, key: 'k', ballot }, /state is not an object/],
      [
        { t: 'accept', range: 0, epoch: 1, key: 'k', ballot, state: { ...state, version: 0 } },
        /version 0|out of order/,
      ],
      [
        { t: 'accept', range: 0, epoch: 1, key: 'k', ballot, state: { ...state, effects: 'x' } },
        /effect log/,
      ],
      [
        { t: 'accept', range: 0, epoch: 1, key: 'k', ballot, state: { ...state, value: [1, 2] } },
        /not bytes/,
      ],
    ]
    for (const [m, why] of bad) {
      const r = parseKvMessage(m)
      assert.ok(r instanceof KvMalformedMessageError, JSON.stringify(m))
      assert.match(r.message, why)
    }
    assert.ok(
      parseKvMessage({ t: 'prepare', range: 0, epoch: 1, key: 'k'.repeat(2000), ballot }) instanceof
        KvKeyTooLongError,
    )
    const big = { ...state, value: new Uint8Array(MAX_VALUE_BYTES + 1) }
    assert.ok(
      parseKvMessage({ t: 'accept', range: 0, epoch: 1, key: 'k', ballot, state: big }) instanceof
        KvValueTooLargeError,
    )
  })
})
