import type { KvOperation } from '@swarmstore/sim'
import type { KvAnswer, KvRequest } from '../../src/index.js'

/** The clients' operations in the checker's `KvOperation` format, in invocation order. */
export class History {
  readonly ops: KvOperation[] = []
  private nextId = 1

  /** A client invoked `req` at (true) time `now`: open until `end`, indeterminate if it never ends. */
  begin(client: string, req: KvRequest, now: number): KvOperation {
    const base = { id: this.nextId++, client, key: req.key, invokeAt: now }
    const result = { type: 'indeterminate' } as const
    const op: KvOperation =
      req.t === 'put'
        ? { ...base, op: 'put', args: { value: req.value }, result }
        : req.t === 'cas'
          ? { ...base, op: 'cas', args: { expect: req.expect, value: req.value }, result }
          : { ...base, op: req.t, result }
    this.ops.push(op)
    return op
  }

  end(op: KvOperation, answer: KvAnswer, now: number): void {
    op.returnAt = now
    op.result = toResult(answer) as never
  }

  count(type: KvOperation['result']['type']): number {
    return this.ops.filter((o) => o.result.type === type).length
  }
}

/** The checker's result for an answer: unavailable is indeterminate iff an accept left. */
function toResult(a: KvAnswer): KvOperation['result'] {
  switch (a.t) {
    case 'ok':
      return { type: 'ok', version: a.version }
    case 'found':
      return { type: 'found', value: a.value, version: a.version }
    case 'notFound':
      return { type: 'notFound', version: a.version }
    case 'conflict':
      return { type: 'conflict', version: a.version }
    case 'unavailable':
      return a.acceptSent ? { type: 'indeterminate' } : { type: 'failed' }
    case 'invalid':
      return { type: 'failed' }
  }
}
