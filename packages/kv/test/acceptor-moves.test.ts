import assert from 'node:assert/strict'
import {
  type AcceptorRecord,
  type Ballot,
  type GroupConfig,
  KvAcceptor,
  type KvReply,
  type KvState,
  type TransitionValue,
  ZERO_BALLOT,
} from '../src/index.js'
import { state } from './helpers.js'

const RANGE = 5
const config: GroupConfig = { epoch: 3, members: ['a', 'b', 'c'] }
const next: GroupConfig = { epoch: 4, members: ['a', 'b', 'd'] }
const b = (counter: number, proposer = 'p'): Ballot => ({ counter, proposer })
const m = (counter: number) => b(counter, 'mover')

const prepare = (ballot: Ballot, key = 'k', epoch = 3) => ({ t: 'prepare', range: RANGE, epoch, key, ballot })
const accept = (ballot: Ballot, s: KvState, key = 'k', epoch = 3) => ({
  t: 'accept',
  range: RANGE,
  epoch,
  key,
  ballot,
  state: s,
})
const seal = (ballot: Ballot, epoch = 3) => ({ t: 'seal', range: RANGE, epoch, ballot })
const commit = (ballot: Ballot, value: TransitionValue, epoch = 3) => ({
  t: 'commit',
  range: RANGE,
  epoch,
  ballot,
  value,
})
const install = (value: TransitionValue) => ({
  t: 'install',
  range: RANGE,
  epoch: value.next.epoch - 1,
  value,
})
const transition = (to: GroupConfig, snapshot: [string, KvState][] = []): TransitionValue => ({
  next: to,
  snapshot: snapshot.map(([key, s]) => ({ key, state: s })),
})

/** An acceptor whose every write becomes durable at once; `disk` keeps what it wrote, in order. */
class Durable {
  readonly disk: AcceptorRecord[] = []
  readonly acc: KvAcceptor

  constructor(id: string, restore?: AcceptorRecord[]) {
    this.acc = new KvAcceptor({ id, ...(restore ? { restore } : {}) })
  }

  found(range = RANGE, c = config): this {
    this.acc.found(range, c)
    this.drain()
    return this
  }

  /** Feeds one request; returns its reply and how many writes it took. */
  ask(msg: unknown): KvReply {
    this.acc.receive(1, msg, 0)
    const replies = this.drain()
    assert.equal(replies.length, 1)
    return replies[0]!
  }

  private drain(): KvReply[] {
    const out: KvReply[] = []
    for (let as = this.acc.takeActions(); as.length > 0; as = this.acc.takeActions()) {
      for (const a of as) {
        if (a.type === 'reply') out.push(a.reply)
        else {
          this.disk.push(...a.records)
          this.acc.persisted(a.batch, 0)
        }
      }
    }
    return out
  }
}

/** Acceptor `id`, a member of range 5 at epoch 3, with k accepted at v2 and j promised only. */
function member(id = 'a'): Durable {
  const d = new Durable(id).found()
  d.ask(accept(b(2), state(2, 'x')))
  d.ask(prepare(b(4), 'j'))
  return d
}

describe('KvAcceptor: a range moved (seal, commit, install)', () => {
  it('found: genesis once; a range already known is not founded again', () => {
    const d = new Durable('a')
    assert.equal(d.acc.found(RANGE, config), true)
    assert.equal(d.acc.found(RANGE, { epoch: 1, members: ['a'] }), false)
    assert.deepEqual(d.acc.configOf(RANGE), config)
    assert.deepEqual(d.ask(prepare(b(1), 'k', 3)), { t: 'promise', ballot: b(1) })
  })

  it('seal: answers every accepted key with its ballot, then freezes the keys', () => {
    const d = member()
    assert.deepEqual(d.ask(seal(m(1))), {
      t: 'sealed',
      ballot: m(1),
      entries: [{ key: 'k', accepted: { ballot: b(2), state: state(2, 'x') } }],
    })
    assert.equal(d.acc.rangeRecord(RANGE)?.sealed?.counter, 1)
    assert.deepEqual(d.ask(prepare(b(9))), { t: 'frozen' })
    assert.deepEqual(d.ask(accept(b(9), state(3, 'y'))), { t: 'frozen' })
    assert.deepEqual(d.ask(prepare(b(9), 'new-key')), { t: 'frozen' }, 'a key never seen too')
    assert.deepEqual(d.acc.record(RANGE, 'k')?.accepted?.state, state(2, 'x'), 'nothing changed')
    assert.deepEqual([...d.acc.served()][0]?.frozen, true)
  })

  it('seal: a lower or equal seal ballot is refused with the seal promised; a higher one is promised', () => {
    const d = member()
    d.ask(seal(m(5)))
    assert.deepEqual(d.ask(seal(m(5))), { t: 'reject', promised: m(5) })
    assert.deepEqual(d.ask(seal(m(4))), { t: 'reject', promised: m(5) })
    assert.deepEqual(d.ask(seal(b(5, 'a-mover'))), { t: 'reject', promised: m(5) }, "'a-mover' < 'mover'")
    const again = d.ask(seal(m(6)))
    assert.equal(again.t === 'sealed' && again.entries.length, 1)
    assert.deepEqual(d.acc.rangeRecord(RANGE)?.sealed, m(6))
  })

  it('seal and commit are independent of the keys’ ballots (their own Paxos instance)', () => {
    const d = member()
    d.ask(prepare(b(50)))
    assert.equal(d.ask(seal(m(1))).t, 'sealed', 'a seal below a key’s promise is still a first seal')
  })

  it('commit: accepted at or above the seal promise, refused below; the answer to the next seal carries it', () => {
    const d = member()
    const t = transition(next, [['k', state(2, 'x')]])
    d.ask(seal(m(5)))
    assert.deepEqual(d.ask(commit(m(4), t)), { t: 'reject', promised: m(5) })
    assert.equal(d.acc.rangeRecord(RANGE)?.transition, undefined)
    assert.deepEqual(d.ask(commit(m(5), t)), { t: 'committed', ballot: m(5) })
    assert.deepEqual(d.acc.rangeRecord(RANGE)?.transition, { ballot: m(5), value: t })
    const other = transition({ epoch: 4, members: ['a', 'c', 'e'] })
    assert.deepEqual(d.ask(commit(m(7), other)), { t: 'committed', ballot: m(7) }, 'above: accepted')
    assert.deepEqual(d.acc.rangeRecord(RANGE)?.sealed, m(7), 'and the promise rises with it')
    assert.deepEqual(d.ask(commit(m(6), t)), { t: 'reject', promised: m(7) })
    const sealed = d.ask(seal(m(8)))
    assert.deepEqual(sealed.t === 'sealed' && sealed.transition, { ballot: m(7), value: other })
  })

  it('commit without an earlier seal here: accepted, and the keys freeze with it', () => {
    const d = member()
    const t = transition(next)
    assert.deepEqual(d.ask(commit(m(1), t)), { t: 'committed', ballot: m(1) })
    assert.deepEqual(d.ask(prepare(b(9))), { t: 'frozen' })
  })

  it('install at a member: the snapshot’s states under the zero ballot at the new epoch', () => {
    const d = member('a')
    d.ask(seal(m(1)))
    const t = transition(next, [
      ['k', state(2, 'x')],
      ['z', state(7)],
    ])
    assert.deepEqual(d.ask(install(t)), { t: 'installed', epoch: 4 })
    assert.deepEqual(d.acc.configOf(RANGE), next)
    assert.deepEqual(d.acc.rangeRecord(RANGE), {
      t: 'range',
      range: RANGE,
      config: next,
      arrival: { from: 3, value: t },
    })
    assert.deepEqual(d.acc.record(RANGE, 'k'), {
      t: 'key',
      range: RANGE,
      epoch: 4,
      key: 'k',
      promised: ZERO_BALLOT,
      accepted: { ballot: ZERO_BALLOT, state: state(2, 'x') },
    })
    assert.equal(d.acc.record(RANGE, 'j'), undefined, 'a key the snapshot lacks starts absent')
    assert.deepEqual(d.ask(prepare(b(1), 'z', 4)), {
      t: 'promise',
      ballot: b(1),
      accepted: { ballot: ZERO_BALLOT, state: state(7) },
    })
    assert.deepEqual(d.ask(prepare(b(9), 'k', 3)), { t: 'stale', config: next }, 'the old epoch redirects')
    assert.deepEqual(d.ask(prepare(b(9), 'k', 5)), { t: 'behind', epoch: 4 })
    assert.deepEqual([...d.acc.served()], [{ range: RANGE, config: next, keys: 2, frozen: false }])
  })

  it('install at a newcomer that never held the range', () => {
    const d = new Durable('d')
    assert.deepEqual(d.ask(prepare(b(1), 'k', 4)), { t: 'behind', epoch: 0 })
    const t = transition(next, [['k', state(3, 'y')]])
    assert.deepEqual(d.ask(install(t)), { t: 'installed', epoch: 4 })
    assert.equal(d.acc.record(RANGE, 'k')?.accepted?.state.version, 3)
    assert.equal(d.acc.stats().installs, 1)
  })

  it('install at a leaver: it keeps only where the range went and answers stale {next}', () => {
    const d = member('c')
    d.ask(seal(m(1)))
    const t = transition(next, [['k', state(2, 'x')]])
    assert.deepEqual(d.ask(install(t)), { t: 'installed', epoch: 4 })
    assert.deepEqual(d.acc.rangeRecord(RANGE), { t: 'range', range: RANGE, config: next })
    assert.equal(d.acc.record(RANGE, 'k'), undefined)
    assert.deepEqual(d.ask(prepare(b(9), 'k', 3)), { t: 'stale', config: next })
    assert.deepEqual(d.ask(prepare(b(9), 'k', 4)), { t: 'stale', config: next }, 'not a member at 4')
    assert.deepEqual(d.ask(seal(m(9))), { t: 'stale', config: next }, 'a re-seal of 3: stale, not moved')
    assert.deepEqual([...d.acc.served()], [])
    assert.equal(d.acc.stats().ranges, 0)
  })

  it('install at or below the current epoch: answers installed with the epoch held, changes nothing', () => {
    const d = member('a')
    const t = transition(next, [['k', state(2, 'x')]])
    d.ask(install(t))
    d.ask(accept(b(3), state(3, 'w'), 'k', 4))
    const writes = d.disk.length
    const conflicting = transition({ epoch: 4, members: ['a', 'c', 'e'] }, [['k', state(9, 'no')]])
    assert.deepEqual(d.ask(install(conflicting)), { t: 'installed', epoch: 4 })
    const older = transition({ epoch: 3, members: ['a', 'q', 'r'] })
    assert.deepEqual(d.ask(install(older)), { t: 'installed', epoch: 4 })
    assert.equal(d.disk.length, writes, 'nothing written')
    assert.deepEqual(d.acc.configOf(RANGE), next)
    assert.deepEqual(d.acc.record(RANGE, 'k')?.accepted?.state, state(3, 'w'))
  })

  it('an install may skip epochs (a chosen transition further on)', () => {
    const d = member('a')
    const far = transition({ epoch: 6, members: ['a', 'x', 'y'] }, [['k', state(8, 'far')]])
    assert.deepEqual(d.ask(install(far)), { t: 'installed', epoch: 6 })
    assert.equal(d.acc.record(RANGE, 'k')?.epoch, 6)
  })

  it('moved: a re-seal of the epoch a member arrived from answers with the chosen transition', () => {
    const d = member('a')
    const t = transition(next, [['k', state(2, 'x')]])
    d.ask(install(t))
    assert.deepEqual(d.ask(seal(m(20), 3)), { t: 'moved', value: t })
    assert.deepEqual(d.ask(commit(m(20), transition(next), 3)), { t: 'stale', config: next })
    assert.deepEqual(d.ask(seal(m(20), 2)), { t: 'stale', config: next }, 'an older epoch: stale')
    d.ask(seal(m(1), 4))
    const further = transition({ epoch: 5, members: ['b', 'd', 'e'] })
    d.ask(install(further))
    assert.deepEqual(d.ask(seal(m(30), 4)), { t: 'stale', config: further.next }, 'a leaver: stale')
  })

  it('a range refusal waits until the range record it shows is durable (found by the sim, seed 479)', () => {
    // `stale` showing an install still being written: a crash could take that epoch back
    const d = member('a')
    d.acc.receive(1, install(transition(next, [['k', state(2, 'x')]])), 0)
    const [write] = d.acc.takeActions()
    assert.equal(write?.type, 'persist', 'the install is being written')
    d.acc.receive(2, prepare(b(9), 'k', 3), 0)
    assert.deepEqual(d.acc.takeActions(), [], 'held')
    d.acc.persisted((write as { batch: number }).batch, 1)
    assert.deepEqual(
      d.acc.takeActions().filter((a) => a.type === 'reply' && a.id === 2),
      [{ type: 'reply', id: 2, reply: { t: 'stale', config: next } }],
    )
  })

  it('a peek waits until the range record it shows is durable (found by the sim, seed 337)', () => {
    // `peeked` at an epoch whose install is still being written: a crash took that epoch back
    const d = member('a')
    d.acc.receive(1, install(transition(next, [['k', state(2, 'x')]])), 0)
    const [write] = d.acc.takeActions()
    assert.equal(write?.type, 'persist', 'the install is being written')
    d.acc.receive(2, { t: 'peek', range: RANGE, epoch: next.epoch, key: 'other' }, 0)
    assert.deepEqual(d.acc.takeActions(), [], 'held')
    d.acc.persisted((write as { batch: number }).batch, 1)
    const replies = d.acc.takeActions().filter((a) => a.type === 'reply' && a.id === 2)
    assert.deepEqual(replies, [{ type: 'reply', id: 2, reply: { t: 'peeked' } }])
  })

  it('a sweep’s listing waits until the range record it shows is durable (same class)', () => {
    // `listed` at an epoch whose install is still being written: a crash could take that epoch back
    const d = member('a')
    d.acc.receive(1, install(transition(next, [['k', state(2)]])), 0)
    const [write] = d.acc.takeActions()
    assert.equal(write?.type, 'persist', 'the install is being written')
    d.acc.receive(2, { t: 'tombstones', range: RANGE, epoch: next.epoch }, 0)
    assert.deepEqual(d.acc.takeActions(), [], 'held')
    d.acc.persisted((write as { batch: number }).batch, 1)
    const replies = d.acc.takeActions().filter((a) => a.type === 'reply' && a.id === 2)
    assert.equal(replies.length, 1)
    assert.equal((replies[0] as { reply: { t: string } }).reply.t, 'listed')
  })

  it('refusals change nothing and write nothing', () => {
    const d = member('a')
    const writes = d.disk.length
    d.ask(seal(m(1), 2))
    d.ask(seal(m(1), 7))
    d.ask(commit(m(1), transition({ epoch: 8, members: ['a'] }), 7))
    d.ask({ t: 'seal', range: RANGE, epoch: 3 })
    d.ask({ t: 'install', range: RANGE, epoch: 3, value: transition({ epoch: 9, members: ['a'] }) })
    assert.equal(d.disk.length, writes)
    assert.equal(d.acc.rangeRecord(RANGE)?.sealed, undefined)
  })

  it('restore: the range record with its arrival rebuilds the keys; key records of other epochs are ignored', () => {
    const d = member('a')
    d.ask(seal(m(1)))
    d.ask(commit(m(1), transition(next, [['k', state(2, 'x')]])))
    d.ask(
      install(
        transition(next, [
          ['k', state(2, 'x')],
          ['s', state(1, 'snap')],
        ]),
      ),
    )
    d.ask(accept(b(1), state(3, 'after'), 'k', 4))
    d.ask(prepare(b(6), 'fresh', 4))
    const back = new KvAcceptor({ id: 'a', restore: d.disk })
    assert.deepEqual(back.configOf(RANGE), next)
    assert.equal(back.rangeRecord(RANGE)?.arrival?.from, 3)
    assert.deepEqual(back.record(RANGE, 'k')?.accepted, { ballot: b(1), state: state(3, 'after') })
    assert.deepEqual(back.record(RANGE, 's')?.accepted, { ballot: ZERO_BALLOT, state: state(1, 'snap') })
    assert.deepEqual(back.record(RANGE, 'fresh')?.promised, b(6))
    assert.equal(back.record(RANGE, 'j'), undefined, 'j (promised at epoch 3) is not carried')
    assert.equal(back.record(RANGE, 'k')?.epoch, 4)
  })

  it('restore: key records of a later epoch than the range record (a torn batch) are ignored', () => {
    const d = member('a')
    const disk: AcceptorRecord[] = [
      ...d.disk,
      {
        t: 'key',
        range: RANGE,
        epoch: 4,
        key: 'k',
        promised: b(9),
        accepted: { ballot: b(9), state: state(9) },
      },
    ]
    const back = new KvAcceptor({ id: 'a', restore: disk })
    assert.deepEqual(back.configOf(RANGE), config)
    assert.deepEqual(back.record(RANGE, 'k')?.accepted, { ballot: b(2), state: state(2, 'x') })
  })

  it('restore: a sealed range stays sealed (and its accepted transition with it)', () => {
    const d = member('a')
    const t = transition(next)
    d.ask(seal(m(3)))
    d.ask(commit(m(3), t))
    const back = new Durable('a', d.disk)
    assert.deepEqual(back.ask(prepare(b(9))), { t: 'frozen' })
    assert.deepEqual(back.ask(seal(m(3))), { t: 'reject', promised: m(3) })
    const again = back.ask(seal(m(4)))
    assert.deepEqual(again.t === 'sealed' && again.transition, { ballot: m(3), value: t })
  })
})
