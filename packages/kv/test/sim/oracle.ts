import {
  type AcceptorRecord,
  type Ballot,
  ballotToString,
  compareBallots,
  type GroupConfig,
  type KvAcceptor,
  type KvReply,
  majority,
  type TransitionValue,
} from '../../src/index.js'

/** What a reply answered, as far as the never-backwards check needs it. */
export interface Asked {
  readonly t: string
  readonly range: number
  readonly epoch: number
  readonly key?: string
}

/** What one acceptor host has shown in its replies: the floor its state may never fall below. */
interface Shown {
  /** range → the highest epoch shown */
  epochs: Map<number, number>
  /** range/epoch → the highest move ballot promised (sealed, committed, or a refusal showing it) */
  seals: Map<string, Ballot>
  /** range/epoch/key → the highest key ballot promised */
  promises: Map<string, Ballot>
}

/**
 * The invariants checked as a simulated run goes, beside the history check at the end. Each is
 * judged from the acceptors' disks and replies, never from what a state machine says of itself:
 *
 * (a) One configuration per (range, epoch): every range record an acceptor writes (a member's,
 *     a leaver's) and every `moved` outcome names the same members for an epoch; one transition is
 *     chosen out of an epoch (a ballot accepted durably by a majority of its members — the Paxos
 *     instance of the move); and every transition installed anywhere is the one chosen.
 * (b) Answered ⇒ durable on a majority: an answer at version v, given by a round at epoch e, finds
 *     a majority of e's members holding the key at e durably at a version ≥ v.
 * (c) Never backwards: no acceptor, crashed and restored or not, falls below what it replied —
 *     its epoch for a range, its move promise at that epoch, its promise for a key at that epoch.
 */
export class KvOracle {
  readonly violations: string[] = []
  /** range/epoch → its configuration (the genesis, or as some acceptor installed it) */
  private readonly configs = new Map<string, GroupConfig>()
  /** range/epoch/ballot → the transition accepted under it and the members that hold it durably */
  private readonly accepts = new Map<string, { value: TransitionValue; by: Set<string> }>()
  /** range/epoch → the transition chosen out of it */
  private readonly chosen = new Map<string, { value: TransitionValue; from: GroupConfig }>()
  /** host → range/epoch/key → the highest version it holds on disk */
  private readonly durable = new Map<string, Map<string, number>>()
  private readonly shown = new Map<string, Shown>()

  constructor(private readonly now: () => number) {}

  /** A range's first configuration. */
  genesis(range: number, config: GroupConfig): void {
    this.configs.set(`${range}/${config.epoch}`, config)
  }

  /** The highest-epoch configuration of `range` any acceptor installed (the truth, for the driver). */
  latest(range: number): GroupConfig {
    let best: GroupConfig | undefined
    for (const [k, c] of this.configs) {
      if (k.startsWith(`${range}/`) && (best === undefined || c.epoch > best.epoch)) best = c
    }
    return best!
  }

  /** Chosen transitions: all of them, and those that changed a member. */
  reconfigurations(): { reconfigurations: number; rangeMoves: number } {
    let rangeMoves = 0
    for (const { value, from } of this.chosen.values()) {
      if (!sameMembers(value.next.members, from.members)) rangeMoves++
    }
    return { reconfigurations: this.chosen.size, rangeMoves }
  }

  // (a) ------------------------------------------------------------------------------------------

  /** An acceptor is about to write these records (a `persist` action). */
  writing(host: string, records: readonly AcceptorRecord[]): void {
    for (const r of records) {
      if (r.t !== 'range') continue
      this.config(r.range, r.config, `${host}'s range record`)
      const { arrival } = r
      const member = r.config.members.includes(host)
      if (arrival !== undefined) this.installed(r.range, arrival.from, arrival.value, host)
      else if (!member) this.installed(r.range, r.config.epoch - 1, undefined, host, r.config)
    }
  }

  /** A mover's outcome `moved {config}`. */
  moved(range: number, config: GroupConfig, mover: string): void {
    this.config(range, config, `${mover}'s outcome`)
  }

  private config(range: number, c: GroupConfig, where: string): void {
    const k = `${range}/${c.epoch}`
    const known = this.configs.get(k)
    if (known === undefined) this.configs.set(k, c)
    else if (!sameMembers(known.members, c.members)) {
      this.fail(
        `two configurations of range ${range} at epoch ${c.epoch}: [${known.members}] and [${c.members}] (${where})`,
      )
    }
  }

  /** A transition out of `from` is installed (a member's arrival, or a leaver's record of `next`). */
  private installed(
    range: number,
    from: number,
    value: TransitionValue | undefined,
    host: string,
    next = value?.next,
  ): void {
    const chosen = this.chosen.get(`${range}/${from}`)
    const same =
      chosen !== undefined &&
      (value === undefined
        ? sameMembers(chosen.value.next.members, next!.members)
        : sameValue(chosen.value, value))
    if (!same) {
      this.fail(
        `${host} installs range ${range} at epoch ${from + 1} [${next?.members}] from a transition not chosen`,
      )
    }
  }

  // (b) ------------------------------------------------------------------------------------------

  /** These records reached `host`'s disk (a completed write, or the surviving part of a torn one). */
  onDisk(host: string, records: readonly AcceptorRecord[]): void {
    const held = getOrSet(this.durable, host, () => new Map<string, number>())
    for (const r of records) {
      if (r.t === 'key' || r.t === 'purged') {
        const k = `${r.range}/${r.epoch}/${r.key}`
        // a purged tombstone's version lives on in the floor its record carries
        const v = r.t === 'key' ? r.accepted?.state.version : r.floor.version
        if (v !== undefined && v >= (held.get(k) ?? -1)) held.set(k, v)
      } else if (r.transition !== undefined && r.config.members.includes(host)) {
        this.acceptedTransition(host, r)
      }
    }
  }

  /** A durable accepted transition: chosen once a majority of the epoch's members hold its ballot. */
  private acceptedTransition(host: string, r: AcceptorRecord & { t: 'range' }): void {
    const t = r.transition!
    const k = `${r.range}/${r.config.epoch}/${ballotToString(t.ballot)}`
    const a = getOrSet(this.accepts, k, () => ({ value: t.value, by: new Set<string>() }))
    if (!sameValue(a.value, t.value)) this.fail(`two transitions under one ballot ${k}`)
    a.by.add(host)
    if (a.by.size < majority(r.config.members.length)) return
    const epochKey = `${r.range}/${r.config.epoch}`
    const before = this.chosen.get(epochKey)
    if (before === undefined) this.chosen.set(epochKey, { value: t.value, from: r.config })
    else if (!sameValue(before.value, t.value)) {
      this.fail(
        `two transitions chosen out of range ${r.range} epoch ${r.config.epoch}: ` +
          `[${before.value.next.members}] and [${t.value.next.members}]`,
      )
    }
  }

  /** A round at `epoch` answered `version` for `key`: is it on a majority of that epoch's disks? */
  answered(range: number, epoch: number, key: string, version: number, what: string): void {
    const config = this.configs.get(`${range}/${epoch}`)
    if (config === undefined) {
      this.fail(`answered ${what} on ${key} at epoch ${epoch} of range ${range}, which nobody holds`)
      return
    }
    if (version === 0) return // absent, never written: nothing had to be stored (a get's peek)
    let holders = 0
    for (const m of config.members) {
      if ((this.durable.get(m)?.get(`${range}/${epoch}/${key}`) ?? -1) >= version) holders++
    }
    if (holders < majority(config.members.length)) {
      this.fail(`answered ${what} v${version} on ${key} at epoch ${epoch} with the state on ${holders} disks`)
    }
  }

  // (c) ------------------------------------------------------------------------------------------

  /** `host` replied `reply` to `asked`: remember the floor it showed, and check it still holds. */
  replied(host: string, acceptor: KvAcceptor, asked: Asked, reply: KvReply): void {
    const s = this.shownBy(host)
    const { range, epoch } = asked
    // Every reply, a refusal too, leaves only once the state it shows is durable (the sim's seed
    // 479 once caught `stale` leaving before the install it showed was written).
    const shownEpoch =
      reply.t === 'installed' || reply.t === 'behind'
        ? reply.epoch
        : reply.t === 'stale'
          ? reply.config.epoch
          : reply.t === 'moved'
            ? reply.value.next.epoch
            : reply.t !== 'invalid'
              ? epoch
              : undefined
    if (shownEpoch !== undefined && shownEpoch > (s.epochs.get(range) ?? -1)) s.epochs.set(range, shownEpoch)
    const ballot =
      reply.t === 'reject'
        ? reply.promised
        : reply.t === 'promise' || reply.t === 'accepted' || reply.t === 'sealed' || reply.t === 'committed'
          ? reply.ballot
          : undefined
    if (ballot !== undefined) {
      const keyed = asked.t === 'prepare' || asked.t === 'accept'
      const map = keyed ? s.promises : s.seals
      const k = keyed ? `${range}/${epoch}/${asked.key}` : `${range}/${epoch}`
      const before = map.get(k)
      if (before === undefined || compareBallots(ballot, before) > 0) map.set(k, ballot)
    }
    this.checkFloors(host, acceptor, range, asked.key)
  }

  /** `host` restarted from its disk: nothing it ever replied may be lost. */
  restored(host: string, acceptor: KvAcceptor): void {
    const s = this.shownBy(host)
    for (const range of s.epochs.keys()) this.checkFloors(host, acceptor, range)
  }

  /** Checks the floors of `range` (of its keys: only `key`'s, when given). */
  private checkFloors(host: string, acceptor: KvAcceptor, range: number, key?: string): void {
    const s = this.shownBy(host)
    const floor = s.epochs.get(range)
    if (floor === undefined) return
    const record = acceptor.rangeRecord(range)
    const epoch = record?.config.epoch ?? 0
    if (epoch < floor) {
      this.fail(`${host} went back from epoch ${floor} to ${epoch} on range ${range}`)
      return
    }
    const seal = s.seals.get(`${range}/${epoch}`)
    if (seal !== undefined && (record?.sealed === undefined || compareBallots(record.sealed, seal) < 0)) {
      this.fail(`${host} lost its move promise ${ballotToString(seal)} on range ${range} epoch ${epoch}`)
    }
    const prefix = `${range}/${epoch}/`
    const floors =
      key === undefined
        ? [...s.promises].filter(([k]) => k.startsWith(prefix))
        : [[prefix + key, s.promises.get(prefix + key)] as const]
    for (const [k, b] of floors) {
      if (b === undefined) continue
      // a purged key's promise lives on in the range's floor
      const promised = acceptor.record(range, k.slice(prefix.length))?.promised ?? record?.floor?.ballot
      if (promised === undefined || compareBallots(promised, b) < 0) {
        this.fail(`${host} moved backwards on ${k.slice(prefix.length)} (range ${range} epoch ${epoch})`)
      }
    }
  }

  private shownBy(host: string): Shown {
    return getOrSet(this.shown, host, () => ({ epochs: new Map(), seals: new Map(), promises: new Map() }))
  }

  private fail(what: string): void {
    this.violations.push(`${what} at t=${this.now()}`)
  }
}

function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key)
  if (v === undefined) {
    v = make()
    map.set(key, v)
  }
  return v
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n')
}

/** Two transitions are the same value: the same next configuration and the same snapshot. */
function sameValue(a: TransitionValue, b: TransitionValue): boolean {
  return a === b || canonical(a) === canonical(b)
}

function canonical(t: TransitionValue): string {
  const entries = t.snapshot.map(({ key, state: s }) => {
    const value = s.value === undefined ? '-' : Buffer.from(s.value).toString('hex')
    return `${key}=${s.version}:${value}:${s.effects.map((e) => `${e.version}@${e.by}`).join(',')}`
  })
  return `${t.next.epoch}|${t.next.members.join(',')}|${t.floor ?? 0}|${entries.sort().join('|')}`
}
