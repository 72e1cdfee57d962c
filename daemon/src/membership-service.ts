import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Contact, contactFromPeerId, SystemClock, SystemRandom } from '@swarmstore/core'
import {
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  type MemberInfo,
  type MemberMeta,
  Membership,
  type MembershipMessage,
  type MembershipNetwork,
  membershipProtocol,
} from '@swarmstore/membership'
import { encodeFrame, FrameReader } from '@swarmstore/wire'
import type { Libp2p } from 'libp2p'
import type { Logger } from 'pino'
import { type PeerRpc, send } from './peer-rpc.js'

const INBOUND_TIMEOUT_MS = 10_000

/** A member as routing and replication see it. */
export function memberContact(m: MemberInfo): Contact {
  return contactFromPeerId(peerIdFromString(m.id), [...m.meta.addrs])
}

export interface MembershipServiceComponents {
  node: Libp2p
  rpc: PeerRpc
  log: Logger
  /** addresses of peers we know from elsewhere (routing), for members not yet in the table */
  addrsOf: (id: string) => readonly string[]
}

export interface MembershipServiceInit {
  swarm: string
  /** what we first advertise (addresses, free capacity, swarm settings, version) */
  meta: MemberMeta
}

/**
 * SWIM membership (@swarmstore/membership, pure) over libp2p: one stream per request, one
 * length-prefixed JSON message each way, bounded by MAX_MESSAGE_BYTES and the request's timeout.
 * The sender of an inbound message is the authenticated remote peer, never a field.
 */
export class MembershipService {
  readonly membership: Membership
  readonly protocol: string
  private readonly node: Libp2p
  private readonly rpc: PeerRpc
  private readonly log: Logger
  private readonly addrsOf: (id: string) => readonly string[]
  /** the live members other than this node, as contacts; rebuilt after any membership event */
  private live: Contact[] | undefined

  constructor(components: MembershipServiceComponents, init: MembershipServiceInit) {
    this.node = components.node
    this.rpc = components.rpc
    this.log = components.log
    this.addrsOf = components.addrsOf
    this.protocol = membershipProtocol(init.swarm)
    const network: MembershipNetwork = { request: (to, msg, timeoutMs) => this.request(to, msg, timeoutMs) }
    this.membership = new Membership(
      { clock: new SystemClock(), random: new SystemRandom(), network },
      // epoch = start time: a restarted member outranks every record of its previous life
      { id: this.node.peerId.toString(), epoch: Date.now(), meta: init.meta }, // io-edge
    )
    this.membership.onEvent(() => {
      this.live = undefined
    })
  }

  async start(): Promise<void> {
    await this.node.handle(
      this.protocol,
      (stream: Stream, conn: Connection) => {
        this.inbound(stream, conn).catch((err) => this.log.debug({ err }, 'membership stream failed'))
      },
      { maxInboundStreams: 64, maxOutboundStreams: 256 },
    )
    this.membership.start()
  }

  /** Stops membership's loops (a graceful leave, which already stopped them, comes first). */
  stop(): void {
    this.membership.stop()
  }

  /** A member that counts as present: alive, or suspected but not yet declared dead. */
  isLiveMember(peerId: string): boolean {
    const st = this.membership.get(peerId)?.state
    return st === 'alive' || st === 'suspect'
  }

  /**
   * Every other member counted present (alive or suspect), as contacts: SWIM gives each node the
   * whole swarm, so the closest members to a key are found here without a lookup.
   */
  liveContacts(): readonly Contact[] {
    const self = this.node.peerId.toString()
    this.live ??= this.membership
      .members(['alive', 'suspect'])
      .filter((m) => m.id !== self)
      .map(memberContact)
    return this.live
  }

  /** A member that failed a probe and is not cleared yet. */
  isSuspect(peerId: string): boolean {
    return this.membership.get(peerId)?.state === 'suspect'
  }

  private async inbound(stream: Stream, conn: Connection): Promise<void> {
    const reader = new FrameReader(stream, {
      maxFrameBytes: MAX_MESSAGE_BYTES,
      timeoutMs: INBOUND_TIMEOUT_MS,
    })
    let msg: MembershipMessage
    try {
      const frame = await reader.expect()
      msg = decodeMessage(frame)
    } catch (err) {
      const e = err as Error & { code?: string }
      // a reset or an end before a frame is the sender giving up (a probe timeout), not a bad message
      if (
        e.code === 'BAD_MESSAGE' ||
        e.code === 'FRAME_TOO_LARGE' ||
        e.code === 'MEMBERSHIP_INVALID_MESSAGE'
      ) {
        this.rpc.badFrames++
        this.log.warn({ peer: conn.remotePeer.toString(), reason: e.message }, 'bad membership message')
      }
      stream.abort(e)
      return
    }
    try {
      const reply = await this.membership.handle(conn.remotePeer.toString(), msg)
      await send(stream, encodeFrame(encodeMessage(reply)))
      await stream.close({ signal: AbortSignal.timeout(INBOUND_TIMEOUT_MS) })
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private async request(to: string, msg: MembershipMessage, timeoutMs: number): Promise<MembershipMessage> {
    // AbortSignal.timeout throws on a fraction; the state machine passes whole ms, this is a guard
    const signal = AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs)))
    const addrs = this.membership.get(to)?.meta.addrs ?? this.addrsOf(to)
    const contact = contactFromPeerId(peerIdFromString(to), [...addrs])
    const started = Date.now() // io-edge
    const stream = await this.rpc.open(contact, this.protocol, signal)
    try {
      await send(stream, encodeFrame(encodeMessage(msg)))
      const reader = new FrameReader(stream, { maxFrameBytes: MAX_MESSAGE_BYTES, timeoutMs })
      const frame = await reader.expect(Math.max(1, timeoutMs - (Date.now() - started))) // io-edge
      stream.close().catch(() => {})
      return decodeMessage(frame)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }
}
