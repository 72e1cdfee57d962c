/**
 * npm run --silent bench:kv-sim [-- --seeds 1-1000 --ops 400 --acceptors 3 --json]
 * One linearizability history per seed on the production KvAcceptor and KvProposer
 * (test/sim/kv-cluster.ts: crashes that lose unsynced writes, partitions of a minority and of a
 * majority, message loss, client crashes). Every fourth seed runs a group of 5 instead of 3 unless
 * --acceptors is given. Then the mutant (accept quorum of one) runs seed after seed from the first
 * until the checker catches it. Prints one JSON line (--json) or a short summary; a failing seed is
 * printed to stderr with the first violation, and `runKvSim({ seed })` replays it exactly.
 *
 * reconfigurations and rangeMoves are 0: this layer has one fixed group (see the package README).
 */
import { runKvSim } from '../test/sim/kv-cluster.js'

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
  invariantViolations: 0,
  answered: 0,
  indeterminate: 0,
  failed: 0,
  acceptorCrashes: 0,
  clientCrashes: 0,
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
  sum.invariantViolations += r.invariantViolations.length
  sum.answered += r.answered
  sum.indeterminate += r.indeterminate
  sum.failed += r.failed
  sum.acceptorCrashes += r.acceptorCrashes
  sum.clientCrashes += r.clientCrashes
  sum.partitions += r.partitions
  if (!r.report.ok || r.invariantViolations.length > 0) {
    sum.failingSeeds.push(seed)
    const why = r.report.violations[0]?.message ?? r.report.undecided[0] ?? r.invariantViolations[0]
    console.error(`seed ${seed} FAILED: ${why}`)
  }
}
for (const seed of seeds) {
  const r = await runKvSim({ seed, ops, acceptors: acceptorsFor(seed), acceptQuorum: 1 })
  if (r.report.violations.length > 0) {
    sum.mutantCaught = true
    sum.mutantSeed = seed
    break
  }
}
sum.wallMs = Math.round(performance.now() - started)
if (args.includes('--json')) {
  console.log(JSON.stringify(sum))
} else {
  console.log(
    `${sum.histories} histories, ${sum.operations} operations (${sum.answered} answered, ${sum.indeterminate} ` +
      `indeterminate, ${sum.failed} failed): ${sum.violations} violations, ${sum.undecided} undecided, ` +
      `${sum.invariantViolations} invariant violations; mutant (accept quorum 1) ` +
      `${sum.mutantCaught ? `caught on seed ${sum.mutantSeed}` : 'NOT caught'}; ${sum.wallMs} ms`,
  )
}
