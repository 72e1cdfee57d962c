/**
 * npm run --silent bench:kv-sim [-- --seeds 1-1000 --ops 400 --acceptors 3 --json]
 * One linearizability history per seed on the production KvAcceptor, KvProposer and RangeMover
 * (test/sim/kv-cluster.ts: 4 ranges over a pool of acceptor hosts larger than a group, moves that
 * replace a dead member, hand a range to a newcomer, lose their mover mid-move, race another
 * mover out of the same epoch or resize the group; one seed in three starts from one founder, as
 * the daemon does; crashes that lose unsynced writes, partitions of a minority and of a majority,
 * message loss and stuck messages, client and mover crashes, clocks skewed ±2 s and drifting ±1 %).
 * Every fourth seed runs groups of 5 instead of 3 unless --acceptors is given. Then each mutant
 * runs seed after seed from the first until it is caught: the proposers' accept quorum of one
 * (`mutantCaught`: by the history checker), and two broken movers (`moverMutants`: by the
 * history checker or the invariants) — one that commits its own members although a sealed answer
 * carried an accepted transition, one that seals and commits at a single old member. Prints one
 * JSON line (--json) or a short summary; a failing seed is printed to stderr with the first
 * violation, and `runKvSim({ seed, acceptors })` replays it exactly.
 *
 * reconfigurations: transitions chosen (accepted durably by a majority of the old members);
 * rangeMoves: those among them whose member set differs from the old one (the others are the
 * finisher's: a range left frozen moved on to the same members). stalledRanges: ranges whose
 * newest configuration is installed at fewer than a majority of its members when the run ends.
 * tombstonesPurged: tombstones the clients' sweeps had every member forget.
 */
import { type KvSimOptions, type MoverMutant, runKvSim } from '../test/sim/kv-cluster.js'

const args = process.argv.slice(2)
const arg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const [a, b] = (arg('seeds') ?? '1-100').split('-').map(Number)
const seeds = Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i)
const ops = Number(arg('ops') ?? 400)
const fixedAcceptors = arg('acceptors') === undefined ? undefined : Number(arg('acceptors'))
const acceptorsFor = (seed: number) => fixedAcceptors ?? (seed % 4 === 0 ? 5 : 3)

const started = performance.now() // io-edge: the bench reports its own wall time
const sum = {
  histories: 0,
  operations: 0,
  violations: 0,
  undecided: 0,
  reconfigurations: 0,
  rangeMoves: 0,
  mutantCaught: false,
  mutantSeed: undefined as number | undefined,
  moverMutants: {} as Partial<Record<MoverMutant, number | null>>,
  invariantViolations: 0,
  answered: 0,
  indeterminate: 0,
  failed: 0,
  movesStarted: 0,
  movesMoved: 0,
  movesSuperseded: 0,
  movesFailed: 0,
  finisherMoves: 0,
  stalledRanges: 0,
  tombstonesPurged: 0,
  resizes: 0,
  acceptorCrashes: 0,
  clientCrashes: 0,
  moverCrashes: 0,
  partitions: 0,
  failingSeeds: [] as number[],
  wallMs: 0,
}
for (const seed of seeds) {
  const r = await runKvSim({ seed, ops, acceptors: acceptorsFor(seed) })
  sum.histories++
  sum.operations += r.history.length
  sum.violations += r.report.violations.length
  sum.undecided += r.report.undecided.length
  sum.reconfigurations += r.reconfigurations
  sum.rangeMoves += r.rangeMoves
  sum.invariantViolations += r.invariantViolations.length
  sum.answered += r.answered
  sum.indeterminate += r.indeterminate
  sum.failed += r.failed
  sum.movesStarted += r.moves.started
  sum.movesMoved += r.moves.moved
  sum.movesSuperseded += r.moves.superseded
  sum.movesFailed += r.moves.failed
  sum.finisherMoves += r.finisherMoves
  sum.tombstonesPurged += r.purged
  sum.stalledRanges += r.stalledRanges
  sum.resizes += r.faults.resizes
  sum.acceptorCrashes += r.faults.acceptorCrashes
  sum.clientCrashes += r.faults.clientCrashes
  sum.moverCrashes += r.faults.moverCrashes
  sum.partitions += r.faults.partitions
  if (!r.report.ok || r.invariantViolations.length > 0) {
    sum.failingSeeds.push(seed)
    const why = r.report.violations[0]?.message ?? r.report.undecided[0] ?? r.invariantViolations[0]
    console.error(`seed ${seed} (acceptors ${acceptorsFor(seed)}) FAILED: ${why}`)
  }
}

/** The first seed on which the mutant is caught, or null if none is. */
async function firstCatch(
  mutant: Partial<KvSimOptions>,
  caught: (r: Awaited<ReturnType<typeof runKvSim>>) => boolean,
): Promise<number | null> {
  for (const seed of seeds) {
    if (caught(await runKvSim({ seed, ops, acceptors: acceptorsFor(seed), ...mutant }))) return seed
  }
  return null
}

const quorumSeed = await firstCatch({ acceptQuorum: 1 }, (r) => r.report.violations.length > 0)
sum.mutantCaught = quorumSeed !== null
sum.mutantSeed = quorumSeed ?? undefined
for (const moverMutant of ['ignore-transition', 'minority'] as const) {
  sum.moverMutants[moverMutant] = await firstCatch(
    { moverMutant },
    (r) => r.report.violations.length > 0 || r.invariantViolations.length > 0,
  )
}
sum.wallMs = Math.round(performance.now() - started)
if (args.includes('--json')) {
  console.log(JSON.stringify(sum))
} else {
  const movers = Object.entries(sum.moverMutants)
    .map(([m, s]) => `${m} ${s === null ? 'NOT caught' : `caught on seed ${s}`}`)
    .join(', ')
  console.log(
    `${sum.histories} histories, ${sum.operations} operations (${sum.answered} answered, ${sum.indeterminate} ` +
      `indeterminate, ${sum.failed} failed): ${sum.violations} violations, ${sum.undecided} undecided, ` +
      `${sum.invariantViolations} invariant violations; ${sum.reconfigurations} reconfigurations ` +
      `(${sum.rangeMoves} range moves); mutant (accept quorum 1) ` +
      `${sum.mutantCaught ? `caught on seed ${sum.mutantSeed}` : 'NOT caught'}; mover mutants: ${movers}; ` +
      `${sum.wallMs} ms`,
  )
}
