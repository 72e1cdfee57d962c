import assert from 'node:assert/strict'
import {
  type AcceptorAction,
  type AcceptorRecord,
  type Ballot,
  KvAcceptor,
  type KvReply,
  type KvState,
} from '../src/index.js'
import { state } from './helpers.js'

const config = { epoch: 3, members: ['a', 'b', 'c'] }
const b = (counter: number, proposer = 'p'): Ballot => ({ counter, proposer })
const prepare = (ballot: Ballot, key = 'k') => ({ t: 'prepare', range: 0, epoch: 3, key, ballot })
const accept = (ballot: Ballot, s: KvState, key = 'k') => ({
  t: 'accept',
  range: 0,
  epoch: 3,
  key,
  ballot,
  state: s,
})

/** Acceptor 'a', founding range 0 under `config` (that write already durable). */
function founded(restore?: AcceptorRecord[]): KvAcceptor {
  const acc = new KvAcceptor({ id: 'a', ...(restore ? { restore } : {}) })
  if (restore) return acc
  acc.found(0, config)
  for (const p of persists(acc.takeActions())) acc.persisted(p.batch, 0)
  acc.takeActions()
  return acc
}

type Persist = AcceptorAction & { type: 'persist' }
const persists = (as: AcceptorAction[]) => as.filter((a): a is Persist => a.type === 'persist')
const replies = (as: AcceptorAction[]) =>
  as.filter((a) => a.type === 'reply').map((a) => [(a as { id: number }).id, (a as { reply: KvReply }).reply])

/** Feeds one request and makes whatever it wrote durable; returns the reply. */
function ask(acc: KvAcceptor, msg: unknown, id = 1): KvReply {
  acc.receive(id, msg, 0)
  let out = acc.takeActions()
  for (const p of persists(out)) {
    acc.persisted(p.batch, 0)
    out = out.concat(acc.takeActions())
  }
  const r = replies(out)
  assert.equal(r.length, 1)
  return r[0]![1] as KvReply
}

describe('KvAcceptor (the contract: requests in, persist and reply actions out)', () => {
  it('promises a higher ballot and says what it accepted; refuses an equal or lower one', () => {
    const acc = founded()
    assert.deepEqual(ask(acc, prepare(b(1))), { t: 'promise', ballot: b(1) })
    assert.deepEqual(ask(acc, prepare(b(1))), { t: 'reject', promised: b(1) })
    assert.deepEqual(ask(acc, prepare(b(1, 'a'))), { t: 'reject', promised: b(1) }, "'a' < 'p'")
    assert.deepEqual(ask(acc, accept(b(1), state(1, 'x'))), { t: 'accepted', ballot: b(1) })
    assert.deepEqual(ask(acc, prepare(b(2))), {
      t: 'promise',
      ballot: b(2),
      accepted: { ballot: b(1), state: state(1, 'x') },
    })
  })

  it('accepts at or above its promise, refuses below; an accept raises the promise', () => {
    const acc = founded()
    ask(acc, prepare(b(5)))
    assert.deepEqual(ask(acc, accept(b(4), state(1, 'x'))), { t: 'reject', promised: b(5) })
    assert.deepEqual(ask(acc, accept(b(7), state(1, 'y'))), { t: 'accepted', ballot: b(7) })
    assert.deepEqual(ask(acc, prepare(b(6))), { t: 'reject', promised: b(7) })
    assert.deepEqual(acc.record(0, 'k')?.accepted, { ballot: b(7), state: state(1, 'y') })
  })

  it('keys are independent', () => {
    const acc = founded()
    ask(acc, prepare(b(9), 'k1'))
    assert.deepEqual(ask(acc, prepare(b(1), 'k2')), { t: 'promise', ballot: b(1) })
  })

  it('an older epoch is refused with the current config, a newer one as behind, changing nothing', () => {
    const acc = founded()
    acc.receive(1, { ...prepare(b(1)), epoch: 2 }, 0)
    assert.deepEqual(acc.takeActions(), [{ type: 'reply', id: 1, reply: { t: 'stale', config } }])
    acc.receive(1, { ...prepare(b(1)), epoch: 4 }, 0)
    assert.deepEqual(acc.takeActions(), [{ type: 'reply', id: 1, reply: { t: 'behind', epoch: 3 } }])
    acc.receive(1, { ...prepare(b(1)), range: 9 }, 0)
    assert.deepEqual(acc.takeActions(), [{ type: 'reply', id: 1, reply: { t: 'behind', epoch: 0 } }])
    assert.equal(acc.record(0, 'k'), undefined)
    assert.equal(acc.stats().batches, 1, 'the founding write only')
  })

  it('bad input is refused at once with its code, changing nothing', () => {
    const acc = founded()
    const cases: [unknown, string][] = [
      [{ t: 'prepare', range: 0, epoch: 3, key: 'k'.repeat(1025), ballot: b(1) }, 'ERR_KV_KEY_TOO_LONG'],
      [{ t: 'prepare', range: 0, epoch: 3, key: 'a\ud800', ballot: b(1) }, 'ERR_KV_KEY_NOT_UTF8'],
      [
        accept(b(1), { version: 1, value: new Uint8Array((1 << 20) + 1), effects: [] }),
        'ERR_KV_VALUE_TOO_LARGE',
      ],
      [{ t: 'prepare', range: 0, epoch: 3, key: 'k' }, 'ERR_KV_MALFORMED_MESSAGE'],
      ['garbage', 'ERR_KV_MALFORMED_MESSAGE'],
    ]
    for (const [msg, code] of cases) {
      acc.receive(7, msg, 0)
      const [a, ...rest] = acc.takeActions()
      assert.deepEqual(rest, [])
      assert.equal(a?.type, 'reply')
      const reply = (a as { reply: KvReply }).reply
      assert.equal(reply.t === 'invalid' && reply.code, code)
      assert.ok(reply.t === 'invalid' && reply.message.length > 10)
    }
    assert.equal(acc.stats().keys, 0)
  })

  it('holds every reply until its change is durable, a refusal too', () => {
    const acc = founded()
    acc.receive(1, prepare(b(2)), 0)
    const [p] = acc.takeActions()
    assert.deepEqual(p, {
      type: 'persist',
      batch: 2,
      records: [{ t: 'key', range: 0, epoch: 3, key: 'k', promised: b(2) }],
    })
    acc.receive(2, prepare(b(1)), 1)
    assert.deepEqual(acc.takeActions(), [], 'the refusal shows a promise not yet durable')
    assert.equal(acc.stats().waiting, 2)
    assert.equal(acc.persisted(2, 2), true)
    assert.deepEqual(replies(acc.takeActions()), [
      [1, { t: 'promise', ballot: b(2) }],
      [2, { t: 'reject', promised: b(2) }],
    ])
    assert.equal(acc.persisted(2, 3), false, 'a batch is reported once')
    acc.receive(3, prepare(b(1)), 4)
    assert.deepEqual(replies(acc.takeActions()), [[3, { t: 'reject', promised: b(2) }]], 'durable: at once')
  })

  it('group commit: requests arriving during a write share the next write, one record per key', () => {
    const acc = founded()
    acc.receive(1, prepare(b(1), 'k1'), 0)
    const first = persists(acc.takeActions())
    assert.equal(first.length, 1)
    acc.receive(2, prepare(b(2), 'k1'), 1)
    acc.receive(3, prepare(b(1), 'k2'), 1)
    acc.receive(4, accept(b(2), state(1, 'x'), 'k1'), 1)
    acc.receive(5, prepare(b(1), 'k3'), 1)
    assert.deepEqual(acc.takeActions(), [], 'nothing is written or answered while batch 1 is on disk')
    acc.persisted(first[0]!.batch, 2)
    const out = acc.takeActions()
    assert.deepEqual(replies(out), [[1, { t: 'promise', ballot: b(1) }]])
    const [second] = persists(out)
    assert.equal(second?.batch, 3)
    assert.deepEqual(
      second?.records.map((r) => r.t === 'key' && [r.key, r.promised.counter, r.accepted?.state.version]),
      [
        ['k1', 2, 1],
        ['k2', 1, undefined],
        ['k3', 1, undefined],
      ],
    )
    acc.persisted(3, 3)
    assert.deepEqual(
      replies(acc.takeActions()).map(([id]) => id),
      [2, 3, 4, 5],
    )
    assert.deepEqual(acc.stats().batches, 3)
  })

  it('restarts from what reached the disk; what did not is gone', () => {
    const disk: AcceptorRecord[] = []
    const acc = new KvAcceptor({ id: 'a' })
    acc.found(0, config)
    for (const p of persists(acc.takeActions())) {
      disk.push(...p.records)
      acc.persisted(p.batch, 0)
    }
    acc.receive(1, prepare(b(1)), 0)
    for (const p of persists(acc.takeActions())) {
      disk.push(...p.records)
      acc.persisted(p.batch, 0)
    }
    acc.takeActions()
    acc.receive(2, accept(b(1), state(1, 'x')), 1)
    assert.equal(persists(acc.takeActions()).length, 1, 'written but never reported durable: a crash')
    const back = founded(disk)
    assert.deepEqual(back.record(0, 'k'), { t: 'key', range: 0, epoch: 3, key: 'k', promised: b(1) })
    assert.deepEqual(ask(back, prepare(b(1))), { t: 'reject', promised: b(1) }, 'the promise survived')
  })

  it('an accept with next also promises the proposer its next ballot, in the same write', () => {
    const acc = founded()
    ask(acc, prepare(b(4)))
    assert.deepEqual(ask(acc, { ...accept(b(4), state(1, 'x')), next: true }), {
      t: 'accepted',
      ballot: b(4),
    })
    assert.deepEqual(acc.record(0, 'k')?.promised, b(5))
    assert.deepEqual(
      ask(acc, prepare(b(5, 'a'))),
      { t: 'reject', promised: b(5) },
      'b(5, a) is not above b(5, p)',
    )
    assert.deepEqual(ask(acc, { ...accept(b(5), state(2, 'y')), next: true }), {
      t: 'accepted',
      ballot: b(5),
    })
  })
})
