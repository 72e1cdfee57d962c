/**
 * Ballots: the totally ordered proposal numbers of Paxos. A proposer makes a fresh one by taking a
 * counter above every counter it has seen; two proposers never make the same ballot because the
 * proposer id breaks ties, so ids must be unique per process incarnation (a restarted proposer that
 * reused its id and restarted its counter could otherwise send two states under one ballot).
 */
export interface Ballot {
  readonly counter: number
  readonly proposer: string
}

/** Below every ballot a proposer makes (their counters start at 1): what a fresh acceptor promised. */
export const ZERO_BALLOT: Ballot = { counter: 0, proposer: '' }

/** Negative, zero or positive as a is below, equal to or above b: by counter, then proposer id. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  if (a.proposer === b.proposer) return 0
  return a.proposer < b.proposer ? -1 : 1
}

export function ballotToString(b: Ballot): string {
  return `${b.counter}.${b.proposer}`
}

/** The ballot right after `b` from the same proposer (what an accept with `next` promises). */
export function nextBallot(b: Ballot): Ballot {
  return { counter: b.counter + 1, proposer: b.proposer }
}
