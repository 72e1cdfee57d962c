import type { Random } from '@swarmstore/core'
import type { AcceptorRecord } from '../../src/index.js'

/**
 * An acceptor host's disk: an append-only log of records (as the daemon's write-ahead file), one
 * batch written at a time. A batch is on the disk only once its write completes — or, when the
 * host crashes mid-write, a random prefix of it is (a torn group commit). A restart reads the log.
 */
export class SimDisk {
  /** Every record that reached the disk, in write order: what a restart restores from. */
  readonly log: AcceptorRecord[] = []
  private writing: readonly AcceptorRecord[] | undefined

  /** A write starts; `done()` when it completes. */
  begin(records: readonly AcceptorRecord[]): void {
    this.writing = records
  }

  /** The write in progress reached the disk whole; returns its records. */
  done(): readonly AcceptorRecord[] {
    const records = this.writing ?? []
    this.log.push(...records)
    this.writing = undefined
    return records
  }

  /** The host crashed: some prefix of the write in progress (maybe none, maybe all) survives. */
  tear(random: Random): readonly AcceptorRecord[] {
    const w = this.writing ?? []
    const survived = w.slice(0, random.int(w.length + 1))
    this.log.push(...survived)
    this.writing = undefined
    return survived
  }
}
