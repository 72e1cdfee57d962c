import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import {
  type AcceptorRecord,
  KvAcceptor,
  type KvAnswer,
  type KvMessage,
  KvProposer,
  type KvReply,
  type KvRequest,
  RangeMover,
  TombstoneSweeper,
} from '../src/index.js'
import { bytes } from './helpers.js'

const RANGE = 7
const members = ['a', 'b', 'c']
const config = { epoch: 1, members }

/**
 * Three acceptors on instant disks and links (a member may be cut off), one proposer, one sweeper
 * and one mover, all delivered synchronously: the purge's rules, not its timing, are under test.
 */
class Group {
  readonly acceptors = new Map<string, KvAcceptor>()
  readonly logs = new Map<string, AcceptorRecord[]>()
  readonly down = new Set<string>()
  readonly proposer = new KvProposer({ id: 'p', random: new SeededRandom(1) })
  readonly sweeper = new TombstoneSweeper()
  readonly mover = new RangeMover({ id: 'm', random: new SeededRandom(2) })
  readonly settles: string[] = []
  readonly answers = new Map<number, KvAnswer>()
  private op = 0
  private id = 0

  constructor(ids: string[] = ['a', 'b', 'c', 'd']) {
    for (const id of ids) this.restart(id)
    for (const id of members) this.acceptors.get(id)!.found(RANGE, config)
    this.settle()
  }

  restart(id: string): void {
    const log = this.logs.get(id) ?? []
    this.logs.set(id, log)
    this.acceptors.set(id, new KvAcceptor({ id, restore: log }))
  }

  /** Rewrites `id`'s log from what it holds (compaction), then restarts it from that. */
  compact(id: string): void {
    this.logs.set(id, [...this.acceptors.get(id)!.records()])
    this.restart(id)
  }

  run(req: KvRequest, opts: { fullRound?: boolean } = {}, cfg = config): KvAnswer {
    const op = ++this.op
    this.proposer.submit(op, req, { range: RANGE, config: cfg }, 0, opts)
    this.settle()
    return this.answers.get(op)!
  }

  sweep(cfg = config): void {
    this.sweeper.sweep(RANGE, cfg, 0)
    this.settle()
  }

  /** What `id` answers to `msg`, synchronously. */
  ask(id: string, msg: KvMessage): KvReply | undefined {
    if (this.down.has(id)) return undefined
    const rid = ++this.id
    this.acceptors.get(id)!.receive(rid, msg, 0)
    return this.drain(id).get(rid)
  }

  /** Makes `id`'s writes durable at once; the replies it gave, by request id. */
  private drain(id: string): Map<number, KvReply> {
    const acceptor = this.acceptors.get(id)!
    const replies = new Map<number, KvReply>()
    for (let actions = acceptor.takeActions(); actions.length > 0; actions = acceptor.takeActions()) {
      for (const a of actions) {
        if (a.type === 'reply') replies.set(a.id, a.reply)
        else {
          this.logs.get(id)!.push(...a.records)
          acceptor.persisted(a.batch, 0)
        }
      }
    }
    return replies
  }

  settle(): void {
    for (let busy = true; busy; ) {
      busy = false
      for (const a of this.proposer.takeActions()) {
        busy = true
        if (a.type === 'send') this.proposer.replied(a.id, this.reply(a.to, a.msg), 0)
        else if (a.type === 'done') this.answers.set(a.op, a.answer)
      }
      for (const a of this.sweeper.takeActions()) {
        busy = true
        if (a.type === 'send') this.sweeper.replied(a.id, this.reply(a.to, a.msg), 0)
        else if (a.type === 'settle') this.settles.push(a.key)
      }
      for (const a of this.mover.takeActions()) {
        busy = true
        if (a.type === 'send') this.mover.replied(a.id, this.reply(a.to, a.msg), 0)
      }
      for (const id of this.acceptors.keys()) this.drain(id)
    }
  }

  private reply(to: string, msg: KvMessage): KvReply | { t: 'failed'; reason: string } {
    return this.ask(to, msg) ?? { t: 'failed', reason: 'down' }
  }
}

const put = (key: string, value: string): KvRequest => ({ t: 'put', key, value: bytes(value) })
const get = (key: string): KvRequest => ({ t: 'get', key })
const del = (key: string): KvRequest => ({ t: 'delete', key })

function putDeleteSweep(g: Group): void {
  assert.deepEqual(g.run(put('k', 'v1')), { t: 'ok', version: 1 })
  assert.deepEqual(g.run(put('k', 'v2')), { t: 'ok', version: 2 })
  assert.deepEqual(g.run(del('k')), { t: 'ok', version: 3 })
}

describe('tombstone purge (sweeper + acceptor floors)', () => {
  it('a tombstone every member holds is forgotten on the second sweep; the key comes back above it', () => {
    const g = new Group()
    putDeleteSweep(g)
    g.sweep()
    assert.ok(g.acceptors.get('a')!.record(RANGE, 'k'), 'one sweep only notes it')
    g.sweep()
    for (const id of members) assert.equal(g.acceptors.get(id)!.record(RANGE, 'k'), undefined, id)
    assert.equal(g.acceptors.get('a')!.stats().purged, 1)
    assert.deepEqual(g.run(get('k')), { t: 'notFound', version: 3 })
    assert.deepEqual(g.run({ t: 'cas', key: 'k', expect: 0, value: bytes('again') }), { t: 'ok', version: 4 })
  })

  it('the floor is the range’s: a purged key comes back above every tombstone purged there', () => {
    const g = new Group()
    for (let i = 0; i < 5; i++) g.run(put('busy', `v${i}`))
    g.run(del('busy')) // version 6
    g.run(put('k', 'x'))
    g.run(del('k')) // version 2
    g.sweep()
    g.sweep()
    assert.deepEqual(g.run(get('k')), { t: 'notFound', version: 6 })
    assert.deepEqual(g.run(put('k', 'y')), { t: 'ok', version: 7 })
    assert.deepEqual(g.run(get('never')), { t: 'notFound', version: 6 })
  })

  it('a member that missed the delete blocks the purge; a settle brings it level, then it goes', () => {
    const g = new Group()
    g.run(put('k', 'v1'))
    g.down.add('c')
    g.run(del('k'))
    g.down.delete('c')
    g.sweep()
    g.sweep()
    assert.deepEqual(g.settles, ['k'], 'listed by a and b only, twice')
    assert.ok(g.acceptors.get('a')!.record(RANGE, 'k'))
    assert.equal(g.run(get('k'), { fullRound: true }).t, 'notFound')
    g.sweep()
    g.sweep()
    for (const id of members) assert.equal(g.acceptors.get(id)!.record(RANGE, 'k'), undefined, id)
    // c alone could no longer show v1: with a and b it answers the floor
    g.down.add('a')
    assert.deepEqual(g.run(get('k')), { t: 'notFound', version: 2 })
  })

  it('a purge names the ballot: a key written again since is not forgotten', () => {
    const g = new Group()
    putDeleteSweep(g)
    g.sweep()
    const listed = g.ask('a', { t: 'tombstones', range: RANGE, epoch: 1 })
    assert.equal(listed?.t, 'listed')
    const entries = (listed as KvReply & { t: 'listed' }).entries
    g.run(put('k', 'alive'))
    const reply = g.ask('a', { t: 'purge', range: RANGE, epoch: 1, entries })
    assert.deepEqual(reply, { t: 'purged', count: 0 })
    assert.deepEqual(g.run(get('k')), { t: 'found', value: bytes('alive'), version: 4 })
  })

  it('a forgotten promise is kept: a ballot the tombstone’s promise refused is refused after', () => {
    const g = new Group()
    putDeleteSweep(g)
    const promised = g.acceptors.get('a')!.record(RANGE, 'k')!.promised
    g.sweep()
    g.sweep()
    const low = { counter: promised.counter, proposer: promised.proposer }
    const reply = g.ask('a', {
      t: 'accept',
      range: RANGE,
      epoch: 1,
      key: 'k',
      ballot: { ...low, counter: 1 },
      state: { version: 9, value: bytes('x'), effects: [] },
    })
    assert.equal(reply?.t, 'reject')
  })

  it('survives a restart from its log and from a compacted log, torn after any record', () => {
    const g = new Group()
    putDeleteSweep(g)
    g.sweep()
    g.sweep()
    g.restart('a')
    assert.equal(g.acceptors.get('a')!.record(RANGE, 'k'), undefined)
    g.compact('b')
    assert.equal(g.acceptors.get('b')!.record(RANGE, 'k'), undefined)
    assert.deepEqual(g.run(get('k')), { t: 'notFound', version: 3 })
    // every prefix of a's log restores a state that never shows v2 under a real ballot with v3 lost
    const log = g.logs.get('c')!
    for (let n = 0; n <= log.length; n++) {
      const a = new KvAcceptor({ id: 'c', restore: log.slice(0, n) })
      const k = a.record(RANGE, 'k')
      const floor = a.rangeRecord(RANGE)?.floor
      if (k === undefined && floor !== undefined) assert.ok(floor.version >= 3, `prefix ${n}`)
    }
  })

  it('a move carries the floor: the key comes back above it in the next configuration', () => {
    const g = new Group()
    putDeleteSweep(g)
    g.sweep()
    g.sweep()
    g.mover.start(RANGE, config, ['b', 'c', 'd'], 0)
    g.settle()
    const next = g.acceptors.get('d')!.configOf(RANGE)
    assert.deepEqual(next, { epoch: 2, members: ['b', 'c', 'd'] })
    assert.deepEqual(g.run(get('k'), {}, next), { t: 'notFound', version: 3 })
    assert.deepEqual(g.run(put('k', 'back'), {}, next), { t: 'ok', version: 4 })
  })
})
