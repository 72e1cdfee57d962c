import { KvConfigError } from './errors.js'

/**
 * A group's configuration: which acceptors hold its keys, under which epoch. Fixed at construction
 * in this layer; reconfiguration (a new epoch decided by the group itself) comes later.
 */
export interface GroupConfig {
  readonly epoch: number
  readonly members: readonly string[]
}

/** The smallest number of members any two sets of which share one. */
export function majority(members: number): number {
  return Math.floor(members / 2) + 1
}

export function checkConfig(c: GroupConfig): void {
  if (!Number.isSafeInteger(c.epoch) || c.epoch < 0) {
    throw new KvConfigError(`epoch must be an integer ≥ 0, got ${c.epoch}`)
  }
  if (c.members.length === 0) throw new KvConfigError('a group needs at least one member')
  if (new Set(c.members).size !== c.members.length) {
    throw new KvConfigError(`a group lists a member twice: ${c.members.join(', ')}`)
  }
}
