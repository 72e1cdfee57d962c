import { peerIdFromString } from '@libp2p/peer-id'
import { type Contact, contactFromPeerId, keyForKvName } from '@swarmstore/core'
import {
  entryBytes,
  type GroupConfig,
  type KvAnswer,
  type KvMessage,
  KvRangeFullError,
  type KvReply,
  type KvRequest,
  maxEntryBytes,
  parseConfig,
  parseKvReply,
  RANGE_COUNT,
  rangeOf,
} from '@swarmstore/kv'
import type { Membership } from '@swarmstore/membership'
import { maxFrameBytes, protocolId, type Reply, type Request } from '@swarmstore/wire'
import type { Logger } from 'pino'
import { type PeerRpc, wasNotSent } from '../peer-rpc.js'
import { AcceptorHost } from './acceptor-host.js'
import { decodeKv, encodeKv } from './codec.js'
import { KvEngine } from './engine.js'
import { parseAnswer, parseOp } from './ops.js'
import { RangeManager } from './range-manager.js'
import { RingMap } from './ring.js'
import { RingGossip } from './ring-gossip.js'
import type { KvGroupsView, KvService } from './service.js'

/** An acceptor request to a peer gives up after this (the proposer's own attempt timeout is shorter). */
const ACCEPTOR_TIMEOUT_MS = 1_000
/** A forwarded operation gives up after this (the member's proposer answers within its 2 s deadline). */
const FORWARD_TIMEOUT_MS = 3_000
/** A member that failed a forward is tried last for this long. */
const AVOID_FAILED_MS = 10_000
/** Concurrent KV requests per connection. */
const MAX_INBOUND_KV_STREAMS = 256
/** Contacts kept (one per member heard of; cleared when full). */
const MAX_CONTACTS = 10_000
const NO_ADDRS: readonly string[] = []
/** What a range's snapshot leaves of a frame for the move message around it and racing writes. */
const SNAPSHOT_MARGIN_BYTES = 32 * 1024

export interface KvNodeComponents {
  rpc: PeerRpc
  log: Logger
  membership: Pick<Membership, 'members' | 'get'>
  self: Contact
}

export interface KvNodeInit {
  swarm: string
  /** members per group */
  replicas: number
  dataDir: string
  /** found the ring when this node holds none (a node started without bootstrap peers) */
  founder: boolean
}

/**
 * Linearizable key-value state (issue 21) on this node: the acceptor of every range it is a member
 * of (on its write-ahead file), the proposer of the requests it serves, the mover of the ranges it
 * coordinates, and its map of the ring. A request goes straight to a member of the key's group (one
 * hop; a member runs the round, a stale map costs one redirect); no Kademlia lookup on the path.
 */
export class KvNode implements KvService {
  readonly protocol: string
  private readonly rpc: PeerRpc
  private readonly log: Logger
  private readonly membership: KvNodeComponents['membership']
  private readonly selfId: string
  private readonly replicas: number
  private readonly founder: boolean
  readonly ring = new RingMap()
  /** members' contacts, with the address list each was made from */
  private readonly contacts = new Map<string, { addrs: readonly string[]; contact: Contact }>()
  /** members whose last forward failed, when */
  private readonly failedAt = new Map<string, number>()
  private readonly acceptor: AcceptorHost
  private readonly engine: KvEngine
  private readonly manager: RangeManager
  private readonly gossip: RingGossip

  constructor(components: KvNodeComponents, init: KvNodeInit) {
    this.rpc = components.rpc
    this.log = components.log
    this.membership = components.membership
    this.selfId = components.self.peerId
    this.replicas = init.replicas
    this.founder = init.founder
    this.protocol = protocolId(init.swarm, 'kv')
    this.acceptor = new AcceptorHost({ log: this.log }, { id: this.selfId, dataDir: init.dataDir })
    this.engine = new KvEngine({
      selfId: this.selfId,
      acceptor: this.acceptor,
      sendRemote: (to, msg) => this.sendAcceptor(to, msg),
      learned: (range, config) => this.learn(range, config),
    })
    this.manager = new RangeManager(
      {
        acceptor: this.acceptor,
        engine: this.engine,
        ring: this.ring,
        membership: this.membership,
        log: this.log,
        ask: (to, msg) => this.sendAcceptor(to, msg),
      },
      { selfId: this.selfId, replicas: init.replicas },
    )
    this.gossip = new RingGossip(
      {
        ring: this.ring,
        membership: this.membership,
        exchange: (to, digest) => this.exchangeRing(to, digest),
      },
      { selfId: this.selfId },
    )
  }

  async start(): Promise<void> {
    await this.acceptor.start()
    const kv = this.acceptor.kv
    if (this.founder && kv.configOf(0) === undefined) {
      const n = this.acceptor.found(ranges(), () => ({ epoch: 1, members: [this.selfId] }))
      this.log.info({ ranges: n }, 'kv: founded the ring (no bootstrap peers, no range ever held)')
    }
    for (let r = 0; r < RANGE_COUNT; r++) {
      const c = kv.configOf(r)
      if (c !== undefined) this.ring.learn(r, c)
    }
    for (const s of kv.served()) this.ring.learn(s.range, s.config, s.keys, true)
    await this.rpc.serve(this.protocol, (_from, req) => this.handle(req), MAX_INBOUND_KV_STREAMS)
    this.manager.start()
    this.gossip.start()
  }

  async stop(): Promise<void> {
    this.gossip.stop()
    this.manager.stop()
    this.engine.stop()
    await this.acceptor.stop()
  }

  put(key: string, value: Uint8Array): Promise<KvAnswer> {
    return this.execute({ t: 'put', key, value })
  }

  cas(key: string, expect: number, value: Uint8Array): Promise<KvAnswer> {
    return this.execute({ t: 'cas', key, expect, value })
  }

  get(key: string): Promise<KvAnswer> {
    return this.execute({ t: 'get', key })
  }

  delete(key: string): Promise<KvAnswer> {
    return this.execute({ t: 'delete', key })
  }

  groups(): KvGroupsView {
    const out: KvGroupsView = { rangeCount: RANGE_COUNT, replicas: this.replicas, ranges: [] }
    for (let range = 0; range < RANGE_COUNT; range++) {
      const e = this.ring.entry(range)
      if (e === undefined) continue
      const [from, to] = rangeBounds(range)
      out.ranges.push({
        range,
        from,
        to,
        epoch: e.config.epoch,
        members: [...e.config.members],
        keys: e.keys,
      })
    }
    return out
  }

  /** A client operation: run here if this node is a member of the key's group, else at a member. */
  async execute(req: KvRequest, redirects = 1): Promise<KvAnswer> {
    if (typeof req.key !== 'string')
      return { t: 'invalid', code: 'ERR_KV_KEY_NOT_UTF8', message: 'key is not a string' }
    const range = rangeOf(keyForKvName(req.key))
    if (this.ring.get(range) === undefined) await this.gossip.pull()
    const config = this.ring.get(range)
    if (config === undefined) {
      return {
        t: 'unavailable',
        reason: 'this node has not learned the ring yet (is it joined?)',
        acceptSent: false,
      }
    }
    if (config.members.includes(this.selfId)) return this.propose(req, range, config)
    const answer = await this.forward(req, range, config)
    if ('redirect' in answer) {
      this.learn(range, answer.redirect)
      if (redirects > 0 && answer.redirect.epoch > config.epoch) return this.execute(req, redirects - 1)
      return { t: 'unavailable', reason: 'the ring moved under this request; try again', acceptSent: false }
    }
    return answer
  }

  /**
   * Sends the operation to a member of the group (the key picks which: one key's operations meet at
   * one proposer, and keys spread over the members). A get goes on to the next member when one
   * fails; a write only when it never left (else it may still take effect there: indeterminate).
   */
  private async forward(
    req: KvRequest,
    range: number,
    config: GroupConfig,
  ): Promise<KvAnswer | { redirect: GroupConfig }> {
    let lastError = 'no member answered'
    for (const to of this.forwardOrder(req.key, config.members)) {
      try {
        // a forwarded write is not idempotent: PeerRpc must not send it again on a fresh stream
        const reply = await this.request(to, { k: 'op', range, req }, FORWARD_TIMEOUT_MS, req.t === 'get')
        const parsed = parseForwardReply(reply)
        if (parsed !== undefined) return parsed
        lastError = `${to} answered something malformed`
        if (req.t !== 'get') return { t: 'unavailable', reason: lastError, acceptSent: true }
      } catch (err) {
        lastError = `${to}: ${(err as Error).message}`
        this.failedAt.set(to, Date.now()) // io-edge
        // a write that may have reached a member is not sent to another: it could take effect twice
        if (req.t !== 'get' && !wasNotSent(err))
          return { t: 'unavailable', reason: lastError, acceptSent: true }
      }
    }
    return { t: 'unavailable', reason: lastError, acceptSent: false }
  }

  /**
   * The members in the order to try: from the one the key picks (a key's operations meet at one
   * proposer), but a member that is suspected, or failed a forward in the last few seconds (frozen,
   * partitioned, restarting), goes last — until SWIM decides, its keys stay writable elsewhere.
   */
  private forwardOrder(key: string, members: readonly string[]): string[] {
    const first = keyForKvName(key)[31]! % members.length
    const order = members.map((_, i) => members[(first + i) % members.length]!)
    const now = Date.now() // io-edge
    const doubtful = (id: string) =>
      this.membership.get(id)?.state !== 'alive' ||
      now - (this.failedAt.get(id) ?? -Infinity) < AVOID_FAILED_MS
    return [...order.filter((m) => !doubtful(m)), ...order.filter(doubtful)]
  }

  private learn(range: number, config: GroupConfig): void {
    if (this.ring.learn(range, config)) this.engine.adopt(range, config)
  }

  private async sendAcceptor(to: string, msg: KvMessage): Promise<KvReply> {
    const reply = parseKvReply(await this.request(to, { k: 'acc', m: msg }, ACCEPTOR_TIMEOUT_MS))
    if (reply === undefined) throw new Error(`${to} answered something malformed`)
    return reply
  }

  private async exchangeRing(to: string, digest: string): Promise<void> {
    const reply = (await this.request(to, { k: 'ring', d: digest }, ACCEPTOR_TIMEOUT_MS)) as {
      ring?: unknown
    } | null
    if (reply?.ring !== undefined) this.mergeRing(reply.ring)
  }

  private mergeRing(wire: unknown): void {
    for (const r of this.ring.merge(wire)) this.engine.adopt(r, this.ring.get(r)!)
  }

  private async request(to: string, body: unknown, timeoutMs: number, idempotent = true): Promise<unknown> {
    const contact = this.contactOf(to)
    const req = { ...this.rpc.base(), t: 'kv' as const, data: encodeKv(body) }
    const reply = await this.rpc.request(contact, this.protocol, req, timeoutMs, { idempotent })
    if (reply.t !== 'kv') throw new Error(`${to} answered ${reply.t}`)
    const decoded = decodeKv(reply.data)
    if (decoded instanceof Error) throw decoded
    return decoded
  }

  /** A member's contact, made again only when its addresses change (it costs a hash and two base58 codings). */
  private contactOf(id: string): Contact {
    const addrs = this.membership.get(id)?.meta.addrs ?? NO_ADDRS
    const known = this.contacts.get(id)
    if (known !== undefined && known.addrs === addrs) return known.contact
    const contact = contactFromPeerId(peerIdFromString(id), [...addrs])
    if (this.contacts.size >= MAX_CONTACTS) this.contacts.clear()
    this.contacts.set(id, { addrs, contact })
    return contact
  }

  /** One inbound KV request; a peer's bytes never throw out of here. */
  private async handle(req: Request): Promise<Reply> {
    if (req.t !== 'kv')
      return { t: 'err', code: 'BAD_MESSAGE', msg: `the kv protocol carries kv requests, not ${req.t}` }
    const body = decodeKv(req.data) as Record<string, unknown> | Error | null
    if (body instanceof Error || body === null || typeof body !== 'object') {
      return { t: 'err', code: 'BAD_MESSAGE', msg: body instanceof Error ? body.message : 'not a map' }
    }
    return { t: 'kv', data: encodeKv(await this.answer(body)) }
  }

  private async answer(body: Record<string, unknown>): Promise<unknown> {
    switch (body.k) {
      case 'acc':
        return this.acceptor.request(body.m)
      case 'op':
        return this.serveForwarded(body)
      case 'ring':
        return body.d === this.ring.digest() ? {} : { ring: this.ring.toWire() }
      default:
        return {
          t: 'invalid',
          code: 'ERR_KV_MALFORMED_MESSAGE',
          message: `unknown kind ${JSON.stringify(body.k)}`,
        }
    }
  }

  private async serveForwarded(body: Record<string, unknown>): Promise<unknown> {
    const req = parseOp(body.req)
    if (typeof req === 'string')
      return { a: { t: 'invalid', code: 'ERR_KV_MALFORMED_MESSAGE', message: req } }
    const range = rangeOf(keyForKvName(req.key))
    const config = this.ring.get(range)
    if (config === undefined || !config.members.includes(this.selfId)) {
      return config === undefined
        ? { a: { t: 'unavailable', reason: 'no ring yet', acceptSent: false } }
        : { redirect: config }
    }
    return { a: await this.propose(req, range, config) }
  }

  /** Runs a client operation here, a member of its group, unless it would overfill the range. */
  private propose(req: KvRequest, range: number, config: GroupConfig): Promise<KvAnswer> {
    const full = req.t === 'put' || req.t === 'cas' ? this.overfills(range, req.key, req.value) : undefined
    if (full !== undefined) return Promise.resolve({ t: 'invalid', code: full.code, message: full.message })
    return this.engine.propose(req, { range, config })
  }

  /**
   * A range moves in one message (snapshots are not paged yet), so a write that would grow its
   * range past what a frame carries is refused before it is sent — as this member counts the
   * range (writes racing it may pass a little over: the margin is for them and the framing).
   */
  private overfills(range: number, key: string, value: Uint8Array): KvRangeFullError | undefined {
    const kv = this.acceptor.kv
    const current = kv.record(range, key)?.accepted?.state
    const before = kv.rangeBytes(range)
    const after = before - entryBytes(key, current) + maxEntryBytes(key, value)
    const budget = maxFrameBytes(this.rpc.chunkSize) - SNAPSHOT_MARGIN_BYTES
    return after > budget && after > before ? new KvRangeFullError(range, after, budget) : undefined
  }
}

function parseForwardReply(r: unknown): KvAnswer | { redirect: GroupConfig } | undefined {
  if (r === null || typeof r !== 'object') return undefined
  const o = r as { a?: unknown; redirect?: unknown }
  if (o.redirect !== undefined) {
    const config = parseConfig(o.redirect)
    return config && { redirect: config }
  }
  return parseAnswer(o.a)
}

function* ranges(): IterableIterator<number> {
  for (let r = 0; r < RANGE_COUNT; r++) yield r
}

/** The first and last 32-byte key of a range, as hex. */
function rangeBounds(range: number): [string, string] {
  const prefix = (range << 4).toString(16).padStart(4, '0')
  return [
    `${prefix}${'0'.repeat(60)}`,
    `${(((range << 4) | 0xf) >>> 0).toString(16).padStart(4, '0')}${'f'.repeat(60)}`,
  ]
}
