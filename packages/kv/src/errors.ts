import { SwarmstoreError } from '@swarmstore/core'
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from './constants.js'

/** The stable codes of every input a KV state machine refuses; a reply carries the code. */
export type KvInputErrorCode =
  | 'ERR_KV_KEY_TOO_LONG'
  | 'ERR_KV_KEY_NOT_UTF8'
  | 'ERR_KV_VALUE_TOO_LARGE'
  | 'ERR_KV_BAD_EXPECT'
  | 'ERR_KV_MALFORMED_MESSAGE'
  | 'ERR_KV_RANGE_FULL'

/** A request or wire message the KV layer refuses; nothing was changed. */
export abstract class KvInputError extends SwarmstoreError {
  declare readonly code: KvInputErrorCode
}

export class KvKeyTooLongError extends KvInputError {
  constructor(bytes: number) {
    super('ERR_KV_KEY_TOO_LONG', `key is ${bytes} bytes of UTF-8; at most ${MAX_KEY_BYTES} are allowed`)
  }
}

/** The key is not a string of Unicode scalar values (a lone surrogate cannot be UTF-8). */
export class KvKeyNotUtf8Error extends KvInputError {
  constructor() {
    super('ERR_KV_KEY_NOT_UTF8', 'key is not valid UTF-8 (it holds a lone surrogate or is not a string)')
  }
}

export class KvValueTooLargeError extends KvInputError {
  constructor(bytes: number) {
    super('ERR_KV_VALUE_TOO_LARGE', `value is ${bytes} bytes; at most ${MAX_VALUE_BYTES} (1 MiB) are allowed`)
  }
}

export class KvBadExpectError extends KvInputError {
  constructor(expect: unknown) {
    super('ERR_KV_BAD_EXPECT', `cas expects a version that is an integer ≥ 0, got ${String(expect)}`)
  }
}

export class KvMalformedMessageError extends KvInputError {
  constructor(why: string) {
    super('ERR_KV_MALFORMED_MESSAGE', `malformed KV message: ${why}`)
  }
}

/**
 * A write that would grow its key's range past what one message can carry when the range moves
 * (`rangeBytes` of the acceptor): refused before anything is sent, so it surely took no effect.
 */
export class KvRangeFullError extends KvInputError {
  constructor(range: number, bytes: number, budget: number) {
    super(
      'ERR_KV_RANGE_FULL',
      `key-value range ${range} would hold ${bytes} bytes; a range holds at most ${budget} until range ` +
        'snapshots are paged (delete keys of this range, or store large values as files)',
    )
  }
}

/** A proposer or acceptor built with options that cannot work (no members, a quorum out of range). */
export class KvConfigError extends SwarmstoreError {
  constructor(message: string) {
    super('ERR_KV_CONFIG', message)
  }
}
