/**
 * A linearizability checker for swarmstore's key-value register (issue 21, "Proof"): given a history of
 * concurrent put/get/delete/cas operations with their invocation and response times, it decides
 * whether some total order of the operations (1) respects real time — an operation that returned
 * before another was invoked comes first — and (2) replays through the sequential register model
 * below to the very results the clients saw. Pure: no I/O, no clock unless a time budget is asked for.
 *
 * ## The register model (one per key)
 * State `{ exists, value, version }`, initially absent at version 0. Versions increase for a key
 * forever, across deletes: every effect on a present key adds exactly 1; an absent key's version may
 * rise with no operation at all (the KV layer purges tombstones and remembers only a floor above
 * their versions), so a `notFound` or `conflict` on an absent key may show any version at or above
 * the last one shown, and a put or `cas(0)` creating the key any version above it.
 * - `put(value)`: the key becomes present with `value`; ok, with the new version.
 * - `get()`: `found` with the value AND version, or `notFound` when absent.
 * - `delete()`: present → absent (a tombstone: the version counter is kept); ok, with the new version.
 *   Absent → `notFound`, no change.
 * - `cas(expect, value)`: holds iff `expect === 0 ? absent : present && version === expect`; then as put.
 *   Otherwise `conflict` carrying the current version counter — for a key deleted earlier that is the
 *   tombstone's version, not 0 (0 only for a key never written). The KV layer must answer the same.
 * - `notFound` answers may carry the version counter too; when they do it is checked, and it pins
 *   the version like every other answer (see the search's rules below), so the KV layer should send it.
 *
 * ## Histories
 * A `KvOperation` per client call. `returnAt` undefined, or the result `indeterminate` (timeout, lost
 * connection, 503 after the request left), means the outcome is unknown: the operation may take effect
 * at any moment after `invokeAt`, even long after the client gave up, or never. A result `failed` means
 * definitely without effect (503 before sending, a 4xx) and the operation is dropped. Operations whose
 * intervals touch (`returnAt === invokeAt`) count as concurrent, as in Porcupine: record distinct
 * times when order matters. Values are opaque: two values are equal iff both are strings and equal or
 * both are bytes and equal (a string never equals bytes).
 *
 * ## The algorithm
 * Keys are independent registers and linearizability is local (Herlihy & Wing), so each key is
 * checked alone (P-compositionality). Per key, three necessary conditions come first, each naming its
 * few operations outright where a search would fail only after trying every order of everything
 * before them: an answer no state gives (`impossible-answer`), a value read at a version no write of
 * it can have made (`unwritten-read`), an operation needing an older version than one that returned
 * before it began showed (`version-order`; versions never decrease).
 *
 * Then Wing & Gong's search with Lowe's memoization, as in Porcupine (`checker.go`): the call and
 * return events sorted by time form a doubly linked list; the candidates for the next linearization
 * point are the calls before the first return still in the list. Placing one lifts its call and return
 * out (dancing links); a dead end puts them back. A (set of placed operations, state) pair already
 * explored is never explored again. A `no-linearization` violation is explained from the deepest dead
 * end: the operation that could not be placed, the register there and what made it.
 *
 * Indeterminate operations have no return event (a return at +∞), so they never force a dead end, and
 * the search succeeds as soon as every definite operation is placed: the indeterminate ones left over
 * never happened (Knossos treats :info operations the same way). Indeterminate gets change nothing and
 * are dropped; an indeterminate delete or cas is placed only where it takes effect, since placing a
 * no-op equals leaving it out. Three rules keep operations that timed out from making the search try
 * every subset of them, none of which loses a linearization:
 * - definite candidates are tried first;
 * - versions never decrease and every effect raises them, so a frame whose version passed the version
 *   some unplaced operation must see is dead, and indeterminate operations go only while it is below
 *   (a version the model holds only as a lower bound counts as that bound);
 * - indeterminate candidates with the same effect (kind, expect, value) are interchangeable — all
 *   invoked already, none with a deadline — so only the first of each is tried. Values no definite
 *   read returned count as one value: no read can tell them apart.
 *
 * The memo table is keyed by a 64-bit Zobrist hash of the placed set plus the exact state. A hash
 * collision (probability about n²/2⁶⁵ for n entries) could only prune a branch: it can report a
 * violation that is not one, never pass a history that is not linearizable.
 *
 * A search budget (`maxSteps` per key, optionally `maxMs` overall) turns a key the search could not
 * decide into `undecided`, which is a failure: `ok` holds only when every key is shown linearizable.
 */
import { type Clock, SeededRandom, SwarmstoreError } from '@swarmstore/core'

export type KvValue = string | Uint8Array

/** Outcome unknown (timed out, connection lost, 503 after sending): may take effect later, or never. */
export interface IndeterminateResult {
  type: 'indeterminate'
}
/** Definitely without effect (503 before anything was sent, a 4xx validation error): ignored. */
export interface FailedResult {
  type: 'failed'
}
export interface OkResult {
  type: 'ok'
  version: number
}
export interface FoundResult {
  type: 'found'
  value: KvValue
  version: number
}
/** Absent. `version`, when given, is the key's version counter (0, or a tombstone's) and is checked. */
export interface NotFoundResult {
  type: 'notFound'
  version?: number
}
/** A cas whose expectation failed, with the current version counter (a tombstone's when deleted). */
export interface ConflictResult {
  type: 'conflict'
  version: number
}
type Unsettled = IndeterminateResult | FailedResult

interface KvOperationBase {
  /** Unique in the history; reports name operations by it. */
  id: string | number
  client: string | number
  key: string
  /** When the client sent the request (real or simulated ms; any unit, the same for all). */
  invokeAt: number
  /** When the answer arrived; undefined when it never did (the operation is then indeterminate). */
  returnAt?: number | undefined
}
export interface KvPut extends KvOperationBase {
  op: 'put'
  args: { value: KvValue }
  result: OkResult | Unsettled
}
export interface KvGet extends KvOperationBase {
  op: 'get'
  args?: Record<string, never>
  result: FoundResult | NotFoundResult | Unsettled
}
export interface KvDelete extends KvOperationBase {
  op: 'delete'
  args?: Record<string, never>
  result: OkResult | NotFoundResult | Unsettled
}
export interface KvCas extends KvOperationBase {
  op: 'cas'
  args: { expect: number; value: KvValue }
  result: OkResult | ConflictResult | Unsettled
}
export type KvOperation = KvPut | KvGet | KvDelete | KvCas

export interface RegisterState {
  exists: boolean
  value: KvValue | undefined
  version: number
}

export interface LinearizabilityInit {
  /**
   * Model steps allowed per key before that key is reported undecided (default 5,000,000, about 5 s
   * of search). Deterministic, unlike `maxMs`: prefer it in seeded tests.
   */
  maxSteps?: number
  /** Wall-clock budget for the whole check, in ms (default: none). Keys not finished are undecided. */
  maxMs?: number
  /** The clock `maxMs` is measured on (default: the process's monotonic clock). */
  clock?: Pick<Clock, 'now'>
}

/** Why a key is not linearizable. */
export type Violation =
  | ImpossibleAnswerViolation
  | UnwrittenReadViolation
  | VersionOrderViolation
  | NoLinearizationViolation

/**
 * Found before any search: no register state gives this answer (a cas on version e acknowledged at a
 * version other than e + 1, a value found at version 0, a delete acknowledged at version 1).
 */
export interface ImpossibleAnswerViolation {
  kind: 'impossible-answer'
  key: string
  message: string
  op: KvOperation
}

/**
 * Found before any search: `op` began after `newer` returned, yet needs an older version than
 * `newer` saw or made. Versions never decrease, so no order explains the two.
 */
export interface VersionOrderViolation {
  kind: 'version-order'
  key: string
  message: string
  op: KvOperation
  newer: KvOperation
}

/**
 * Found before any search: `op` read a value at a version that none of `writes` (every put or cas of
 * that value invoked before `op` returned) can have produced — none, or all acknowledged at other
 * versions.
 */
export interface UnwrittenReadViolation {
  kind: 'unwritten-read'
  key: string
  message: string
  op: KvOperation
  writes: KvOperation[]
}

/** Read off the deepest partial linearization the search reached. */
export interface NoLinearizationViolation {
  kind: 'no-linearization'
  key: string
  message: string
  /** The operation that could not be placed there: every order of the rest reached its return first. */
  op: KvOperation
  /** The register just before it. */
  state: RegisterState
  /** The operation whose effect made `state` (undefined when it is the initial state). */
  lastEffect: KvOperation | undefined
  /** How many operations that partial linearization placed. */
  linearized: number
  /** The other operations that could have gone next there (at most 8). */
  pending: KvOperation[]
}

export interface LinearizabilityReport {
  /** True iff every key was shown linearizable: no violation and nothing undecided. */
  ok: boolean
  keys: number
  operations: number
  /** Operations dropped before the search: `failed` ones and indeterminate gets. */
  ignored: number
  /** Model steps taken over all keys. */
  steps: number
  /** At most one per key. */
  violations: Violation[]
  /** Keys whose search ran out of budget. */
  undecided: string[]
}

/** The history is not well formed (bad times, a result that does not fit the operation, a duplicate id). */
export class MalformedHistoryError extends SwarmstoreError {
  constructor(message: string) {
    super('SIM_MALFORMED_HISTORY', message)
  }
}

const DEFAULT_MAX_STEPS = 5_000_000
const MAX_PENDING_REPORTED = 8

/** Checks a whole history: each key on its own (linearizability is local), within the budget. */
export function checkLinearizability(
  history: readonly KvOperation[],
  init: LinearizabilityInit = {},
): LinearizabilityReport {
  validateHistory(history)
  const budget = makeBudget(init)
  const report: LinearizabilityReport = {
    ok: true,
    keys: 0,
    operations: history.length,
    ignored: 0,
    steps: 0,
    violations: [],
    undecided: [],
  }
  for (const [key, ops] of groupByKey(history)) {
    report.keys++
    const compiled = compileKey(ops)
    report.ignored += ops.length - compiled.ops.length
    const obvious =
      impossibleAnswer(key, compiled.ops) ??
      unwrittenReadViolation(key, compiled.ops) ??
      versionOrderViolation(key, compiled.ops)
    if (obvious) {
      report.violations.push(obvious)
      continue
    }
    const outcome = new KeySearch(compiled, budget).run()
    report.steps += outcome.steps
    if (outcome.kind === 'undecided') report.undecided.push(key)
    if (outcome.kind === 'violation') report.violations.push(explain(key, compiled, outcome.deepest))
  }
  report.ok = report.violations.length === 0 && report.undecided.length === 0
  return report
}

// ---------------------------------------------------------------------------------------------------
// Input checks and per-key compilation

function validateHistory(history: readonly KvOperation[]): void {
  const ids = new Set<string | number>()
  for (const o of history) {
    if (ids.has(o.id)) throw new MalformedHistoryError(`duplicate operation id ${String(o.id)}`)
    ids.add(o.id)
    if (!Number.isFinite(o.invokeAt)) throw malformed(o, 'invokeAt is not a finite number')
    if (o.returnAt !== undefined && !(o.returnAt >= o.invokeAt)) {
      throw malformed(o, 'returnAt must be a number not before invokeAt')
    }
    validateResult(o)
  }
}

const RESULTS: Record<KvOperation['op'], readonly string[]> = {
  put: ['ok'],
  get: ['found', 'notFound'],
  delete: ['ok', 'notFound'],
  cas: ['ok', 'conflict'],
}

function validateResult(o: KvOperation): void {
  const r = o.result
  if (!(o.op in RESULTS)) throw malformed(o, `unknown operation ${String(o.op)}`)
  if (r.type === 'indeterminate' || r.type === 'failed') return
  if (!RESULTS[o.op].includes(r.type)) throw malformed(o, `a ${o.op} cannot end ${r.type}`)
  const v = 'version' in r ? r.version : undefined
  if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw malformed(o, `bad version ${v}`)
  if (r.type === 'ok' && v === undefined) throw malformed(o, 'an ok result needs its version')
  if (o.op === 'cas' && !(Number.isInteger(o.args.expect) && o.args.expect >= 0)) {
    throw malformed(o, `bad cas expect ${o.args.expect}`)
  }
}

function malformed(o: KvOperation, why: string): MalformedHistoryError {
  return new MalformedHistoryError(`operation ${String(o.id)} (${o.op} on ${o.key}): ${why}`)
}

function groupByKey(history: readonly KvOperation[]): Map<string, KvOperation[]> {
  const byKey = new Map<string, KvOperation[]>()
  for (const o of history) {
    const list = byKey.get(o.key)
    if (list) list.push(o)
    else byKey.set(o.key, [o])
  }
  return byKey
}

/** A definite answer, or unknown (indeterminate). */
type Res = 'ok' | 'found' | 'notFound' | 'conflict' | 'unknown'

/**
 * One operation as the search sees it. Values are interned to small integers: -1 for none, 0 for
 * every value that no definite read returned (states holding two such values behave alike from then
 * on: no read can match either), 1.. for the values reads returned.
 */
interface Op {
  source: KvOperation
  kind: KvOperation['op']
  definite: boolean
  value: number
  expect: number
  res: Res
  resValue: number
  /** The version the answer shows the register at once done (new for ok, current otherwise), or -1. */
  resVersion: number
  /** The version the register must hold just before this operation; +∞ when its answer does not say. */
  preVersion: number
  invokeAt: number
  returnAt: number
  /** Indeterminate operations with equal `effectClass` have the same effect wherever they go. */
  effectClass: number
}

const UNREAD = 0

interface CompiledKey {
  ops: Op[]
  /** Interned value id → the value (undefined for UNREAD). */
  values: (KvValue | undefined)[]
}

function compileKey(history: readonly KvOperation[]): CompiledKey {
  const values = new ValueTable()
  for (const o of history) {
    if (o.returnAt !== undefined && o.result.type === 'found') values.read(o.result.value)
  }
  const classes = new Map<string, number>()
  const ops: Op[] = []
  for (const source of history) {
    const op = compileOp(source, values)
    if (!op) continue
    const signature = `${op.kind} ${op.expect} ${op.value}`
    op.effectClass = classes.get(signature) ?? classes.size
    classes.set(signature, op.effectClass)
    ops.push(op)
  }
  return { ops, values: values.values }
}

class ValueTable {
  readonly values: (KvValue | undefined)[] = [undefined]
  private readonly ids = new Map<string, number>()

  /** Registers a value some definite read returned. */
  read(v: KvValue): void {
    const k = valueKey(v)
    if (!this.ids.has(k)) this.ids.set(k, this.values.push(v) - 1)
  }

  id(v: KvValue | undefined): number {
    return v === undefined ? -1 : (this.ids.get(valueKey(v)) ?? UNREAD)
  }
}

/** Strings and bytes never compare equal. */
function valueKey(v: KvValue): string {
  return typeof v === 'string' ? `s${v}` : `b${Buffer.from(v).toString('hex')}`
}

function compileOp(source: KvOperation, values: ValueTable): Op | undefined {
  const r = source.result
  if (r.type === 'failed') return undefined
  const definite = r.type !== 'indeterminate' && source.returnAt !== undefined
  // An indeterminate read changes nothing, so no linearization needs it.
  if (!definite && source.op === 'get') return undefined
  const res: Res = definite ? r.type : 'unknown'
  const resVersion = definite && 'version' in r && r.version !== undefined ? r.version : -1
  const args = source.op === 'put' || source.op === 'cas' ? source.args : undefined
  return {
    source,
    kind: source.op,
    definite,
    res,
    resVersion,
    value: values.id(args?.value),
    expect: source.op === 'cas' ? source.args.expect : -1,
    resValue: definite && r.type === 'found' ? values.id(r.value) : -1,
    preVersion: resVersion < 0 ? Number.POSITIVE_INFINITY : res === 'ok' ? resVersion - 1 : resVersion,
    invokeAt: source.invokeAt,
    returnAt: definite ? source.returnAt! : Number.POSITIVE_INFINITY,
    effectClass: -1,
  }
}

// ---------------------------------------------------------------------------------------------------
// Necessary conditions, checked first: each names its few operations outright, where the search would
// only fail after trying every order of everything before them.

/** Answers no state can give: the model needs a present key at version ≥ 1 for each of these. */
function impossibleAnswer(key: string, ops: readonly Op[]): ImpossibleAnswerViolation | undefined {
  const op = ops.find(
    (o) =>
      (o.res === 'found' && o.resVersion < 1) ||
      (o.kind === 'delete' && o.res === 'ok' && o.resVersion < 2) ||
      (o.kind === 'cas' && o.res === 'ok' && o.expect > 0 && o.resVersion !== o.expect + 1),
  )
  if (op === undefined) return undefined
  const message = `key ${JSON.stringify(key)}: ${describeOperation(op.source)} is an answer no register state gives`
  return { kind: 'impossible-answer', key, message, op: op.source }
}

/**
 * A value read at version v was written by a put or cas of that value invoked before the read
 * returned, acknowledged at v or indeterminate (it may have landed anywhere).
 */
function unwrittenReadViolation(key: string, ops: readonly Op[]): UnwrittenReadViolation | undefined {
  const writes = new Map<number, Op[]>()
  for (const o of ops) {
    if (o.value <= UNREAD) continue
    const list = writes.get(o.value)
    if (list) list.push(o)
    else writes.set(o.value, [o])
  }
  for (const op of ops) {
    if (op.res !== 'found') continue
    const candidates = (writes.get(op.resValue) ?? []).filter((w) => w.invokeAt <= op.returnAt)
    const fits = (w: Op): boolean => !w.definite || (w.res === 'ok' && w.resVersion === op.resVersion)
    if (candidates.some(fits)) continue
    const shown = candidates.slice(0, MAX_PENDING_REPORTED).map((w) => describeOperation(w.source))
    const message =
      `key ${JSON.stringify(key)}: ${describeOperation(op.source)} but no write of that value could ` +
      `have made it` +
      (shown.length > 0 ? ` (writes of it: ${shown.join('; ')})` : ' (none was made before it returned)')
    return { kind: 'unwritten-read', key, message, op: op.source, writes: candidates.map((w) => w.source) }
  }
  return undefined
}

/**
 * Versions never decrease, so an operation invoked after another returned must not need an older
 * version than that one showed. A sweep over invocations finds the first that does, in O(n log n).
 */
function versionOrderViolation(key: string, ops: readonly Op[]): VersionOrderViolation | undefined {
  const pinned = ops.filter((o) => o.definite && o.resVersion >= 0)
  const byReturn = pinned.slice().sort((a, b) => a.returnAt - b.returnAt)
  const byInvoke = pinned.slice().sort((a, b) => a.invokeAt - b.invokeAt)
  let done = 0
  let newest: Op | undefined
  for (const op of byInvoke) {
    for (; done < byReturn.length && byReturn[done]!.returnAt < op.invokeAt; done++) {
      const o = byReturn[done]!
      if (newest === undefined || o.resVersion > newest.resVersion) newest = o
    }
    if (newest === undefined || newest.resVersion <= op.preVersion) continue
    const message =
      `key ${JSON.stringify(key)}: ${describeOperation(op.source)} needs version ${op.preVersion}, but ` +
      `${describeOperation(newest.source)} returned version ${newest.resVersion} before it began`
    return { kind: 'version-order', key, message, op: op.source, newer: newest.source }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------
// The sequential model

/**
 * Register state with the value interned; `value` is -1 when absent, so equal states compare equal.
 * `loose`: `version` is only a lower bound — the key is absent (a purge may raise an absent key's
 * version at any time), or present after a creation whose outcome nobody saw (it may have jumped).
 */
interface State {
  readonly value: number
  readonly version: number
  readonly loose: boolean
}
const INITIAL: State = { value: -1, version: 0, loose: true }

function absent(version: number): State {
  return { value: -1, version, loose: true }
}

function present(value: number, version: number, loose = false): State {
  return { value, version, loose }
}

/** Whether the state may show version `v`: exactly its own, or any above a lower bound. */
function shows(s: State, v: number): boolean {
  return s.loose ? v >= s.version : v === s.version
}

/** Whether the next effect on `s` may be acknowledged at `v`: +1, or (from a lower bound) above it. */
function advancesTo(s: State, v: number): boolean {
  return s.loose ? v > s.version : v === s.version + 1
}

/** The state after a definite operation answered `op.res` at `s`, or undefined if no state gives it. */
function answered(s: State, op: Op): State | undefined {
  const v = op.resVersion
  const isAbsent = s.value < 0
  switch (op.res) {
    case 'ok': {
      if (op.kind === 'delete') return !isAbsent && advancesTo(s, v) ? absent(v) : undefined
      if (op.kind === 'cas' && !casHolds(s, op.expect)) return undefined
      if (op.kind === 'cas' && op.expect > 0) return v === op.expect + 1 ? present(op.value, v) : undefined
      return advancesTo(s, v) ? present(op.value, v) : undefined
    }
    case 'found':
      return !isAbsent && s.value === op.resValue && shows(s, v) ? present(s.value, v) : undefined
    case 'notFound':
      if (!isAbsent) return undefined
      return v < 0 ? s : shows(s, v) ? absent(v) : undefined
    case 'conflict':
      if (!shows(s, v) || (isAbsent ? op.expect === 0 : op.expect === v)) return undefined
      return isAbsent ? absent(v) : present(s.value, v)
    default:
      return undefined
  }
}

/** The state after an operation whose answer nobody saw takes effect at `s`; undefined for a no-op. */
function unseenEffect(s: State, op: Op): State | undefined {
  const isAbsent = s.value < 0
  switch (op.kind) {
    case 'put':
      return present(op.value, s.version + 1, s.loose)
    case 'get':
      return undefined
    case 'delete':
      return isAbsent ? undefined : absent(s.version + 1)
    case 'cas':
      if (!casHolds(s, op.expect)) return undefined
      return op.expect === 0 ? present(op.value, s.version + 1, true) : present(op.value, op.expect + 1)
  }
}

/** A cas's expectation can hold at `s` (a loose present version may be the one expected). */
function casHolds(s: State, expect: number): boolean {
  if (expect === 0) return s.value < 0
  return s.value >= 0 && shows(s, expect)
}

/**
 * The state after linearizing `op` at `s`, or undefined when it cannot go there. An indeterminate
 * operation goes only where it takes effect: placing it as a no-op equals leaving it out, which the
 * search allows anyway.
 */
function step(s: State, op: Op): State | undefined {
  return op.definite ? answered(s, op) : unseenEffect(s, op)
}

// ---------------------------------------------------------------------------------------------------
// The search (Wing & Gong with Lowe's memoization, after Porcupine)

/** The deepest dead end found: where the explanation of a violation is read. */
interface DeadEnd {
  depth: number
  blocker: number
  state: State
  lastEffect: number
  pending: number[]
}

type Outcome = { steps: number } & (
  | { kind: 'ok' }
  | { kind: 'undecided' }
  | { kind: 'violation'; deepest: DeadEnd }
)

interface Frame {
  state: State
  /** The operation placed to reach this frame; -1 at the root. */
  placed: number
  lastEffect: number
  candidates: number[]
  next: number
  /**
   * The operation to blame if this frame is a dead end: the unplaced one that returned first (all
   * placed from here must precede it), or one that needs an older version than the frame's.
   */
  blocker: number
}

interface Budget {
  maxSteps: number
  expired: () => boolean
}

function makeBudget(init: LinearizabilityInit): Budget {
  const maxSteps = init.maxSteps ?? DEFAULT_MAX_STEPS
  if (init.maxMs === undefined) return { maxSteps, expired: () => false }
  const clock = init.clock ?? { now: () => performance.now() } // io-edge: opt-in wall-clock budget
  const deadline = clock.now() + init.maxMs
  return { maxSteps, expired: () => clock.now() >= deadline }
}

class KeySearch {
  private readonly ops: Op[]
  private readonly list: EventList
  private readonly zobrist: Uint32Array
  private readonly seen = new Set<string>()
  private readonly stack: Frame[] = []
  private h1 = 0
  private h2 = 0
  private steps = 0
  private unplacedDefinite: number
  private readonly versionPins: MinPending
  private deepest: DeadEnd | undefined

  constructor(
    compiled: CompiledKey,
    private readonly budget: Budget,
  ) {
    this.ops = compiled.ops
    this.list = new EventList(this.ops)
    this.zobrist = zobristTable(this.ops.length)
    this.unplacedDefinite = this.ops.filter((o) => o.definite).length
    this.versionPins = new MinPending(this.ops.map((o) => o.preVersion))
  }

  run(): Outcome {
    if (this.unplacedDefinite === 0) return { kind: 'ok', steps: 0 }
    this.stack.push(this.frame(INITIAL, -1, -1))
    while (this.stack.length > 0) {
      const f = this.stack[this.stack.length - 1]!
      if (f.next === f.candidates.length) {
        this.backtrack(f)
        continue
      }
      if (this.outOfBudget()) return { kind: 'undecided', steps: this.steps }
      if (this.tryPlace(f, f.candidates[f.next++]!) && this.unplacedDefinite === 0) {
        return { kind: 'ok', steps: this.steps }
      }
    }
    return { kind: 'violation', steps: this.steps, deepest: this.deepest! }
  }

  private outOfBudget(): boolean {
    this.steps++
    return this.steps > this.budget.maxSteps || ((this.steps & 0xfff) === 0 && this.budget.expired())
  }

  /** Linearizes operation i next if the model allows it and that configuration is new. */
  private tryPlace(f: Frame, i: number): boolean {
    const next = step(f.state, this.ops[i]!)
    if (next === undefined) return false
    this.toggleHash(i)
    const memo = `${this.h1}.${this.h2}.${next.version}.${next.value}.${next.loose ? 1 : 0}`
    if (this.seen.has(memo)) {
      this.toggleHash(i)
      return false
    }
    this.seen.add(memo)
    this.list.lift(i)
    if (this.ops[i]!.definite) this.unplacedDefinite--
    this.versionPins.remove(i)
    const op = this.ops[i]!
    const effected = op.definite ? op.res === 'ok' : true
    this.stack.push(this.frame(next, i, effected ? i : f.lastEffect))
    return true
  }

  private backtrack(f: Frame): void {
    this.stack.pop()
    this.noteDeadEnd(f)
    if (f.placed < 0) return
    this.list.unlift(f.placed)
    this.toggleHash(f.placed)
    if (this.ops[f.placed]!.definite) this.unplacedDefinite++
    this.versionPins.restore(f.placed)
  }

  private noteDeadEnd(f: Frame): void {
    const depth = this.stack.length
    if (this.deepest !== undefined && depth <= this.deepest.depth) return
    const pending = f.candidates.filter((c) => c !== f.blocker)
    this.deepest = { depth, blocker: f.blocker, state: f.state, lastEffect: f.lastEffect, pending }
  }

  private toggleHash(i: number): void {
    this.h1 ^= this.zobrist[2 * i]!
    this.h2 ^= this.zobrist[2 * i + 1]!
  }

  /**
   * A frame's candidates: the calls before the first return in the list (Wing & Gong), definite ones
   * first. Versions never decrease and each effect raises them, so the frame is dead once its version
   * passes the version some unplaced operation must see (that one is to blame), and indeterminate
   * operations may go only while it is below.
   */
  private frame(state: State, placed: number, lastEffect: number): Frame {
    const { definite, indeterminate, blocker } = this.list.candidates()
    const needsOlder = this.versionPins.argmin()
    const ceiling = needsOlder < 0 ? Number.POSITIVE_INFINITY : this.ops[needsOlder]!.preVersion
    const frame = { state, placed, lastEffect, candidates: definite, next: 0, blocker }
    if (state.version > ceiling) return { ...frame, candidates: [], blocker: needsOlder }
    if (state.version < ceiling) frame.candidates = definite.concat(this.onePerClass(indeterminate))
    return frame
  }

  /**
   * Indeterminate candidates with the same effect are interchangeable: all are invoked already and
   * none has a deadline, so whatever one leads to, another leads to by swapping their roles. Trying
   * the first of each class keeps operations that timed out from multiplying the search.
   */
  private onePerClass(indeterminate: number[]): number[] {
    if (indeterminate.length < 2) return indeterminate
    const seen = new Set<number>()
    return indeterminate.filter((c) => {
      const k = this.ops[c]!.effectClass
      if (seen.has(k)) return false
      seen.add(k)
      return true
    })
  }
}

/**
 * The operation with the least key among those not removed (a min segment tree over operation
 * indices): O(log n) per removal or restoration, O(1) per query.
 */
class MinPending {
  private readonly size: number
  private readonly tree: Int32Array

  constructor(private readonly keys: readonly number[]) {
    this.size = 1
    while (this.size < keys.length) this.size *= 2
    this.tree = new Int32Array(2 * this.size).fill(-1)
    keys.forEach((_, i) => {
      this.tree[this.size + i] = i
    })
    for (let n = this.size - 1; n >= 1; n--) this.pull(n)
  }

  /** The index with the least key, -1 when all are removed or +∞. */
  argmin(): number {
    const i = this.tree[1]!
    return i >= 0 && this.keys[i]! < Number.POSITIVE_INFINITY ? i : -1
  }

  remove(i: number): void {
    this.update(i, -1)
  }

  restore(i: number): void {
    this.update(i, i)
  }

  private update(i: number, leaf: number): void {
    let n = this.size + i
    this.tree[n] = leaf
    for (n >>= 1; n >= 1; n >>= 1) this.pull(n)
  }

  private pull(n: number): void {
    const a = this.tree[2 * n]!
    const b = this.tree[2 * n + 1]!
    this.tree[n] = a < 0 || (b >= 0 && this.keys[b]! < this.keys[a]!) ? b : a
  }
}

/** Two random 32-bit words per operation; the XOR over the placed set hashes it in O(1) per step. */
function zobristTable(n: number): Uint32Array {
  const random = new SeededRandom(0x11ea7)
  const table = new Uint32Array(2 * n)
  for (let i = 0; i < table.length; i++) table[i] = random.nextUint32()
  return table
}

/**
 * The call and return events of one key's operations sorted by time — calls before returns at equal
 * times, so touching intervals are concurrent — as a doubly linked list in typed arrays. Indeterminate
 * operations have no return event. Lifting and unlifting in LIFO order restores the list exactly.
 */
class EventList {
  private readonly next: Int32Array
  private readonly prev: Int32Array
  private readonly opOf: Int32Array
  private readonly isCall: Uint8Array
  private readonly callNode: Int32Array
  private readonly returnNode: Int32Array
  private readonly head: number

  constructor(private readonly ops: readonly Op[]) {
    const events = sortedEvents(ops)
    const m = events.length
    this.head = m
    this.next = new Int32Array(m + 1)
    this.prev = new Int32Array(m + 1)
    this.opOf = new Int32Array(m)
    this.isCall = new Uint8Array(m)
    this.callNode = new Int32Array(ops.length)
    this.returnNode = new Int32Array(ops.length).fill(-1)
    events.forEach(([op, isCall], node) => {
      this.opOf[node] = op
      this.isCall[node] = isCall ? 1 : 0
      if (isCall) this.callNode[op] = node
      else this.returnNode[op] = node
      this.next[node] = node + 1 < m ? node + 1 : -1
      this.prev[node] = node === 0 ? this.head : node - 1
    })
    this.next[this.head] = m > 0 ? 0 : -1
  }

  candidates(): { definite: number[]; indeterminate: number[]; blocker: number } {
    const definite: number[] = []
    const indeterminate: number[] = []
    for (let n = this.next[this.head]!; n !== -1; n = this.next[n]!) {
      const op = this.opOf[n]!
      if (!this.isCall[n]) return { definite, indeterminate, blocker: op }
      if (this.ops[op]!.definite) definite.push(op)
      else indeterminate.push(op)
    }
    return { definite, indeterminate, blocker: -1 }
  }

  lift(op: number): void {
    this.remove(this.callNode[op]!)
    const r = this.returnNode[op]!
    if (r >= 0) this.remove(r)
  }

  unlift(op: number): void {
    const r = this.returnNode[op]!
    if (r >= 0) this.reinsert(r)
    this.reinsert(this.callNode[op]!)
  }

  private remove(n: number): void {
    const p = this.prev[n]!
    const q = this.next[n]!
    this.next[p] = q
    if (q !== -1) this.prev[q] = p
  }

  private reinsert(n: number): void {
    const q = this.next[n]!
    this.next[this.prev[n]!] = n
    if (q !== -1) this.prev[q] = n
  }
}

function sortedEvents(ops: readonly Op[]): [op: number, isCall: boolean][] {
  const events: { t: number; op: number; isCall: boolean }[] = []
  ops.forEach((o, op) => {
    events.push({ t: o.invokeAt, op, isCall: true })
    if (o.definite) events.push({ t: o.returnAt, op, isCall: false })
  })
  events.sort((a, b) => a.t - b.t || Number(b.isCall) - Number(a.isCall) || a.op - b.op)
  return events.map((e) => [e.op, e.isCall])
}

// ---------------------------------------------------------------------------------------------------
// Explaining a violation

function explain(key: string, compiled: CompiledKey, d: DeadEnd): NoLinearizationViolation {
  const { ops, values } = compiled
  const op = ops[d.blocker]!.source
  const lastEffect = d.lastEffect >= 0 ? ops[d.lastEffect]!.source : undefined
  const written = lastEffect && 'args' in lastEffect ? lastEffect.args?.value : undefined
  const state: RegisterState = {
    exists: d.state.value >= 0,
    value: d.state.value > UNREAD ? values[d.state.value] : d.state.value === UNREAD ? written : undefined,
    version: d.state.version,
  }
  const pending = d.pending.slice(0, MAX_PENDING_REPORTED).map((i) => ops[i]!.source)
  const by = lastEffect ? ` (last changed by ${describeOperation(lastEffect)})` : ' (initial)'
  const message =
    `key ${JSON.stringify(key)}: ${describeOperation(op)} cannot be linearized; after the longest ` +
    `linearizable prefix (${d.depth} operations) the register is ${describeState(state)}${by}` +
    (pending.length > 0 ? `; also pending: ${pending.map(describeOperation).join('; ')}` : '')
  return { kind: 'no-linearization', key, message, op, state, lastEffect, linearized: d.depth, pending }
}

/** One line for an operation: `#7 client 2 put("b") → ok v3 [10, 14]`. */
export function describeOperation(o: KvOperation): string {
  const args =
    o.op === 'put'
      ? showValue(o.args.value)
      : o.op === 'cas'
        ? `expect ${o.args.expect}, ${showValue(o.args.value)}`
        : ''
  const r = o.result
  const result =
    r.type === 'found'
      ? `found ${showValue(r.value)} v${r.version}`
      : 'version' in r && r.version !== undefined
        ? `${r.type} v${r.version}`
        : r.type
  const end = o.returnAt === undefined ? '∞' : String(o.returnAt)
  return `#${String(o.id)} client ${String(o.client)} ${o.op}(${args}) → ${result} [${o.invokeAt}, ${end}]`
}

function describeState(s: RegisterState): string {
  return s.exists ? `${showValue(s.value!)} v${s.version}` : `absent v${s.version}`
}

function showValue(v: KvValue): string {
  if (typeof v !== 'string') return `<${v.length} bytes>`
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
}
