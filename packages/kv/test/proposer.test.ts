import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import {
  ABSENT,
  applyRequest,
  type Ballot,
  EFFECT_LOG_LENGTH,
  type KvMessage,
  KvProposer,
  type KvProposerInit,
  type KvState,
  type ProposerAction,
} from '../src/index.js'
import { bytes, state } from './helpers.js'

type Send = ProposerAction & { type: 'send' }
type Done = ProposerAction & { type: 'done' }
const sends = (as: ProposerAction[]) => as.filter((a): a is Send => a.type === 'send')
const dones = (as: ProposerAction[]) => as.filter((a): a is Done => a.type === 'done')

const config = { epoch: 1, members: ['a', 'b', 'c'] }
const proposer = (init: Partial<KvProposerInit> = {}) =>
  new KvProposer({ id: 'p', random: new SeededRandom(1), ...init })
const target = { range: 0, config }
const ballotOf = (s: Send) => (s.msg as { ballot: Ballot }).ballot
const stateOf = (s: Send) => (s.msg as KvMessage & { t: 'accept' }).state

describe('KvProposer (the contract: requests in, sends and answers out, next wake-up)', () => {
  it('a put: prepare to all, accept on a majority of promises, ok on a majority of accepts', () => {
    const p = proposer()
    p.submit(1, { t: 'put', key: 'k', value: bytes('x') }, target, 0)
    const prep = sends(p.takeActions())
    assert.deepEqual(
      prep.map((s) => [s.to, s.msg.t, ballotOf(s).counter]),
      [
        ['a', 'prepare', 1],
        ['b', 'prepare', 1],
        ['c', 'prepare', 1],
      ],
    )
    p.replied(prep[0]!.id, { t: 'promise', ballot: ballotOf(prep[0]!) }, 1)
    assert.deepEqual(p.takeActions(), [], 'one promise of three is not a majority')
    p.replied(prep[1]!.id, { t: 'promise', ballot: ballotOf(prep[1]!) }, 2)
    const acc = sends(p.takeActions())
    assert.equal(acc.length, 3)
    assert.equal(stateOf(acc[0]!).version, 1)
    assert.deepEqual(stateOf(acc[0]!).effects, [{ version: 1, by: 'p#1' }])
    assert.equal(p.replied(prep[2]!.id, { t: 'promise', ballot: ballotOf(prep[2]!) }, 3), false, 'late')
    p.replied(acc[2]!.id, { t: 'accepted', ballot: ballotOf(acc[2]!) }, 4)
    assert.deepEqual(p.takeActions(), [])
    p.replied(acc[0]!.id, { t: 'accepted', ballot: ballotOf(acc[0]!) }, 5)
    assert.deepEqual(p.takeActions(), [{ type: 'done', op: 1, answer: { t: 'ok', version: 1 } }])
    assert.equal(p.nextWakeAt(), undefined)
  })

  it('applies the change to the state accepted under the highest ballot among the promises', () => {
    const p = proposer()
    p.submit(1, { t: 'get', key: 'k' }, target, 0)
    const old = { ballot: { counter: 3, proposer: 'z' }, state: state(5, 'old') }
    const newer = { ballot: { counter: 4, proposer: 'a' }, state: state(6, 'new') }
    // the peeks disagree: no state is known chosen, so a full round
    const peeks = sends(p.takeActions())
    p.replied(peeks[0]!.id, { t: 'peeked', accepted: newer }, 1)
    p.replied(peeks[1]!.id, { t: 'peeked', accepted: old }, 1)
    p.replied(peeks[2]!.id, { t: 'failed', reason: 'down' }, 1)
    const prep = sends(p.takeActions())
    assert.deepEqual(
      prep.map((x) => x.msg.t),
      ['prepare', 'prepare', 'prepare'],
    )
    p.replied(prep[0]!.id, { t: 'promise', ballot: ballotOf(prep[0]!), accepted: newer }, 1)
    p.replied(prep[1]!.id, { t: 'promise', ballot: ballotOf(prep[1]!), accepted: old }, 1)
    const acc = sends(p.takeActions())
    assert.deepEqual(stateOf(acc[0]!), newer.state, 'a read writes back what it read (a full round)')
    for (const s of acc) p.replied(s.id, { t: 'accepted', ballot: ballotOf(s) }, 2)
    assert.deepEqual(dones(p.takeActions())[0]?.answer, { t: 'found', value: bytes('new'), version: 6 })
  })

  it('beaten by a higher ballot: backs off a random while, then retries above it', () => {
    const p = proposer()
    p.submit(1, { t: 'delete', key: 'k' }, target, 0)
    const prep = sends(p.takeActions())
    p.replied(prep[0]!.id, { t: 'reject', promised: { counter: 7, proposer: 'q' } }, 1)
    assert.deepEqual(p.takeActions(), [], 'one refusal of three leaves a majority possible')
    p.replied(prep[1]!.id, { t: 'reject', promised: { counter: 7, proposer: 'q' } }, 2)
    assert.deepEqual(p.takeActions(), [])
    const wake = p.nextWakeAt()!
    assert.ok(wake >= 2 && wake < 2 + 64, `backoff ends at ${wake}`)
    p.tick(wake)
    const again = sends(p.takeActions())
    assert.equal(again.length, 3)
    assert.deepEqual(ballotOf(again[0]!), { counter: 8, proposer: 'p' })
    assert.equal(p.stats().retries, 1)
  })

  it('no quorum before the deadline: unavailable, and whether an accept left', () => {
    // op 1 never gets a promise; op 2 gets two, sends its accepts, and hears nothing more
    const p = proposer({ deadlineMs: 2000 })
    p.submit(1, { t: 'put', key: 'k', value: bytes('x') }, target, 0)
    p.submit(2, { t: 'put', key: 'j', value: bytes('y') }, target, 0)
    const prep = sends(p.takeActions()).filter((s) => s.msg.t === 'prepare' && s.msg.key === 'j')
    for (const s of prep.slice(0, 2)) p.replied(s.id, { t: 'promise', ballot: ballotOf(s) }, 1)
    assert.equal(sends(p.takeActions()).length, 3, 'op 2 sent its accepts')
    let t = 1
    const out: Done[] = []
    while (p.nextWakeAt() !== undefined && t < 10_000) {
      t = p.nextWakeAt()!
      p.tick(t)
      out.push(...dones(p.takeActions())) // the sends are lost, all of them
    }
    assert.equal(t, 2000)
    assert.deepEqual(
      out.map((d) => [d.op, d.answer.t, d.answer.t === 'unavailable' && d.answer.acceptSent]),
      [
        [1, 'unavailable', false],
        [2, 'unavailable', true],
      ],
    )
  })

  it('a retry finds its own earlier accept in the key’s history and does not apply it twice', () => {
    const p = proposer()
    p.submit(1, { t: 'put', key: 'k', value: bytes('x') }, target, 0)
    let prep = sends(p.takeActions())
    for (const s of prep.slice(0, 2)) p.replied(s.id, { t: 'promise', ballot: ballotOf(s) }, 1)
    const acc = sends(p.takeActions())
    const mine = stateOf(acc[0]!)
    assert.equal(mine.version, 1)
    // one acceptor takes it; two have promised a higher ballot meanwhile
    p.replied(acc[0]!.id, { t: 'accepted', ballot: ballotOf(acc[0]!) }, 2)
    p.replied(acc[1]!.id, { t: 'reject', promised: { counter: 5, proposer: 'q' } }, 2)
    p.replied(acc[2]!.id, { t: 'reject', promised: { counter: 5, proposer: 'q' } }, 2)
    p.tick(p.nextWakeAt()!)
    prep = sends(p.takeActions())
    // q built on our state: version 2 by q, version 1 still ours in the log
    const onTop = applyRequest(mine, { t: 'put', key: 'k', value: bytes('q') }, 'q#9').state
    const accepted = { ballot: { counter: 5, proposer: 'q' }, state: onTop }
    for (const s of prep.slice(0, 2)) p.replied(s.id, { t: 'promise', ballot: ballotOf(s), accepted }, 3)
    const again = sends(p.takeActions())
    assert.deepEqual(stateOf(again[0]!), onTop, 'proposes what it read, unchanged')
    for (const s of again.slice(0, 2)) p.replied(s.id, { t: 'accepted', ballot: ballotOf(s) }, 4)
    assert.deepEqual(dones(p.takeActions())[0]?.answer, { t: 'ok', version: 1 })
    assert.equal(p.stats().recovered, 1)
  })

  it('a retry whose earlier accept did not join the history applies the change anew', () => {
    const p = proposer()
    p.submit(1, { t: 'cas', key: 'k', expect: 0, value: bytes('x') }, target, 0)
    let prep = sends(p.takeActions())
    for (const s of prep.slice(0, 2)) p.replied(s.id, { t: 'promise', ballot: ballotOf(s) }, 1)
    for (const s of sends(p.takeActions())) p.replied(s.id, { t: 'failed', reason: 'lost' }, 2)
    p.tick(p.nextWakeAt()!)
    prep = sends(p.takeActions())
    const other = applyRequest(ABSENT, { t: 'put', key: 'k', value: bytes('o') }, 'o#1').state
    const accepted = { ballot: { counter: 3, proposer: 'o' }, state: other }
    for (const s of prep.slice(0, 2)) p.replied(s.id, { t: 'promise', ballot: ballotOf(s), accepted }, 3)
    const acc = sends(p.takeActions())
    assert.deepEqual(stateOf(acc[0]!), other, 'cas(0) on a present key: conflict, nothing new to write')
    for (const s of acc.slice(0, 2)) p.replied(s.id, { t: 'accepted', ballot: ballotOf(s) }, 4)
    assert.deepEqual(dones(p.takeActions())[0]?.answer, { t: 'conflict', version: 1 })
  })

  it('an earlier accept scrolled out of the effect log: the outcome is unknown, so unavailable', () => {
    const p = proposer()
    p.submit(1, { t: 'put', key: 'k', value: bytes('x') }, target, 0)
    let prep = sends(p.takeActions())
    for (const s of prep.slice(0, 2)) p.replied(s.id, { t: 'promise', ballot: ballotOf(s) }, 1)
    for (const s of sends(p.takeActions())) p.replied(s.id, { t: 'failed', reason: 'lost' }, 2)
    p.tick(p.nextWakeAt()!)
    prep = sends(p.takeActions())
    let s: KvState = ABSENT
    for (let i = 0; i <= EFFECT_LOG_LENGTH; i++) s = applyRequest(s, { t: 'delete', key: 'k' }, 'o').state
    for (let i = 0; i <= EFFECT_LOG_LENGTH; i++) {
      s = applyRequest(s, { t: 'put', key: 'k', value: bytes('o') }, `o#${i}`).state
    }
    const accepted = { ballot: { counter: 3, proposer: 'o' }, state: s }
    for (const x of prep.slice(0, 2)) p.replied(x.id, { t: 'promise', ballot: ballotOf(x), accepted }, 3)
    const [done] = dones(p.takeActions())
    assert.equal(done?.answer.t, 'unavailable')
    assert.ok(done?.answer.t === 'unavailable' && done.answer.acceptSent)
    assert.match(done?.answer.t === 'unavailable' ? done.answer.reason : '', /outcome unknown/)
  })

  it('a phase with no answers at all starts over after the attempt timeout', () => {
    const p = proposer({ attemptTimeoutMs: 100 })
    p.submit(1, { t: 'delete', key: 'k' }, target, 0)
    p.takeActions()
    assert.equal(p.nextWakeAt(), 100)
    p.tick(100)
    assert.deepEqual(p.takeActions(), [], 'backing off')
    p.tick(p.nextWakeAt()!)
    assert.equal(sends(p.takeActions()).length, 3)
  })

  it('a stale reply with a newer epoch: adopts that group and starts over there', () => {
    const p = proposer()
    p.submit(1, { t: 'get', key: 'k' }, target, 0)
    const prep = sends(p.takeActions())
    const next = { epoch: 2, members: ['b', 'c', 'd', 'e', 'f'] }
    p.replied(prep[0]!.id, { t: 'stale', config: next }, 1)
    const out = p.takeActions()
    assert.deepEqual(out[0], { type: 'config', range: 0, config: next }, 'the map hears of it')
    const again = sends(out)
    assert.deepEqual(
      again.map((s) => [s.to, s.msg.epoch]),
      next.members.map((m) => [m, 2]),
    )
  })

  it('bad requests are answered invalid at once, nothing sent', () => {
    const p = proposer()
    p.submit(1, { t: 'put', key: 'k'.repeat(1025), value: bytes('x') }, target, 0)
    p.submit(2, { t: 'put', key: 'k', value: new Uint8Array((1 << 20) + 1) }, target, 0)
    p.submit(3, { t: 'cas', key: 'k', expect: -1, value: bytes('x') }, target, 0)
    p.submit(4, { t: 'get', key: '\udc00' }, target, 0)
    assert.deepEqual(
      p.takeActions().map((a) => (a.type === 'done' && a.answer.t === 'invalid' ? a.answer.code : a.type)),
      ['ERR_KV_KEY_TOO_LONG', 'ERR_KV_VALUE_TOO_LARGE', 'ERR_KV_BAD_EXPECT', 'ERR_KV_KEY_NOT_UTF8'],
    )
  })

  it('a malformed reply counts as no answer; it does not throw', () => {
    const p = proposer()
    p.submit(1, { t: 'delete', key: 'k' }, target, 0)
    const prep = sends(p.takeActions())
    const junk = { t: 'promise', ballot: ballotOf(prep[0]!), accepted: { ballot: 'x', state: {} } }
    assert.equal(p.replied(prep[0]!.id, junk as never, 1), true)
    assert.equal(p.replied(prep[1]!.id, { t: 'nonsense' } as never, 1), true)
    assert.deepEqual(p.takeActions(), [], 'two refusals of three: backing off')
    assert.equal(p.stats().retries, 1)
  })

  it('ballots strictly increase, above every counter seen', () => {
    const p = proposer()
    p.submit(1, { t: 'delete', key: 'k' }, target, 0)
    p.submit(2, { t: 'delete', key: 'k' }, target, 0)
    const [a, , , b] = sends(p.takeActions())
    assert.deepEqual([ballotOf(a!).counter, ballotOf(b!).counter], [1, 2])
    p.replied(a!.id, { t: 'reject', promised: { counter: 40, proposer: 'q' } }, 1)
    p.submit(3, { t: 'delete', key: 'j' }, target, 1)
    assert.equal(ballotOf(sends(p.takeActions())[0]!).counter, 41)
  })

  it('a get whose peeks show one ballot at a majority answers from it: no prepare, no accept', () => {
    const p = proposer()
    p.submit(1, { t: 'get', key: 'k' }, target, 0)
    const peeks = sends(p.takeActions())
    assert.deepEqual(
      peeks.map((x) => x.msg.t),
      ['peek', 'peek', 'peek'],
    )
    const chosen = { ballot: { counter: 7, proposer: 'q' }, state: state(3, 'v') }
    p.replied(peeks[0]!.id, { t: 'peeked', accepted: chosen }, 1)
    assert.deepEqual(p.takeActions(), [], 'one is not a majority')
    p.replied(peeks[2]!.id, { t: 'peeked', accepted: chosen }, 2)
    assert.deepEqual(dones(p.takeActions())[0]?.answer, { t: 'found', value: bytes('v'), version: 3 })
  })

  it('a get: a majority that accepted nothing means absent; a snapshot state (zero ballot) needs a full round', () => {
    const p = proposer()
    p.submit(1, { t: 'get', key: 'k' }, target, 0)
    const peeks = sends(p.takeActions())
    p.replied(peeks[0]!.id, { t: 'peeked' }, 1)
    p.replied(peeks[1]!.id, { t: 'peeked' }, 1)
    assert.deepEqual(dones(p.takeActions())[0]?.answer, { t: 'notFound', version: 0 })

    p.submit(2, { t: 'get', key: 'k' }, target, 2)
    const again = sends(p.takeActions())
    const snap = { ballot: { counter: 0, proposer: '' }, state: state(2, 's') }
    for (const x of again) p.replied(x.id, { t: 'peeked', accepted: snap }, 3)
    assert.deepEqual(
      sends(p.takeActions()).map((x) => x.msg.t),
      ['prepare', 'prepare', 'prepare'],
      'snapshot states may differ between members under the zero ballot',
    )
  })

  it('the next change of a key it just changed skips phase 1: accept under the promised next ballot', () => {
    const p = proposer()
    p.submit(1, { t: 'put', key: 'k', value: bytes('x') }, target, 0)
    const prep = sends(p.takeActions())
    for (const x of prep) p.replied(x.id, { t: 'promise', ballot: ballotOf(x) }, 1)
    const acc = sends(p.takeActions())
    assert.ok(
      acc.every((x) => x.msg.t === 'accept' && x.msg.next === true),
      'accepts ask for the next promise',
    )
    for (const x of acc) p.replied(x.id, { t: 'accepted', ballot: ballotOf(x) }, 2)
    assert.deepEqual(dones(p.takeActions())[0]?.answer, { t: 'ok', version: 1 })

    p.submit(2, { t: 'put', key: 'k', value: bytes('y') }, target, 3)
    const fast = sends(p.takeActions())
    assert.deepEqual(
      fast.map((x) => x.msg.t),
      ['accept', 'accept', 'accept'],
      'no prepare',
    )
    assert.deepEqual(ballotOf(fast[0]!), { counter: ballotOf(acc[0]!).counter + 1, proposer: 'p' })
    assert.equal(stateOf(fast[0]!).version, 2, 'built on the state it had chosen')
    // refused (someone prepared higher meanwhile): a full round, with a fresh ballot above it
    for (const x of fast) p.replied(x.id, { t: 'reject', promised: { counter: 9, proposer: 'q' } }, 4)
    p.tick(p.nextWakeAt()!)
    const again = sends(p.takeActions())
    assert.ok(again.every((x) => x.msg.t === 'prepare' && ballotOf(x).counter === 10))
  })

  it('a ballot another request of this proposer may hold is never kept for the next change (found on real daemons)', () => {
    const p = proposer()
    p.submit(1, { t: 'put', key: 'k', value: bytes('x') }, target, 0)
    const prep1 = sends(p.takeActions())
    p.submit(2, { t: 'put', key: 'k', value: bytes('y') }, target, 0)
    const prep2 = sends(p.takeActions())
    assert.equal(ballotOf(prep2[0]!).counter, ballotOf(prep1[0]!).counter + 1, 'op 2 holds the next counter')
    for (const x of prep1) p.replied(x.id, { t: 'promise', ballot: ballotOf(x) }, 1)
    for (const x of sends(p.takeActions())) p.replied(x.id, { t: 'accepted', ballot: ballotOf(x) }, 2)
    assert.equal(dones(p.takeActions())[0]?.answer.t, 'ok')
    p.submit(3, { t: 'put', key: 'k', value: bytes('z') }, target, 3)
    const third = sends(p.takeActions())
    assert.ok(
      third.every((x) => x.msg.t === 'prepare' && ballotOf(x).counter > ballotOf(prep2[0]!).counter),
      'a full round above every ballot made: op 2 may be accepting under counter + 1',
    )
  })
})
