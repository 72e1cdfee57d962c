import assert from 'node:assert/strict'
import { SeededRandom } from '@swarmstore/core'
import fc from 'fast-check'
import {
  checkLinearizability,
  type KvOperation,
  type KvValue,
  type LinearizabilityReport,
  MalformedHistoryError,
} from '../src/index.js'

type Result = KvOperation['result']
const ok = (version: number): Result => ({ type: 'ok', version })
const found = (value: KvValue, version: number): Result => ({ type: 'found', value, version })
const notFound = (version?: number): Result =>
  version === undefined ? { type: 'notFound' } : { type: 'notFound', version }
const conflict = (version: number): Result => ({ type: 'conflict', version })
const indeterminate: Result = { type: 'indeterminate' }
const failed: Result = { type: 'failed' }

/** [invokeAt, returnAt]; without returnAt the operation never returned. */
type Span = [invokeAt: number, returnAt?: number]

/** Builds a history, on key "k" unless told; ids count from 1. */
function builder() {
  const ops: KvOperation[] = []
  const add = (client: number, op: string, args: object | undefined, at: Span, result: Result, key = 'k') => {
    const [invokeAt, returnAt] = at
    ops.push({ id: ops.length + 1, client, key, op, args, invokeAt, returnAt, result } as KvOperation)
  }
  return {
    ops,
    put: (c: number, value: KvValue, at: Span, r: Result, key?: string) =>
      add(c, 'put', { value }, at, r, key),
    get: (c: number, at: Span, r: Result, key?: string) => add(c, 'get', undefined, at, r, key),
    del: (c: number, at: Span, r: Result, key?: string) => add(c, 'delete', undefined, at, r, key),
    cas: (c: number, expect: number, value: string, at: Span, r: Result) =>
      add(c, 'cas', { expect, value }, at, r),
  }
}

function assertLinearizable(ops: KvOperation[], context = ''): LinearizabilityReport {
  const r = checkLinearizability(ops)
  assert.equal(r.violations.length, 0, `${context} ${r.violations.map((v) => v.message).join('\n')}`)
  assert.deepEqual(r.undecided, [], context)
  assert.equal(r.ok, true)
  return r
}

function assertViolation(ops: KvOperation[], blamedId?: number): LinearizabilityReport {
  const r = checkLinearizability(ops)
  assert.equal(r.ok, false)
  assert.equal(r.violations.length, 1, JSON.stringify(r))
  if (blamedId !== undefined) assert.equal(r.violations[0]!.op.id, blamedId, r.violations[0]!.message)
  return r
}

describe('linearizability: known-good histories', () => {
  it('a sequential put, get, cas, delete, get', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.get(1, [2, 3], found('a', 1))
    h.cas(1, 1, 'b', [4, 5], ok(2))
    h.del(1, [6, 7], ok(3))
    h.get(1, [8, 9], notFound(3))
    const r = assertLinearizable(h.ops)
    assert.equal(r.keys, 1)
    assert.equal(r.operations, 5)
  })

  it('overlapping writes: concurrent reads may see either, in either order while both are pending', () => {
    const h = builder()
    h.put(1, 'a', [0, 10], ok(2))
    h.put(2, 'b', [0, 10], ok(1))
    h.get(3, [1, 2], found('b', 1))
    h.get(4, [3, 12], found('a', 2))
    h.get(5, [11, 12], found('a', 2))
    assertLinearizable(h.ops)
  })

  it('a cas race: one wins, the other sees a conflict with the winner’s version', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.cas(2, 1, 'b', [2, 10], conflict(2))
    h.cas(3, 1, 'c', [3, 9], ok(2))
    h.get(1, [11, 12], found('c', 2))
    assertLinearizable(h.ops)
  })

  it('delete then put: versions keep increasing across the tombstone; cas expect 0 wins on it', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.del(1, [2, 3], ok(2))
    h.del(2, [4, 5], notFound(2))
    h.cas(2, 1, 'x', [6, 7], conflict(2))
    h.put(1, 'b', [8, 9], ok(3))
    h.del(1, [10, 11], ok(4))
    h.cas(2, 0, 'c', [12, 13], ok(5))
    h.get(1, [14, 15], found('c', 5))
    assertLinearizable(h.ops)
  })

  it('a conflict on a never-written key carries version 0; notFound may omit the version', () => {
    const h = builder()
    h.get(1, [0, 1], notFound())
    h.cas(1, 3, 'x', [2, 3], conflict(0))
    h.del(1, [4, 5], notFound(0))
    assertLinearizable(h.ops)
  })

  it('an indeterminate put that becomes visible later, even after its client moved on', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.put(2, 'b', [2], indeterminate)
    h.get(2, [40, 41], found('a', 1))
    h.get(3, [50, 51], found('b', 2))
    h.put(1, 'c', [60, 61], ok(3))
    assertLinearizable(h.ops)
  })

  it('an indeterminate put (a timeout at a known time) that never becomes visible', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.put(2, 'b', [2, 30], indeterminate)
    h.cas(2, 0, 'c', [3, 31], indeterminate)
    h.del(3, [4], indeterminate)
    h.get(1, [40, 41], found('a', 1))
    h.put(1, 'd', [50, 51], ok(2))
    h.get(3, [60, 61], found('d', 2))
    assertLinearizable(h.ops)
  })

  it('indeterminate ops may be needed in a particular order among several that timed out', () => {
    const h = builder()
    for (let i = 0; i < 12; i++) h.put(i, `x${i}`, [i], indeterminate)
    h.get(20, [100, 101], found('x7', 1))
    h.get(20, [102, 103], found('x3', 2))
    h.del(20, [104, 105], ok(3))
    h.get(20, [106, 107], found('x10', 4))
    const r = assertLinearizable(h.ops)
    assert.ok(r.steps < 500, `steps ${r.steps}`)
  })

  it('failed operations are ignored, and so are indeterminate gets', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], failed)
    h.get(2, [0], indeterminate)
    h.get(2, [2, 3], notFound(0))
    const r = assertLinearizable(h.ops)
    assert.equal(r.ignored, 2)
  })

  it('keys are independent registers; bytes values compare by content', () => {
    const h = builder()
    h.put(1, new Uint8Array([1, 2]), [0, 1], ok(1), 'x')
    h.put(1, 'v', [0, 1], ok(1), 'y')
    h.get(2, [2, 3], found(new Uint8Array([1, 2]), 1), 'x')
    h.get(2, [2, 3], found('v', 1), 'y')
    assert.equal(assertLinearizable(h.ops).keys, 2)
  })
})

describe('linearizability: known-bad histories', () => {
  it('a stale read after a completed write, named with the newer operation before any search', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.put(1, 'b', [2, 3], ok(2))
    h.get(2, [4, 5], found('a', 1))
    const r = assertViolation(h.ops, 3)
    const v = r.violations[0]!
    assert.equal(v.kind, 'version-order')
    assert.equal(v.kind === 'version-order' && v.newer.id, 2)
    assert.equal(r.steps, 0)
    assert.match(
      v.message,
      /#3 client 2 get\(\) → found "a" v1 \[4, 5\] needs version 1, but #2 .* returned version 2/,
    )
  })

  it('a dead end of the search is explained by the op, the register before it and what made it', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.cas(2, 1, 'b', [2, 10], ok(2))
    h.put(3, 'c', [2, 10], ok(2))
    const v = assertViolation(h.ops, 3).violations[0]!
    assert.equal(v.kind, 'no-linearization')
    if (v.kind !== 'no-linearization') return
    assert.deepEqual(v.state, { exists: true, value: 'b', version: 2 })
    assert.equal(v.lastEffect?.id, 2)
    assert.equal(v.linearized, 2)
    assert.match(
      v.message,
      /#3 client 3 put\("c"\) → ok v2 \[2, 10\] cannot be linearized; .* \(2 operations\) the register is "b" v2 \(last changed by #2 /,
    )
  })

  it('a read of a value never written', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.get(2, [0, 5], found('z', 1))
    h.put(1, 'z', [6, 7], ok(2))
    const v = assertViolation(h.ops, 2).violations[0]!
    assert.equal(v.kind, 'unwritten-read')
    assert.match(v.message, /found "z" v1 .* no write of that value could have made it \(none was made/)
  })

  it('a string value read back as bytes (or the other way round)', () => {
    const h = builder()
    h.put(1, 'ab', [0, 1], ok(1))
    h.get(2, [2, 3], found(new TextEncoder().encode('ab'), 1))
    assertViolation(h.ops, 2)
  })

  it('a value written by a failed put is seen', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], failed)
    h.get(2, [2, 3], found('a', 1))
    assertViolation(h.ops, 2)
  })

  it('two cas with the same expectation both succeed at the same version', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.cas(2, 1, 'b', [2, 10], ok(2))
    h.cas(3, 1, 'c', [2, 10], ok(2))
    assertViolation(h.ops)
  })

  it('answers no state gives: cas acknowledged at a version other than expect + 1, found at version 0', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.cas(1, 1, 'b', [2, 3], ok(3))
    assert.equal(assertViolation(h.ops, 2).violations[0]!.kind, 'impossible-answer')
    const g = builder()
    g.get(1, [0, 1], found('a', 0))
    assert.equal(assertViolation(g.ops, 1).violations[0]!.kind, 'impossible-answer')
  })

  it('the version goes backwards', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.put(1, 'b', [2, 3], ok(2))
    h.put(2, 'c', [4, 5], ok(2))
    assertViolation(h.ops, 3)
  })

  it('a read of a deleted value after the delete completed', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.del(1, [2, 3], ok(2))
    h.get(2, [4, 5], found('a', 1))
    assertViolation(h.ops, 3)
  })

  it('a get found with a version that skips', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.get(2, [2, 3], found('a', 2))
    assert.equal(assertViolation(h.ops, 2).violations[0]!.kind, 'unwritten-read')
  })

  it('a get found with a version that skips, where an indeterminate write of the value exists', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.put(3, 'a', [0], indeterminate)
    h.get(2, [2, 3], found('a', 3))
    assert.equal(assertViolation(h.ops, 3).violations[0]!.kind, 'no-linearization')
  })

  it('a lost acknowledged write: two puts both acknowledged at version 1', () => {
    const h = builder()
    h.put(1, 'a', [0, 5], ok(1))
    h.put(2, 'b', [0, 5], ok(1))
    assertViolation(h.ops)
  })

  it('a lost acknowledged write: absent after the put returned', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.get(2, [2, 3], notFound())
    assertViolation(h.ops, 2)
  })

  it('a conflict on a tombstone reports 0 instead of the tombstone version', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.del(1, [2, 3], ok(2))
    h.cas(1, 1, 'b', [4, 5], conflict(0))
    assertViolation(h.ops, 3)
  })

  it('an indeterminate put cannot explain a value after a later definite write', () => {
    const h = builder()
    h.put(1, 'a', [0], indeterminate)
    h.put(2, 'b', [10, 11], ok(1))
    h.get(3, [20, 21], found('a', 1))
    assertViolation(h.ops, 3)
  })

  it('an operation invoked after another returned cannot be ordered before it', () => {
    const h = builder()
    h.put(1, 'a', [0], indeterminate)
    h.get(2, [1, 2], notFound())
    h.get(2, [3, 4], found('a', 1))
    h.get(3, [5, 6], notFound())
    assert.equal(assertViolation(h.ops, 4).violations[0]!.kind, 'no-linearization')
  })

  it('a violation on one key does not hide the others; each is reported', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1), 'x')
    h.get(2, [2, 3], notFound(), 'x')
    h.put(1, 'a', [0, 1], ok(1), 'y')
    h.get(2, [2, 3], found('a', 1), 'y')
    h.get(2, [2, 3], found('q', 1), 'z')
    const r = checkLinearizability(h.ops)
    assert.deepEqual(
      r.violations.map((v) => v.key),
      ['x', 'z'],
    )
  })
})

describe('linearizability: budget and input checks', () => {
  it('a budget of one step leaves the key undecided, which is not ok', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.get(2, [2, 3], found('a', 1))
    const r = checkLinearizability(h.ops, { maxSteps: 1 })
    assert.deepEqual(r.undecided, ['k'])
    assert.equal(r.violations.length, 0)
    assert.equal(r.ok, false)
  })

  it('a wall-clock budget on an injected clock leaves keys undecided once spent', () => {
    const h = builder()
    for (let i = 0; i < 5000; i++) h.put(1, `v${i}`, [2 * i, 2 * i + 1], ok(i + 1))
    let calls = 0
    const clock = { now: () => (calls++ === 0 ? 0 : 1000) } // the budget is read every 4,096 steps
    const r = checkLinearizability(h.ops, { maxMs: 10, clock })
    assert.deepEqual(r.undecided, ['k'])
    assert.equal(r.ok, false)
  })

  it('rejects malformed histories with MalformedHistoryError', () => {
    const put = {
      id: 1,
      client: 1,
      key: 'k',
      op: 'put',
      args: { value: 'a' },
      invokeAt: 0,
      returnAt: 1,
      result: ok(1),
    }
    const bad = [
      [{ ...put, invokeAt: 5, returnAt: 4 }],
      [{ ...put, result: notFound() }],
      [{ ...put, op: 'cas', args: { expect: -1, value: 'a' } }],
      [{ ...put, result: { type: 'ok' } }],
      [put, { ...put, invokeAt: 2, returnAt: 3 }],
    ] as KvOperation[][]
    for (const ops of bad) assert.throws(() => checkLinearizability(ops), MalformedHistoryError)
  })
})

// ---------------------------------------------------------------------------------------------------
// Generated histories: linearizable by construction (each op takes effect at a random instant inside
// its interval, applied to a plain sequential register), then mutated into guaranteed violations.

interface GenParams {
  seed: number
  clients: number
  opsPerClient: number
  keys: number
  indeterminate: number
  failed: number
}

interface Planned {
  op: KvOperation
  /** When it takes effect; undefined when it never does. */
  at: number | undefined
  outcome: 'definite' | 'indeterminate' | 'failed'
}

function generate(p: GenParams): KvOperation[] {
  const rnd = new SeededRandom(p.seed)
  const planned: Planned[] = []
  for (let c = 0; c < p.clients; c++) {
    let t = rnd.next() * 10
    for (let i = 0; i < p.opsPerClient; i++) {
      const plan = planOne(rnd, p, c, planned.length + 1, t)
      planned.push(plan)
      t = (plan.op.returnAt ?? plan.op.invokeAt + 30) + rnd.next() * 3
    }
  }
  applyInEffectOrder(rnd, planned)
  return planned.map((pl) => pl.op)
}

function planOne(rnd: SeededRandom, p: GenParams, client: number, id: number, t: number): Planned {
  const r = rnd.next()
  const kinds = ['put', 'put', 'get', 'get', 'get', 'delete', 'cas', 'cas'] as const
  const kind = kinds[rnd.int(kinds.length)]!
  const invokeAt = t + rnd.next() * 5
  const base = { id, client, key: `k${rnd.int(p.keys)}`, invokeAt }
  const value = `c${client}.${id}`
  const op = {
    ...base,
    op: kind,
    args: kind === 'put' ? { value } : kind === 'cas' ? { expect: 0, value } : undefined,
    returnAt: undefined as number | undefined,
    result: indeterminate,
  } as KvOperation
  if (r < p.failed) {
    op.returnAt = invokeAt + rnd.next() * 5
    op.result = failed
    return { op, at: undefined, outcome: 'failed' }
  }
  if (r < p.failed + p.indeterminate) {
    if (rnd.next() < 0.5) op.returnAt = invokeAt + 30
    const at = rnd.next() < 0.5 ? invokeAt + rnd.next() * 200 : undefined
    return { op, at, outcome: 'indeterminate' }
  }
  const at = invokeAt + rnd.next() * 20
  op.returnAt = at + rnd.next() * 20
  return { op, at, outcome: 'definite' }
}

interface Reg {
  value: string | undefined
  version: number
}

/** The plain sequential register the checker's model must agree with. */
function applyToRegister(reg: Reg, op: KvOperation): Result {
  switch (op.op) {
    case 'get':
      return reg.value === undefined ? notFound(reg.version) : found(reg.value, reg.version)
    case 'put':
      reg.value = op.args.value as string
      return ok(++reg.version)
    case 'delete':
      if (reg.value === undefined) return notFound(reg.version)
      reg.value = undefined
      return ok(++reg.version)
    case 'cas': {
      const holds =
        op.args.expect === 0
          ? reg.value === undefined
          : reg.value !== undefined && reg.version === op.args.expect
      if (!holds) return conflict(reg.version)
      reg.value = op.args.value as string
      return ok(++reg.version)
    }
  }
}

function applyInEffectOrder(rnd: SeededRandom, planned: Planned[]): void {
  const regs = new Map<string, Reg>()
  const effective = planned.filter((pl) => pl.at !== undefined).sort((a, b) => a.at! - b.at!)
  for (const { op, outcome } of effective) {
    const reg = regs.get(op.key) ?? { value: undefined, version: 0 }
    regs.set(op.key, reg)
    if (op.op === 'cas') op.args.expect = casExpectation(rnd, reg)
    const result = applyToRegister(reg, op)
    if (outcome === 'definite') op.result = result
  }
}

/** Half the time what is there (the cas wins), else a guess (it mostly conflicts). */
function casExpectation(rnd: SeededRandom, reg: Reg): number {
  if (rnd.next() < 0.5) return reg.value === undefined ? 0 : reg.version
  return rnd.int(reg.version + 2)
}

const hasVersion = (r: Result): r is Result & { version: number } => 'version' in r && r.version !== undefined

/**
 * A stale read: a definite get G is made to return a present state of an older version than one some
 * definite operation reported before G was invoked. Versions never decrease, so no order explains it.
 */
function mutateStale(ops: KvOperation[], rnd: SeededRandom): KvOperation[] | undefined {
  const gets = ops.filter(
    (o) => o.op === 'get' && o.result.type !== 'indeterminate' && o.result.type !== 'failed',
  )
  for (const g of shuffled(gets, rnd)) {
    const sameKey = ops.filter((o) => o.key === g.key)
    const done = sameKey.filter(
      (o) => o.returnAt !== undefined && o.returnAt < g.invokeAt && hasVersion(o.result),
    )
    const newest = Math.max(0, ...done.map((o) => (o.result as { version: number }).version))
    const older = sameKey.filter((o) => o.result.type === 'found' && o.result.version < newest && o !== g)
    const pick = older[rnd.int(older.length)]
    if (pick === undefined) continue
    return ops.map((o) => (o === g ? { ...g, result: pick.result } : o))
  }
  return undefined
}

/** A read with the right value at the wrong version (values are unique, each written at one version). */
function mutateVersion(ops: KvOperation[], rnd: SeededRandom): KvOperation[] | undefined {
  const written = new Set(
    ops
      .filter((o) => o.result.type === 'ok' && 'args' in o && o.args)
      .map((o) => (o as { args: { value: string } }).args.value),
  )
  const reads = ops.filter((o) => o.result.type === 'found' && written.has(o.result.value as string))
  const g = reads[rnd.int(reads.length)]
  if (g === undefined || g.result.type !== 'found') return undefined
  const result: Result = { ...g.result, version: g.result.version + 1 + rnd.int(2) }
  return ops.map((o) => (o === g ? ({ ...g, result } as KvOperation) : o))
}

/**
 * A lost acknowledged write: a definite get is made to answer notFound (without a version, so only
 * the search can tell) after a write was acknowledged, while no delete of the key had been invoked.
 */
function mutateLostWrite(ops: KvOperation[], rnd: SeededRandom): KvOperation[] | undefined {
  const isGet = (o: KvOperation) => o.op === 'get' && o.returnAt !== undefined && o.result.type === 'found'
  for (const g of shuffled(ops.filter(isGet), rnd)) {
    const sameKey = ops.filter((o) => o.key === g.key && o.result.type !== 'failed')
    const deleted = sameKey.some((o) => o.op === 'delete' && o.invokeAt <= g.returnAt!)
    const written = sameKey.some((o) => o.result.type === 'ok' && o.returnAt! < g.invokeAt)
    if (deleted || !written) continue
    return ops.map((o) => (o === g ? ({ ...g, result: notFound() } as KvOperation) : o))
  }
  return undefined
}

function shuffled<T>(xs: T[], rnd: SeededRandom): T[] {
  const out = xs.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const genParams = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  clients: fc.integer({ min: 1, max: 5 }),
  opsPerClient: fc.integer({ min: 1, max: 40 }),
  keys: fc.integer({ min: 1, max: 3 }),
  indeterminate: fc.constantFrom(0, 0.05, 0.2),
  failed: fc.constantFrom(0, 0.05),
})

describe('linearizability: generated histories', () => {
  it('passes every history generated from the sequential register', () => {
    fc.assert(
      fc.property(genParams, (p) => {
        assertLinearizable(generate(p), JSON.stringify(p))
      }),
      { seed: 21, numRuns: 300 },
    )
  })

  it('catches a stale read planted in a generated history', () => {
    let planted = 0
    fc.assert(
      fc.property(genParams, (p) => {
        const bad = mutateStale(generate(p), new SeededRandom(p.seed ^ 1))
        fc.pre(bad !== undefined)
        planted++
        const r = checkLinearizability(bad!)
        assert.equal(r.violations.length, 1, JSON.stringify(p))
      }),
      { seed: 22, numRuns: 200 },
    )
    assert.ok(planted >= 50, `only ${planted} histories had a stale read to plant`)
  })

  it('catches a lost acknowledged write planted in a generated history, by search alone', () => {
    let planted = 0
    fc.assert(
      fc.property(genParams, (p) => {
        const bad = mutateLostWrite(generate(p), new SeededRandom(p.seed ^ 4))
        fc.pre(bad !== undefined)
        planted++
        const r = checkLinearizability(bad!)
        assert.deepEqual(
          r.violations.map((v) => v.kind),
          ['no-linearization'],
          JSON.stringify(p),
        )
      }),
      { seed: 25, numRuns: 200 },
    )
    assert.ok(planted >= 50, `only ${planted} histories had a lost write to plant`)
  })

  it('catches a read at the wrong version planted in a generated history', () => {
    fc.assert(
      fc.property(genParams, (p) => {
        const bad = mutateVersion(generate(p), new SeededRandom(p.seed ^ 2))
        fc.pre(bad !== undefined)
        const r = checkLinearizability(bad!)
        assert.equal(r.violations.length, 1, JSON.stringify(p))
      }),
      { seed: 23, numRuns: 200 },
    )
  })
})

/**
 * The definition itself, by brute force: some order of the operations that respects real time (a
 * before b when a returned before b was invoked), in which every definite one gets the answer the
 * sequential register gives, indeterminate ones may be left out, failed ones are left out. An absent
 * key's version may rise between any two operations (a purge): tried at every version an answer
 * shows (and the one below it), which are the only rises an answer can tell apart.
 */
function bruteForceLinearizable(ops: KvOperation[]): boolean {
  const live = ops.filter((o) => o.result.type !== 'failed')
  const definite = live.filter((o) => o.result.type !== 'indeterminate' && o.returnAt !== undefined)
  const shown = new Set<number>()
  for (const o of definite) {
    const v = 'version' in o.result ? o.result.version : undefined
    if (v !== undefined) shown.add(v).add(Math.max(0, v - 1))
  }
  const placed = new Set<KvOperation>()
  const mayGoNext = (o: KvOperation): boolean =>
    definite.every((d) => d === o || placed.has(d) || !(d.returnAt! < o.invokeAt))
  const rises = (reg: Reg): number[] =>
    reg.value !== undefined ? [reg.version] : [reg.version, ...[...shown].filter((v) => v > reg.version)]
  const search = (reg: Reg): boolean => {
    if (definite.every((d) => placed.has(d))) return true
    for (const o of live) {
      if (placed.has(o) || !mayGoNext(o)) continue
      for (const version of rises(reg)) {
        const after = { ...reg, version }
        const answer = applyToRegister(after, o)
        if (definite.includes(o) && !sameAnswer(o.result, answer)) continue
        placed.add(o)
        if (search(after)) return true
        placed.delete(o)
      }
    }
    return false
  }
  return search({ value: undefined, version: 0 })
}

function sameAnswer(seen: Result, model: Result): boolean {
  if (seen.type !== model.type) return false
  if (seen.type === 'found' && model.type === 'found' && seen.value !== model.value) return false
  const v = 'version' in seen ? seen.version : undefined
  return v === undefined || v === (model as { version: number }).version
}

/** Perturbs some definite answers at random: wrong versions, values, outcomes. */
function scramble(ops: KvOperation[], rnd: SeededRandom): KvOperation[] {
  const values = ops.flatMap((o) => ('args' in o && o.args ? [o.args.value as string] : []))
  return ops.map((o) => {
    if (o.returnAt === undefined || o.result.type === 'indeterminate' || rnd.next() < 0.7) return o
    const version = Math.max(0, ('version' in o.result ? (o.result.version ?? 0) : 0) + rnd.int(3) - 1)
    const choices: Result[] =
      o.op === 'get'
        ? [found(values[rnd.int(values.length)] ?? 'v', version), notFound(), notFound(version)]
        : o.op === 'put'
          ? [ok(version)]
          : o.op === 'delete'
            ? [ok(version), notFound(version), notFound()]
            : [ok(version), conflict(version)]
    return { ...o, result: choices[rnd.int(choices.length)]! } as KvOperation
  })
}

describe('linearizability: against brute force', () => {
  it('agrees with the definition on small scrambled histories, good and bad', () => {
    const kinds = new Map<string, number>()
    fc.assert(
      fc.property(
        genParams.map((p) => ({
          ...p,
          keys: 1,
          clients: 1 + (p.clients % 3),
          opsPerClient: 1 + (p.opsPerClient % 3),
        })),
        (p) => {
          const ops = scramble(generate({ ...p, indeterminate: 0.3 }), new SeededRandom(p.seed ^ 3))
          const expected = bruteForceLinearizable(ops)
          const r = checkLinearizability(ops)
          assert.deepEqual(r.undecided, [])
          assert.equal(r.ok, expected, `${JSON.stringify(p)} ${r.violations[0]?.message ?? ''}`)
          const kind = r.violations[0]?.kind ?? 'linearizable'
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
        },
      ),
      { seed: 24, numRuns: 2000 },
    )
    // Each way of finding a violation, and the search on its own, is exercised.
    for (const kind of [
      'linearizable',
      'no-linearization',
      'version-order',
      'unwritten-read',
      'impossible-answer',
    ]) {
      assert.ok((kinds.get(kind) ?? 0) >= 50, `${kind}: ${JSON.stringify([...kinds])}`)
    }
  })
})

describe('linearizability: performance', () => {
  const timed = (ops: KvOperation[]): { r: LinearizabilityReport; ms: number } => {
    const t0 = performance.now()
    const r = checkLinearizability(ops)
    return { r, ms: performance.now() - t0 }
  }

  it('5 clients × 2,000 ops on 5 hot keys, 2% indeterminate, 1% failed: passes in well under 3 s', () => {
    const ops = generate({
      seed: 5,
      clients: 5,
      opsPerClient: 2000,
      keys: 5,
      indeterminate: 0.02,
      failed: 0.01,
    })
    const { r, ms } = timed(ops)
    assert.equal(r.ok, true, r.violations[0]?.message)
    assert.equal(r.operations, 10_000)
    console.log(`      10,000 ops on 5 keys: ${ms.toFixed(0)} ms, ${r.steps} steps`)
    assert.ok(ms < 3000, `${ms} ms`)
  })

  it('5 clients × 2,000 ops on one key, 5% indeterminate: passes', () => {
    const ops = generate({ seed: 6, clients: 5, opsPerClient: 2000, keys: 1, indeterminate: 0.05, failed: 0 })
    const { r, ms } = timed(ops)
    assert.equal(r.ok, true, r.violations[0]?.message)
    console.log(`      10,000 ops on 1 key: ${ms.toFixed(0)} ms, ${r.steps} steps`)
    assert.ok(ms < 3000, `${ms} ms`)
  })

  it('10,000 ops across 200 keys: passes, and a stale read planted in it is caught', () => {
    const ops = generate({
      seed: 7,
      clients: 20,
      opsPerClient: 500,
      keys: 200,
      indeterminate: 0.02,
      failed: 0.01,
    })
    const { r, ms } = timed(ops)
    assert.equal(r.ok, true, r.violations[0]?.message)
    assert.equal(r.keys, 200)
    console.log(`      10,000 ops on 200 keys: ${ms.toFixed(0)} ms, ${r.steps} steps`)
    const bad = timed(mutateStale(ops, new SeededRandom(7))!)
    assert.equal(bad.r.violations.length, 1)
    console.log(`      the same with a stale read: ${bad.ms.toFixed(0)} ms, ${bad.r.steps} steps`)
  })
})

describe('linearizability: a purged tombstone (an absent key whose version rises)', () => {
  it('passes: notFound rises with no effect, and the next creation goes above it', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.del(1, [2, 3], ok(2))
    h.get(1, [4, 5], notFound(2))
    h.get(1, [6, 7], notFound(40)) // purged: the range's floor shows
    h.cas(1, 0, 'b', [8, 9], ok(41))
    h.get(2, [10, 11], found('b', 41))
    assertLinearizable(h.ops)
  })

  it('passes: a creation whose answer was lost jumped, and a later read pins where', () => {
    const h = builder()
    h.get(1, [0, 1], notFound(9))
    h.put(2, 'x', [2], indeterminate)
    h.put(1, 'y', [3, 4], ok(14))
    h.get(1, [5, 6], found('y', 14))
    assertLinearizable(h.ops)
  })

  it('catches a version below one an absent key already showed', () => {
    const h = builder()
    h.get(1, [0, 1], notFound(40))
    h.put(1, 'b', [2, 3], ok(5))
    assertViolation(h.ops, 2)
  })

  it('catches a present key jumping: an update is +1 while the key exists', () => {
    const h = builder()
    h.put(1, 'a', [0, 1], ok(1))
    h.put(1, 'b', [2, 3], ok(7))
    assertViolation(h.ops, 2)
  })
})
