import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type Contact, type Key, keyForPeer } from '@swarmstore/core'
import {
  BufferPool,
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  FrameReader,
  maxFrameBytes,
  PROTOCOL_MINOR,
  ReadTimeoutError,
  type Reply,
  type Request,
  type Settings,
  sessionProtocolId,
} from '@swarmstore/wire'
import type { Libp2p } from 'libp2p'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { PeerError, SettingsMismatchError, TimeoutError } from './errors.js'

/** Per-request deadline: a peer that does not answer in time counts as a failure. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** An inbound stream must deliver its request within this. */
const INBOUND_READ_TIMEOUT_MS = 10_000
/** An inbound session stream with no request begun for this long is closed (cleanly). */
const SESSION_SERVER_IDLE_MS = 30_000
/** An outbound session stream unused for this long is closed (well before the server's idle close). */
const SESSION_CLIENT_IDLE_MS = 5_000
/** Idle session streams kept per peer and protocol. */
const MAX_IDLE_SESSIONS = 16
/** A peer that answered a session negotiation with the one-request protocol is asked so for this long. */
const NO_SESSION_MS = 10 * 60_000
/** Peers whose protocol minor version we remember (from their requests); the oldest are forgotten. */
const MAX_KNOWN_MINORS = 10_000
/** Our announced addresses are recomputed at most this often (they go into every request). */
const ADDRS_TTL_MS = 1_000
/** Reply buffers of a chunk's size kept for reuse: two gets' windows (api-server's GET_WINDOW). */
const POOLED_REPLY_BUFFERS = 32

/** An outbound stream and its reader; `session` streams go back to the pool after a clean reply. */
interface Outbound {
  stream: Stream
  reader: FrameReader
  session: boolean
  idleTimer?: NodeJS.Timeout
}

/**
 * Answers one request. A put's data is valid until the returned promise settles: the frame it
 * lives in goes back to the pool then, so a handler copies what it keeps longer (the chunk store
 * copies a chunk into its own write buffer).
 */
export type Handler = (from: Contact, req: Request) => Promise<Reply> | Reply

export interface PeerRpcComponents {
  node: Libp2p
  log: Logger
  /** our announced addresses (sent in every request so the receiver can dial us back) */
  addrs: () => string[]
}

export interface PeerRpcInit {
  /** the swarm's settings (replicas, chunk size): every request carries them, a mismatch is refused */
  settings: Settings
}

/**
 * Marks an error thrown before the request left (no stream to the peer): a caller may then send a
 * request that is not idempotent elsewhere without risking it taking effect twice.
 */
export function markNotSent(err: Error): Error {
  ;(err as Error & { notSent?: true }).notSent = true
  return err
}

export function wasNotSent(err: unknown): boolean {
  return (err as { notSent?: true } | null)?.notSent === true
}

/** Writes with backpressure: waits for the drain when the stream's buffer is full. */
export async function send(stream: Stream, data: Parameters<Stream['send']>[0]): Promise<void> {
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
  /** idle outbound session streams, by `${peerId} ${protocol}` */
  private readonly idle = new Map<string, Outbound[]>()
  /** peers that do not speak the session protocols, until when */
  private readonly noSession = new Map<string, number>()
  private addrCache: { at: number; addrs: string[] } | undefined
  /** the minor version each peer's last request carried */
  private readonly minors = new LRUCache<string, number>({ max: MAX_KNOWN_MINORS })
  private readonly keys = new WeakMap<PeerId, Key>()
  private readonly peerIds = new LRUCache<string, PeerId>({ max: MAX_KNOWN_MINORS })
  /** malformed frames received, by protocol (for metrics) */
  badFrames = 0
  /**
   * Where frames carrying a chunk are assembled: replies (the daemon's consumer of a fetched chunk,
   * a get written to a file, releases it; see BufferPool) and pushed chunks (released once their
   * handler settles). Up to two windows of gets' chunks are kept.
   */
  readonly pool: BufferPool

  constructor(components: PeerRpcComponents, init: PeerRpcInit) {
    this.node = components.node
    this.log = components.log
    this.addrs = components.addrs
    this.settings = init.settings
    this.maxFrame = maxFrameBytes(init.settings.cs)
    this.pool = new BufferPool(this.maxFrame, POOLED_REPLY_BUFFERS)
  }

  get chunkSize(): number {
    return this.settings.cs
  }

  base() {
    const now = Date.now() // io-edge
    let c = this.addrCache
    if (c === undefined || now - c.at > ADDRS_TTL_MS) {
      c = { at: now, addrs: this.addrs() }
      this.addrCache = c
    }
    return { v: PROTOCOL_MINOR, r: this.settings.r, cs: this.settings.cs, addrs: c.addrs }
  }

  /**
   * The protocol minor version `peerId` speaks, as its last request to us said; undefined when it
   * has sent us none. Optional fields of newer minors go only to peers known to understand them.
   */
  peerMinor(peerId: string): number | undefined {
    return this.minors.get(peerId)
  }

  /**
   * Registers a protocol handler, on the one-request protocol and on its session variant.
   * `maxInboundStreams` caps concurrent requests per connection (per variant).
   */
  async serve(protocol: string, handler: Handler, maxInboundStreams: number): Promise<void> {
    for (const [id, session] of [
      [protocol, false],
      [sessionProtocolId(protocol), true],
    ] as const) {
      await this.node.handle(
        id,
        (stream: Stream, connection: Connection) => {
          this.handleStream(protocol, stream, connection, handler, session).catch((err) => {
            this.log.debug({ err, protocol }, 'inbound stream failed')
          })
        },
        { maxInboundStreams, maxOutboundStreams: 256 },
      )
    }
  }

  private async handleStream(
    protocol: string,
    stream: Stream,
    conn: Connection,
    handler: Handler,
    session: boolean,
  ): Promise<void> {
    const reader = new FrameReader(stream, {
      maxFrameBytes: this.maxFrame,
      timeoutMs: INBOUND_READ_TIMEOUT_MS,
      pool: this.pool,
    })
    // One request per stream, or (session) one after the other until the peer closes or idles.
    for (let first = true; ; first = false) {
      let req: Request
      let frame: Uint8Array | null
      try {
        frame = await reader.next(INBOUND_READ_TIMEOUT_MS, first ? undefined : SESSION_SERVER_IDLE_MS)
        if (frame === null) {
          await stream.close()
          return
        }
        req = decodeRequest(frame)
        this.minors.set(conn.remotePeer.toString(), req.v)
      } catch (err) {
        if (!first && err instanceof ReadTimeoutError && reader.buffered === 0) {
          // an idle session between requests: not a bad frame
          try {
            await stream.close({ signal: AbortSignal.timeout(1000) })
          } catch {
            stream.abort(err)
          }
          return
        }
        this.badFrames++
        const e = err as Error & { code?: string }
        this.log.warn(
          { peer: conn.remotePeer.toString(), protocol, code: e.code, reason: e.message },
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
      const reply = await this.answer(protocol, conn, handler, req)
      // A pushed chunk's frame goes back to the pool once its handler has settled (see Handler).
      // Only a put's: it is the one request that large in a swarm of 1 MiB chunks, its header
      // fields are decoded into copies, and its reply carries none of its bytes.
      if (req.t === 'put') this.pool.release(frame)
      try {
        await send(stream, encodeReply(reply))
        if (!session) {
          await stream.close({ signal: AbortSignal.timeout(INBOUND_READ_TIMEOUT_MS) })
          return
        }
      } catch (err) {
        stream.abort(err as Error)
        return
      }
    }
  }

  /** The handler's reply to a valid request, or an error reply (other swarm settings, a failed handler). */
  private async answer(protocol: string, conn: Connection, handler: Handler, req: Request): Promise<Reply> {
    if (req.r !== this.settings.r || req.cs !== this.settings.cs) {
      return {
        t: 'err',
        code: 'SETTINGS_MISMATCH',
        msg: `swarm settings differ: this node has replicas=${this.settings.r} chunkSize=${this.settings.cs}, you sent replicas=${req.r} chunkSize=${req.cs}`,
      }
    }
    try {
      return await handler(
        { peerId: conn.remotePeer.toString(), key: this.keyOf(conn.remotePeer), addrs: req.addrs },
        req,
      )
    } catch (err) {
      const e = err as Error & { code?: string }
      this.log.error({ err, protocol, t: req.t }, 'handler failed')
      return { t: 'err', code: e.code ?? 'INTERNAL', msg: e.message.slice(0, 500) }
    }
  }

  /** The keyspace key of a connection's peer, hashed once per PeerId object (a connection keeps its own). */
  private keyOf(peer: PeerId): Key {
    let key = this.keys.get(peer)
    if (key === undefined) {
      key = keyForPeer(peer)
      this.keys.set(peer, key)
    }
    return key
  }

  /** A PeerId for `id`, decoded once (peerIdFromString neither caches nor keeps the string). */
  private peerIdOf(id: string): PeerId {
    let peer = this.peerIds.get(id)
    if (peer === undefined) {
      peer = peerIdFromString(id)
      this.peerIds.set(id, peer)
    }
    return peer
  }

  /**
   * Exchanges one request with `to`: on an idle session stream when there is one, else on a new
   * stream (session protocol first, the one-request protocol for peers without it).
   */
  async request(
    to: Contact,
    protocol: string,
    req: Request,
    timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
    opts: { idempotent?: boolean } = {},
  ): Promise<Reply> {
    const idempotent = opts.idempotent ?? true
    const started = Date.now() // io-edge
    const expired = () => Date.now() - started >= timeoutMs // io-edge
    const key = `${to.peerId} ${protocol}`
    for (let attempt = 0; ; attempt++) {
      let out = this.takeIdle(key)
      const reused = out !== undefined
      if (out === undefined) {
        try {
          out = await this.openOutbound(to, protocol, timeoutMs - (Date.now() - started)) // io-edge
        } catch (err) {
          const e = expired() ? new TimeoutError(`${to.peerId}: no stream within ${timeoutMs} ms`) : err
          // not sent on this attempt; an earlier attempt's copy may have arrived
          throw attempt === 0 ? markNotSent(e as Error) : e
        }
      }
      let reply: Reply
      try {
        await send(out.stream, encodeRequest(req))
        const frame = await out.reader.expect(Math.max(1, timeoutMs - (Date.now() - started))) // io-edge
        reply = decodeReply(frame)
      } catch (err) {
        out.stream.abort(err as Error)
        // An idle session the peer closed meanwhile (restart, its idle timeout): once more, fresh.
        // Every request is idempotent, so a second copy of one that did arrive is harmless.
        // (a request that is not idempotent is not sent twice: the first copy may have arrived)
        if (idempotent && reused && attempt === 0 && !expired() && !(err instanceof ReadTimeoutError))
          continue
        throw err
      }
      if (out.session && reply.t !== 'err') this.putIdle(key, out)
      else out.stream.close().catch(() => {})
      if (reply.t === 'err') {
        if (reply.code === 'SETTINGS_MISMATCH') {
          if (!this.mismatched.has(to.peerId)) {
            this.mismatched.add(to.peerId)
            this.log.error(
              { peer: to.peerId, reason: reply.msg },
              'SETTINGS_MISMATCH: this peer runs the swarm with other settings; not using it',
            )
          }
          throw new SettingsMismatchError(`${to.peerId}: ${reply.msg}`)
        }
        throw new PeerError(reply.code, `${to.peerId}: ${reply.msg}`)
      }
      return reply
    }
  }

  /**
   * A new stream within `withinMs`. The deadline is a timer cleared once the stream is open, not
   * `AbortSignal.timeout`: that one cannot be cleared, and every request on a reused stream would
   * leave a timer behind that builds a DOMException (a stack trace) when it fires.
   */
  private async openOutbound(to: Contact, protocol: string, withinMs: number): Promise<Outbound> {
    const until = this.noSession.get(to.peerId)
    const trySession = until === undefined || until < Date.now()
    const session = sessionProtocolId(protocol)
    const deadline = new AbortController()
    const timer = setTimeout(
      () => deadline.abort(new TimeoutError(`${to.peerId}: no stream within ${withinMs} ms`)),
      Math.max(1, Math.ceil(withinMs)),
    )
    let stream: Stream
    try {
      stream = await this.open(to, trySession ? [session, protocol] : protocol, deadline.signal)
    } finally {
      clearTimeout(timer)
    }
    const isSession = stream.protocol === session
    if (trySession && !isSession) this.noSession.set(to.peerId, Date.now() + NO_SESSION_MS)
    return {
      stream,
      reader: new FrameReader(stream, {
        maxFrameBytes: this.maxFrame,
        timeoutMs: Math.max(1, withinMs),
        pool: this.pool,
      }),
      session: isSession,
    }
  }

  private takeIdle(key: string): Outbound | undefined {
    const list = this.idle.get(key)
    if (list === undefined) return undefined
    for (let out = list.pop(); out !== undefined; out = list.pop()) {
      clearTimeout(out.idleTimer)
      const s = out.stream
      if (
        s.status === 'open' &&
        s.writeStatus === 'writable' &&
        s.readStatus !== 'closed' &&
        s.remoteWriteStatus === 'writable' &&
        out.reader.buffered === 0
      ) {
        if (list.length === 0) this.idle.delete(key)
        return out
      }
      s.abort(new Error('stale session stream'))
    }
    this.idle.delete(key)
    return undefined
  }

  private putIdle(key: string, out: Outbound): void {
    let list = this.idle.get(key)
    if (list === undefined) {
      list = []
      this.idle.set(key, list)
    }
    if (list.length >= MAX_IDLE_SESSIONS || out.reader.buffered !== 0) {
      out.stream.close().catch(() => {})
      return
    }
    list.push(out)
    out.idleTimer = setTimeout(() => {
      const l = this.idle.get(key)
      const i = l?.indexOf(out) ?? -1
      if (i >= 0) {
        l!.splice(i, 1)
        if (l!.length === 0) this.idle.delete(key)
      }
      out.stream.close().catch(() => {})
    }, SESSION_CLIENT_IDLE_MS) // io-edge
    out.idleTimer.unref()
  }

  /** A stream to `to` on `protocol`, dialling its addresses when not connected. */
  async open(to: Contact, protocol: string | string[], signal: AbortSignal): Promise<Stream> {
    const peer = this.peerIdOf(to.peerId)
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
