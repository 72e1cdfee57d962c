import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decodeMessage, encodeMessage, InvalidMembershipMessageError, validateMessage } from '../src/index.js'

const id = fc.string({ minLength: 1, maxLength: 60 })
const incarnation = fc.record({ epoch: fc.nat(), counter: fc.nat() })
const meta = fc.record({
  addrs: fc.array(fc.string({ minLength: 1, maxLength: 80 }), { maxLength: 8 }),
  capacityFree: fc.double({ min: 0, max: 1e15, noNaN: true }),
  settings: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), {
    maxKeys: 16,
  }),
  version: fc.string({ maxLength: 64 }),
})
const update = fc.oneof(
  fc.record({ id, state: fc.constant('alive' as const), incarnation, meta }),
  fc.record({
    id,
    state: fc.constantFrom('suspect' as const, 'dead' as const, 'left' as const),
    incarnation,
    from: id,
  }),
)
const updates = fc.array(update, { maxLength: 32 })
const message = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), target: id, updates }),
  fc.record({ type: fc.constant('ping-req' as const), target: id, timeoutMs: fc.nat(30_000), updates }),
  fc.record({ type: fc.constantFrom('ack' as const, 'nack' as const, 'gossip' as const), updates }),
  fc.record({
    type: fc.constant('sync' as const),
    join: fc.boolean(),
    members: fc.array(update, { maxLength: 64 }),
  }),
)

describe('validate (properties)', () => {
  it('every well-formed message survives encode → decode unchanged', () => {
    fc.assert(
      fc.property(message, (m) => {
        assert.deepEqual(decodeMessage(encodeMessage(m)), JSON.parse(JSON.stringify(m)))
      }),
      { seed: 5, numRuns: 300 },
    )
  })

  it('arbitrary JSON is either accepted or rejected with the typed error, never anything else', () => {
    const mutated = fc.oneof(
      fc.jsonValue(),
      message.chain((m) =>
        fc.tuple(fc.constantFrom(...Object.keys(m)), fc.jsonValue()).map(([k, v]) => ({ ...m, [k]: v })),
      ),
    )
    fc.assert(
      fc.property(mutated, (v) => {
        try {
          validateMessage(v)
        } catch (err) {
          assert.ok(err instanceof InvalidMembershipMessageError, String(err))
        }
      }),
      { seed: 6, numRuns: 1000 },
    )
  })
})
