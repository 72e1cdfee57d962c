import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type Contact, keyForPeer } from '@swarmstore/core'
import {
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  FrameReader,
  maxFrameBytes,
  type Reply,
  type Request,
  type Settings,
} from '@swarmstore/wire'
import type { Libp2p } from 'libp2p'
import type { Logger } from 'pino'
import { PeerError, SettingsMismatchError, TimeoutError } from './errors.js'

/** Per-request deadline: a peer that does not answer in time counts as a failure. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** An inbound stream must deliver its request within this. */
const INBOUND_READ_TIMEOUT_MS = 10_000

export type Handler = (from: Contact, req: Request) => Promise<Reply> | Reply

export interface PeerRpcInit {
  node: Libp2p
  settings: Settings
  /** our announced addresses (sent in every request so the receiver can dial us back) */
  addrs: () => string[]
  log: Logger
}

async function send(stream: Stream, data: Parameters<Stream['send']>[0]): Promise<void> {
  if (!stream.send(data)) await stream.onDrain()
}

/**
 * The stream adapter between libp2p and the request/reply handlers: it frames, bounds (frame size
 * = one chunk plus header), times out every read, validates every message before a handler sees
 * it, and never lets a peer's bytes throw out of a handler. One request and one reply per stream.
 */
export class PeerRpc {
  private readonly node: Libp2p
  private readonly settings: Settings
  private readonly addrs: () => string[]
  private readonly log: Logger
  private readonly maxFrame: number
  private readonly mismatched = new Set<string>()
  /** malformed frames received, by protocol (for metrics) */
  badFrames = 0

  constructor(init: PeerRpcInit) {
    this.node = init.node
    this.settings = init.settings
    this.addrs = init.addrs
    this.log = init.log
    this.maxFrame = maxFrameBytes(init.settings.cs)
  }

  get chunkSize(): number {
    return this.settings.cs
  }

  base() {
    return { v: 0, r: this.settings.r, cs: this.settings.cs, addrs: this.addrs() }
  }

  contactOf(peer: PeerId, addrs: string[]): Contact {
    return { peerId: peer.toString(), key: keyForPeer(peer), addrs }
  }

  /** Registers a protocol handler. `maxInboundStreams` caps concurrent requests per connection. */
  async serve(protocol: string, handler: Handler, maxInboundStreams: number): Promise<void> {
    await this.node.handle(
      protocol,
      (stream: Stream, connection: Connection) => {
        this.handleStream(protocol, stream, connection, handler).catch((err) => {
          this.log.debug({ err, protocol }, 'inbound stream failed')
        })
      },
      { maxInboundStreams, maxOutboundStreams: 256 },
    )
  }

  private async handleStream(
    protocol: string,
    stream: Stream,
    conn: Connection,
    handler: Handler,
  ): Promise<void> {
    const reader = new FrameReader(stream, {
      maxFrameBytes: this.maxFrame,
      timeoutMs: INBOUND_READ_TIMEOUT_MS,
    })
    let req: Request
    try {
      const frame = await reader.next()
      if (frame === null) {
        await stream.close()
        return
      }
      req = decodeRequest(frame)
    } catch (err) {
      this.badFrames++
      const e = err as Error & { code?: string }
      this.log.warn(
        { peer: conn.remotePeer.toString(), protocol, code: e.code, msg: e.message },
        'bad request',
      )
      // Tell the peer why, then reset: the stream's remaining bytes are not trusted.
      try {
        await send(
          stream,
          encodeReply({ t: 'err', code: e.code ?? 'BAD_MESSAGE', msg: e.message.slice(0, 500) }),
        )
        await stream.close({ signal: AbortSignal.timeout(1000) })
      } catch {
        stream.abort(e)
      }
      return
    }
    let reply: Reply
    if (req.r !== this.settings.r || req.cs !== this.settings.cs) {
      reply = {
        t: 'err',
        code: 'SETTINGS_MISMATCH',
        msg: `swarm settings differ: this node has replicas=${this.settings.r} chunkSize=${this.settings.cs}, you sent replicas=${req.r} chunkSize=${req.cs}`,
      }
    } else {
      try {
        reply = await handler(this.contactOf(conn.remotePeer, req.addrs), req)
      } catch (err) {
        const e = err as Error & { code?: string }
        this.log.error({ err, protocol, t: req.t }, 'handler failed')
        reply = { t: 'err', code: e.code ?? 'INTERNAL', msg: e.message.slice(0, 500) }
      }
    }
    try {
      await send(stream, encodeReply(reply))
      await stream.close({ signal: AbortSignal.timeout(INBOUND_READ_TIMEOUT_MS) })
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  /** Opens a stream to `to` (reusing a connection when there is one) and exchanges one request. */
  async request(
    to: Contact,
    protocol: string,
    req: Request,
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ): Promise<Reply> {
    const signal = AbortSignal.timeout(timeoutMs)
    const started = Date.now() // io-edge
    let stream: Stream
    try {
      stream = await this.open(to, protocol, signal)
    } catch (err) {
      if (signal.aborted) throw new TimeoutError(`${to.peerId}: no stream within ${timeoutMs} ms`)
      throw err
    }
    try {
      await send(stream, encodeRequest(req))
      const reader = new FrameReader(stream, { maxFrameBytes: this.maxFrame, timeoutMs })
      const frame = await reader.expect(Math.max(1, timeoutMs - (Date.now() - started))) // io-edge
      const reply = decodeReply(frame)
      stream.close().catch(() => {})
      if (reply.t === 'err') {
        if (reply.code === 'SETTINGS_MISMATCH') {
          if (!this.mismatched.has(to.peerId)) {
            this.mismatched.add(to.peerId)
            this.log.error(
              { peer: to.peerId, msg: reply.msg },
              'SETTINGS_MISMATCH: this peer runs the swarm with other settings; not using it',
            )
          }
          throw new SettingsMismatchError(`${to.peerId}: ${reply.msg}`)
        }
        throw new PeerError(reply.code, `${to.peerId}: ${reply.msg}`)
      }
      return reply
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** A stream to `to` on `protocol`, dialling its addresses when not connected. */
  async open(to: Contact, protocol: string, signal: AbortSignal): Promise<Stream> {
    const peer = peerIdFromString(to.peerId)
    if (this.node.getConnections(peer).length === 0 && to.addrs.length > 0) {
      const addrs = to.addrs.flatMap((a) => {
        try {
          return [multiaddr(a)]
        } catch {
          return []
        }
      })
      if (addrs.length > 0) await this.node.peerStore.merge(peer, { multiaddrs: addrs })
    }
    return this.node.dialProtocol(peer, protocol, { signal })
  }
}
