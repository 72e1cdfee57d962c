import assert from 'node:assert/strict'
import {
  ABSENT,
  applyRequest,
  compareBallots,
  EFFECT_LOG_LENGTH,
  effectAt,
  type KvState,
  oldestLogged,
  ZERO_BALLOT,
} from '../src/index.js'
import { bytes, state, text } from './helpers.js'

const put = (s: KvState, v: string, by = 'p#1') =>
  applyRequest(s, { t: 'put', key: 'k', value: bytes(v) }, by)
const get = (s: KvState) => applyRequest(s, { t: 'get', key: 'k' }, 'p#1')
const del = (s: KvState, by = 'p#1') => applyRequest(s, { t: 'delete', key: 'k' }, by)
const cas = (s: KvState, expect: number, v: string) =>
  applyRequest(s, { t: 'cas', key: 'k', expect, value: bytes(v) }, 'p#1')

describe('register: the change functions are the checker’s model', () => {
  it('a key starts absent at version 0; get answers notFound with the version', () => {
    assert.deepEqual(get(ABSENT), { state: ABSENT, answer: { t: 'notFound', version: 0 }, effect: false })
  })

  it('put sets the value at version + 1; get reads value and version without a change', () => {
    const a = put(ABSENT, 'x')
    assert.deepEqual(a.answer, { t: 'ok', version: 1 })
    assert.equal(text(a.state.value), 'x')
    const g = get(a.state)
    assert.equal(g.state, a.state)
    assert.equal(g.effect, false)
    assert.deepEqual(g.answer, { t: 'found', value: bytes('x'), version: 1 })
  })

  it('delete leaves a tombstone one version up; the version counter survives it', () => {
    const d = del(state(3, 'x'))
    assert.deepEqual(d.answer, { t: 'ok', version: 4 })
    assert.equal(d.state.value, undefined)
    assert.deepEqual(get(d.state).answer, { t: 'notFound', version: 4 })
    assert.deepEqual(put(d.state, 'y').answer, { t: 'ok', version: 5 }, 'never reuses a version')
  })

  it('delete of an absent key changes nothing and answers notFound with the tombstone’s version', () => {
    const tomb = state(4)
    const d = del(tomb)
    assert.equal(d.state, tomb)
    assert.deepEqual(d.answer, { t: 'notFound', version: 4 })
  })

  it('cas(0) holds iff absent, at a tombstone too; cas(n) iff present at version n', () => {
    assert.deepEqual(cas(ABSENT, 0, 'a').answer, { t: 'ok', version: 1 })
    assert.deepEqual(cas(state(4), 0, 'a').answer, { t: 'ok', version: 5 })
    assert.deepEqual(cas(state(4, 'x'), 0, 'a').answer, { t: 'conflict', version: 4 })
    assert.deepEqual(cas(state(4, 'x'), 4, 'a').answer, { t: 'ok', version: 5 })
    assert.deepEqual(cas(state(4, 'x'), 3, 'a').answer, { t: 'conflict', version: 4 })
    assert.deepEqual(cas(state(4), 4, 'a').answer, { t: 'conflict', version: 4 }, 'a tombstone is absent')
    assert.equal(cas(state(4, 'x'), 3, 'a').effect, false)
  })

  it('remembers the last effects with their makers, oldest scrolling out', () => {
    let s = ABSENT
    for (let i = 1; i <= EFFECT_LOG_LENGTH + 3; i++) s = put(s, `v${i}`, `p#${i}`).state
    assert.equal(s.effects.length, EFFECT_LOG_LENGTH)
    assert.equal(oldestLogged(s), 4)
    assert.equal(effectAt(s, 4)?.by, 'p#4')
    assert.equal(effectAt(s, 3), undefined)
    assert.equal(del(s, 'q#1').state.effects.at(-1)?.by, 'q#1')
    assert.equal(oldestLogged(ABSENT), 1)
  })
})

describe('ballots', () => {
  it('order by counter, then proposer id; zero is below all', () => {
    const b = (counter: number, proposer: string) => ({ counter, proposer })
    assert.ok(compareBallots(b(2, 'a'), b(1, 'z')) > 0)
    assert.ok(compareBallots(b(1, 'a'), b(1, 'b')) < 0)
    assert.equal(compareBallots(b(1, 'a'), b(1, 'a')), 0)
    assert.ok(compareBallots(ZERO_BALLOT, b(1, '')) < 0)
  })
})
