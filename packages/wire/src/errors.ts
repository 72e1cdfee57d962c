import { SwarmstoreError } from '@swarmstore/core'

/** A frame announced a length above the bound; nothing of it was buffered. */
export class FrameTooLargeError extends SwarmstoreError {
  constructor(length: number, max: number) {
    super('FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${max} bytes`)
  }
}

/** The bytes are not a frame or not a valid message (bad varint, bad CBOR, wrong shape). */
export class BadMessageError extends SwarmstoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_MESSAGE', message, options)
  }
}

/** The peer did not send the next frame in time. */
export class ReadTimeoutError extends SwarmstoreError {
  constructor(ms: number) {
    super('READ_TIMEOUT', `no complete frame within ${ms} ms`)
  }
}

/** The stream ended before a complete frame (or before the reply that was expected). */
export class UnexpectedEndError extends SwarmstoreError {
  constructor(message = 'stream ended before a complete frame') {
    super('UNEXPECTED_END', message)
  }
}

/** Invalid swarm name for protocol ids. */
export class BadSwarmNameError extends SwarmstoreError {
  constructor(name: string) {
    super('BAD_SWARM_NAME', `swarm name ${JSON.stringify(name)} must be 1-32 chars of a-z, 0-9, "-" and "_"`)
  }
}
