import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import {
  type Ballot,
  type GroupConfig,
  KvAcceptor,
  type KvMessage,
  type KvReply,
  type MoveOutcome,
  type MoverAction,
  RangeMover,
  type RangeMoverInit,
  type TransitionValue,
} from '../src/index.js'
import { state } from './helpers.js'

const RANGE = 9
const from: GroupConfig = { epoch: 2, members: ['a', 'b', 'c'] }
const b = (counter: number, proposer = 'p'): Ballot => ({ counter, proposer })

type Send = MoverAction & { type: 'send' }
type Done = MoverAction & { type: 'done' }
const sends = (as: MoverAction[]) => as.filter((a): a is Send => a.type === 'send')
const outcomes = (as: MoverAction[]) => as.filter((a): a is Done => a.type === 'done').map((d) => d.outcome)
const ballotOf = (s: Send) => (s.msg as { ballot: Ballot }).ballot
const transitionOf = (s: Send) => (s.msg as KvMessage & { t: 'commit' }).value

const mover = (init: Partial<RangeMoverInit> = {}) =>
  new RangeMover({ id: 'm', random: new SeededRandom(1), ...init })

/** Real acceptors wired to a mover with every write durable at once; `down` ones never answer. */
class Bench {
  readonly acceptors = new Map<string, KvAcceptor>()
  readonly down = new Set<string>()
  readonly log: Send[] = []
  readonly done: MoveOutcome[] = []

  constructor(
    ids: string[],
    readonly mover: RangeMover,
  ) {
    for (const id of ids) this.acceptors.set(id, new KvAcceptor({ id }))
  }

  found(c: GroupConfig): this {
    for (const id of c.members) this.acceptors.get(id)!.found(RANGE, c)
    for (const id of c.members) this.ask(id, undefined)
    return this
  }

  /** One request to acceptor `id` (undefined: just drain it); its reply. */
  ask(id: string, msg: unknown): KvReply | undefined {
    const acc = this.acceptors.get(id)!
    if (msg !== undefined) acc.receive(1, msg, 0)
    let reply: KvReply | undefined
    for (let as = acc.takeActions(); as.length > 0; as = acc.takeActions()) {
      for (const a of as) {
        if (a.type === 'reply') reply = a.reply
        else acc.persisted(a.batch, 0)
      }
    }
    return reply
  }

  /** Delivers the mover's sends (and the sends they cause) until it waits for time; then `now`. */
  run(now: number): void {
    for (let as = this.mover.takeActions(); as.length > 0; as = this.mover.takeActions()) {
      this.done.push(...outcomes(as))
      for (const s of sends(as)) {
        this.log.push(s)
        if (this.down.has(s.to)) continue
        this.mover.replied(s.id, this.ask(s.to, s.msg), now)
      }
    }
  }

  /** Ticks the mover at each wake until it is done or `until`. */
  runUntil(until: number): number {
    let t = 0
    this.run(t)
    while (this.mover.nextWakeAt() !== undefined && this.mover.nextWakeAt()! <= until) {
      t = this.mover.nextWakeAt()!
      this.mover.tick(t)
      this.run(t)
    }
    return t
  }

  phases(): string[] {
    return this.log.map((s) => `${s.msg.t}:${s.to}`)
  }
}

describe('RangeMover (seal → commit → install, the coordinator of a range’s move)', () => {
  it('the whole path: seals a majority, commits the highest-ballot states, installs, tells the leaver', () => {
    const bench = new Bench(['a', 'b', 'c', 'd'], mover()).found(from)
    const put = (id: string, key: string, ballot: Ballot, version: number, value: string) =>
      bench.ask(id, { t: 'accept', range: RANGE, epoch: 2, key, ballot, state: state(version, value) })
    put('a', 'k', b(3), 1, 'old')
    put('b', 'k', b(5), 2, 'new')
    put('c', 'k', b(4), 1, 'other')
    put('a', 'j', b(1), 1, 'j')
    assert.equal(bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0), true)
    assert.equal(bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0), false, 'one move per range')
    assert.equal(bench.mover.moving(RANGE), true)
    bench.run(1)
    const next = { epoch: 3, members: ['a', 'b', 'd'] }
    assert.deepEqual(bench.done, [{ t: 'moved', config: next, missing: [] }])
    assert.deepEqual(bench.phases(), [
      'seal:a',
      'seal:b',
      'seal:c',
      'commit:a',
      'commit:b',
      'commit:c',
      'install:a',
      'install:b',
      'install:d',
      'install:c',
    ])
    const committed = transitionOf(bench.log.find((s) => s.msg.t === 'commit')!)
    assert.deepEqual(committed.next, next)
    assert.deepEqual(
      committed.snapshot.map((e) => [
        e.key,
        e.state.version,
        e.state.value && Buffer.from(e.state.value).toString(),
      ]),
      [
        ['k', 2, 'new'],
        ['j', 1, 'j'],
      ],
      'per key the state under the highest ballot among the seals',
    )
    const d = bench.acceptors.get('d')!
    assert.deepEqual(d.configOf(RANGE), next)
    assert.equal(d.record(RANGE, 'k')?.accepted?.state.version, 2)
    assert.deepEqual(bench.ask('c', { t: 'prepare', range: RANGE, epoch: 2, key: 'k', ballot: b(9) }), {
      t: 'stale',
      config: next,
    })
    assert.equal(bench.mover.active, 0)
    assert.equal(bench.mover.nextWakeAt(), undefined)
  })

  it('a `moved` answer to the seal (the move was chosen and installed) skips to installing that one', () => {
    const bench = new Bench(['a', 'b', 'c', 'd', 'e'], mover()).found(from)
    // an earlier move to {a, b, e} was chosen and installed at a
    const chosen: TransitionValue = { next: { epoch: 3, members: ['a', 'b', 'e'] }, snapshot: [] }
    bench.ask('a', { t: 'install', range: RANGE, epoch: 2, value: chosen })
    bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0)
    bench.run(1)
    assert.deepEqual(bench.done, [{ t: 'moved', config: chosen.next, missing: [] }])
    assert.ok(!bench.phases().some((p) => p.startsWith('commit')), 'nothing committed')
    assert.deepEqual(bench.acceptors.get('e')!.configOf(RANGE), chosen.next)
    assert.equal(bench.acceptors.get('d')!.configOf(RANGE), undefined, 'its own members were not used')
  })

  it('a sealed answer carrying an accepted transition: re-proposes that one (Paxos), not its own members', () => {
    const bench = new Bench(['a', 'b', 'c', 'd', 'x', 'y'], mover()).found(from)
    const lower: TransitionValue = { next: { epoch: 3, members: ['a', 'b', 'x'] }, snapshot: [] }
    const higher: TransitionValue = { next: { epoch: 3, members: ['a', 'c', 'y'] }, snapshot: [] }
    bench.ask('a', { t: 'commit', range: RANGE, epoch: 2, ballot: b(1, 'q'), value: lower })
    bench.ask('b', { t: 'commit', range: RANGE, epoch: 2, ballot: b(2, 'r'), value: higher })
    bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0)
    bench.runUntil(10_000) // its first seal (counter 1) is below the commits' ballots: it seals again
    const commits = bench.log.filter((s) => s.msg.t === 'commit')
    assert.ok(commits.length > 0)
    for (const c of commits) assert.deepEqual(transitionOf(c), higher, 'the highest-ballot transition')
    assert.deepEqual(bench.done, [{ t: 'moved', config: higher.next, missing: [] }])
    assert.deepEqual(bench.acceptors.get('y')!.configOf(RANGE), higher.next)
    assert.equal(bench.acceptors.get('d')!.configOf(RANGE), undefined)
  })

  it('a higher seal promised elsewhere: backs off, then seals again above it', () => {
    const bench = new Bench(['a', 'b', 'c', 'd'], mover()).found(from)
    for (const id of ['a', 'b']) bench.ask(id, { t: 'seal', range: RANGE, epoch: 2, ballot: b(9, 'rival') })
    bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0)
    bench.run(1)
    assert.equal(bench.done.length, 0, 'two refusals of three: no majority this attempt')
    const first = bench.log.filter((s) => s.msg.t === 'seal')
    assert.ok(first.every((s) => ballotOf(s).counter === 1))
    const wake = bench.mover.nextWakeAt()!
    assert.ok(wake > 1 && wake <= 101, `a random backoff, up to 100 ms: ${wake}`)
    bench.mover.tick(wake)
    bench.run(wake)
    const second = bench.log.filter((s) => s.msg.t === 'seal').slice(3)
    assert.deepEqual(ballotOf(second[0]!), { counter: 10, proposer: 'm' })
    assert.equal(bench.done[0]?.t, 'moved')
  })

  it('a stale answer with a newer configuration: superseded', () => {
    const bench = new Bench(['a', 'b', 'c'], mover()).found(from)
    const further = { epoch: 4, members: ['x', 'y', 'z'] }
    bench.ask('a', { t: 'install', range: RANGE, epoch: 3, value: { next: further, snapshot: [] } })
    bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0)
    bench.run(1)
    assert.deepEqual(bench.done, [{ t: 'superseded', config: further }])
  })

  it('deadline in install: moved, naming the new member that never confirmed', () => {
    const bench = new Bench(['a', 'b', 'c', 'd'], mover({ deadlineMs: 3000 })).found(from)
    bench.down.add('d')
    bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0)
    const t = bench.runUntil(10_000)
    assert.equal(t, 3000)
    assert.deepEqual(bench.done, [
      { t: 'moved', config: { epoch: 3, members: ['a', 'b', 'd'] }, missing: ['d'] },
    ])
    assert.ok(bench.log.filter((s) => s.msg.t === 'install' && s.to === 'd').length > 2, 'resent meanwhile')
    const toLeaver = bench.log.filter((s) => s.to === 'c' && s.msg.t === 'install')
    assert.equal(toLeaver.length, 1, 'the leaver is told once the deadline ends the install at a majority')
  })

  it('deadline in install with fewer than a majority installed: failed (a later move finishes it)', () => {
    const bench = new Bench(['a', 'b', 'c', 'd', 'e'], mover({ deadlineMs: 2000 })).found(from)
    bench.down.add('d')
    bench.down.add('e')
    bench.mover.start(RANGE, from, ['a', 'd', 'e'], 0)
    bench.runUntil(10_000)
    assert.equal(bench.done.length, 1)
    assert.equal(bench.done[0]?.t, 'failed')
    assert.match(bench.done[0]?.t === 'failed' ? bench.done[0].reason : '', /fewer than a majority/)
    // another mover, out of the same configuration, finds the transition and finishes it
    bench.down.clear()
    const other = new Bench([], new RangeMover({ id: 'm2', random: new SeededRandom(2) }))
    for (const [id, acc] of bench.acceptors) other.acceptors.set(id, acc)
    other.mover.start(RANGE, from, ['b', 'c', 'x'], 0)
    other.run(1)
    assert.deepEqual(other.done, [
      { t: 'moved', config: { epoch: 3, members: ['a', 'd', 'e'] }, missing: [] },
    ])
  })

  it('known gap: chosen, installed at a minority of the new members, its mover gone — no move out of the new epoch can finish', () => {
    // the sim's seed 187 (before the finisher): a resize {a, b, c} → {a, b, c, d, e} chosen by b and
    // c, installed at b and c, its mover crashed; a was never sealed. Clients learn epoch 3 from
    // b's and c's `stale`, so every view holds it — but it needs 3 of 5 members installed.
    const bench = new Bench(['a', 'b', 'c', 'd', 'e'], mover({ deadlineMs: 2000 })).found(from)
    bench.down.add('a')
    bench.down.add('d')
    bench.down.add('e')
    bench.mover.start(RANGE, from, ['a', 'b', 'c', 'd', 'e'], 0)
    bench.runUntil(10_000)
    assert.equal(bench.done[0]?.t, 'failed', 'installed at b and c only')
    bench.down.clear()
    const grown = bench.acceptors.get('b')!.configOf(RANGE)!
    assert.equal(grown.epoch, 3)
    const out = new Bench([], new RangeMover({ id: 'm2', random: new SeededRandom(2), deadlineMs: 2000 }))
    for (const [id, acc] of bench.acceptors) out.acceptors.set(id, acc)
    out.mover.start(RANGE, grown, ['a', 'b', 'c'], 0)
    out.runUntil(10_000)
    assert.equal(out.done[0]?.t, 'failed', 'a, d and e answer behind to a seal at epoch 3')
    // only a move out of epoch 2 — which every view has left behind — finds and finishes it
    const back = new Bench([], new RangeMover({ id: 'm3', random: new SeededRandom(3) }))
    for (const [id, acc] of bench.acceptors) back.acceptors.set(id, acc)
    back.mover.start(RANGE, from, ['a', 'b', 'c'], 0)
    back.run(1)
    assert.deepEqual(back.done, [{ t: 'moved', config: grown, missing: [] }])
  })

  it('deadline without a majority of the old members: failed, nothing chosen', () => {
    const bench = new Bench(['a', 'b', 'c', 'd'], mover({ deadlineMs: 2000 })).found(from)
    bench.down.add('b')
    bench.down.add('c')
    bench.mover.start(RANGE, from, ['a', 'b', 'd'], 0)
    const t = bench.runUntil(10_000)
    assert.ok(t <= 2000)
    assert.equal(bench.done[0]?.t, 'failed')
    assert.ok(!bench.log.some((s) => s.msg.t === 'commit'))
    assert.equal(bench.acceptors.get('a')!.rangeRecord(RANGE)?.transition, undefined)
  })

  it('replies to a phase already over are ignored; malformed replies count as no answer', () => {
    const m = mover()
    m.start(RANGE, from, ['a', 'b', 'd'], 0)
    const seals = sends(m.takeActions())
    assert.equal(m.replied(seals[0]!.id, { t: 'nonsense' }, 1), true)
    assert.equal(m.replied(seals[1]!.id, { t: 'sealed', ballot: 'x', entries: [] }, 1), true)
    assert.equal(m.nextWakeAt()! > 1, true, 'two refusals of three: backing off')
    assert.equal(m.replied(seals[2]!.id, { t: 'sealed', ballot: ballotOf(seals[2]!), entries: [] }, 2), false)
    assert.equal(m.replied(12345, { t: 'installed', epoch: 3 }, 2), false)
  })
})
