/**
 * Typed errors of the storage package. Each has a stable `code` (it crosses the control API and
 * the wire unchanged); callers branch on the class or the code, never on the message.
 */
import { SwarmstoreError } from '@swarmstore/core'

/** The chunk is not in this store (never was, was deleted, or was quarantined). */
export class ChunkNotFoundError extends SwarmstoreError {
  readonly cid: string
  constructor(cid: string) {
    super('CHUNK_NOT_FOUND', `chunk ${cid} is not in this store`)
    this.cid = cid
  }
}

/**
 * The stored bytes do not hash to the chunk's CID (bit rot, truncation, a bad disk). The chunk has
 * already been moved to quarantine; the caller should re-fetch it from a replica.
 */
export class ChunkCorruptError extends SwarmstoreError {
  readonly cid: string
  constructor(cid: string, detail: string, options?: { cause?: unknown }) {
    super('CHUNK_CORRUPT', `chunk ${cid} is corrupt (${detail}); it was quarantined`, options)
    this.cid = cid
  }
}

/** The bytes handed to put (or returned by a peer) do not hash to the CID they came with. */
export class HashMismatchError extends SwarmstoreError {
  readonly cid: string
  constructor(cid: string) {
    super('HASH_MISMATCH', `bytes do not hash to ${cid}`)
    this.cid = cid
  }
}

/** A put would take the store over its hard capacity quota; nothing was written. */
export class CapacityExceededError extends SwarmstoreError {
  readonly needed: number
  readonly free: number
  constructor(needed: number, free: number, capacity: number) {
    super(
      'CAPACITY_EXCEEDED',
      `store is full: ${needed} bytes needed, ${free} of ${capacity} bytes free; raise capacityBytes or free space`,
    )
    this.needed = needed
    this.free = free
  }
}

/** Not a CID this store accepts (CIDv1, sha2-256 with a 32-byte digest, raw or dag-cbor codec). */
export class BadCidError extends SwarmstoreError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('BAD_CID', `bad CID: ${detail}`, options)
  }
}

/** A CAR stream that cannot be parsed or holds a block that does not match its CID. */
export class BadCarError extends SwarmstoreError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('BAD_CAR', `bad CAR input: ${detail}; nothing was imported`, options)
  }
}

/** A manifest that fails strict validation (untrusted input from the swarm). */
export class BadManifestError extends SwarmstoreError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('BAD_MANIFEST', `bad manifest: ${detail}`, options)
  }
}

/** A data dir or manifest written by a newer (or foreign) format that this code cannot read. */
export class UnknownFormatError extends SwarmstoreError {
  constructor(detail: string) {
    super('UNKNOWN_FORMAT', `unknown format: ${detail}`)
  }
}

/** A byte range outside the file. */
export class BadRangeError extends SwarmstoreError {
  constructor(detail: string) {
    super('BAD_RANGE', `bad byte range: ${detail}`)
  }
}

/** An explicit delete of a pinned chunk without `force`. */
export class ChunkPinnedError extends SwarmstoreError {
  readonly cid: string
  constructor(cid: string) {
    super('CHUNK_PINNED', `chunk ${cid} is pinned; unpin it first or pass { force: true }`)
    this.cid = cid
  }
}

/** The store was used after close(). */
export class StoreClosedError extends SwarmstoreError {
  constructor() {
    super('STORE_CLOSED', 'the chunk store is closed')
  }
}

/** A chunk larger than the store accepts (maxChunkBytes). */
export class ChunkTooLargeError extends SwarmstoreError {
  constructor(size: number, max: number) {
    super('CHUNK_TOO_LARGE', `chunk of ${size} bytes exceeds the ${max}-byte limit`)
  }
}

/** The file at a record log's path does not start with the record log's magic bytes: not ours. */
export class RecordLogForeignError extends SwarmstoreError {
  readonly path: string
  constructor(path: string) {
    super(
      'ERR_RECORD_LOG_FOREIGN',
      `${path} is not a swarmstore record log (no SWKVLOG1 header); refusing to touch it — check the path`,
    )
    this.path = path
  }
}

/** The record log was used after close(). */
export class RecordLogClosedError extends SwarmstoreError {
  constructor() {
    super('ERR_RECORD_LOG_CLOSED', 'the record log is closed')
  }
}

/**
 * An earlier write or fsync of the record log failed, so what is on disk is unknown; the log refuses
 * all further work. Reopen it (as after a crash) to learn what survived.
 */
export class RecordLogFailedError extends SwarmstoreError {
  constructor(options?: { cause?: unknown }) {
    super('ERR_RECORD_LOG_FAILED', 'an earlier write to the record log failed; reopen it to recover', options)
  }
}

/** A record larger than the log's maxRecordBytes; nothing was written. */
export class RecordTooLargeError extends SwarmstoreError {
  constructor(size: number, max: number) {
    super('ERR_RECORD_TOO_LARGE', `record of ${size} bytes exceeds the record log's ${max}-byte limit`)
  }
}
