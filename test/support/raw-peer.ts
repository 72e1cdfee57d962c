/**
 * A test-side libp2p node (TCP + Noise + yamux, like a daemon) that speaks the swarmstore wire by
 * hand: it opens a stream on a daemon's protocol, writes whatever bytes a test gives it (frames or
 * garbage) and reads back what the daemon answers, each read under a deadline.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import {
  decodeReply,
  decodeVarint,
  encodeRequest,
  type ProtocolName,
  protocolId,
  type Reply,
  type Request,
  type RequestBase,
  requestBase,
  type Settings,
} from '@swarmstore/wire'
import { createLibp2p, type Libp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'

export type Bytes = Uint8Array | Uint8ArrayList

/** A request whose base fields (v, r, cs, addrs) default to the given settings. */
export type RequestBody<T = Request> = T extends Request
  ? Omit<T, keyof RequestBase> & Partial<RequestBase>
  : never

/** What came back on one stream. */
export interface Exchange {
  /** the first frame the daemon sent, decoded as a reply (undefined when none came or it did not decode) */
  reply: Reply | undefined
  /** every byte the daemon sent */
  raw: Uint8Array
  /** how the daemon's side ended: cleanly, by a reset, or not at all before our deadline */
  end: 'end' | 'reset' | 'timeout'
  /** the read error when end is 'reset' */
  error: Error | undefined
  /** ms from the start of the read to its end */
  ms: number
}

/** The default swarm-wide settings of a daemon (R = 3, 1 MiB chunks). */
export const DEFAULT_SETTINGS: Settings = { r: 3, cs: 1024 * 1024 }

/** The first complete frame in `buf`, decoded as a reply; undefined when there is none. */
export function firstReply(buf: Uint8Array): Reply | undefined {
  let hdr: [number, number] | undefined
  try {
    hdr = decodeVarint(buf.byteLength, (i) => buf[i]!)
  } catch {
    return undefined
  }
  if (hdr === undefined) return undefined
  const [len, used] = hdr
  if (buf.byteLength < used + len) return undefined
  try {
    return decodeReply(buf.subarray(used, used + len))
  } catch {
    return undefined
  }
}

export class RawPeer {
  private constructor(readonly node: Libp2p) {}

  static async create(): Promise<RawPeer> {
    const node = await createLibp2p({
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    return new RawPeer(node)
  }

  get peerId(): string {
    return this.node.peerId.toString()
  }

  /** Opens a stream on `/swarmstore/<swarm>/<name>/1` to the daemon at `ma` (with `/p2p/<id>`). */
  async open(ma: string, name: ProtocolName, swarm = 'swarmstore-default'): Promise<Stream> {
    return this.node.dialProtocol(multiaddr(ma), protocolId(swarm, name), {
      signal: AbortSignal.timeout(5_000),
    })
  }

  /** Writes bytes, honouring back-pressure. */
  static async write(s: Stream, bytes: Bytes): Promise<void> {
    if (!s.send(bytes)) await s.onDrain({ signal: AbortSignal.timeout(5_000) })
  }

  /** Reads everything the daemon sends until its side ends or `timeoutMs` passes (then aborts). */
  static async readAll(s: Stream, timeoutMs: number): Promise<Exchange> {
    const started = Date.now()
    const buf = new Uint8ArrayList()
    const state: { end: Exchange['end'] } = { end: 'end' }
    let error: Error | undefined
    const timer = setTimeout(() => {
      state.end = 'timeout'
      s.abort(new Error(`test deadline of ${timeoutMs} ms`))
    }, timeoutMs)
    try {
      for await (const c of s) buf.append(c.subarray())
    } catch (err) {
      if (state.end !== 'timeout') {
        state.end = 'reset'
        error = err as Error
      }
    } finally {
      clearTimeout(timer)
    }
    const raw = buf.subarray()
    return { reply: firstReply(raw), raw, end: state.end, error, ms: Date.now() - started }
  }

  /**
   * One exchange on a fresh stream: writes `bytes`, closes our writing side unless `close` is false,
   * and reads what comes back under the deadline.
   */
  async exchange(
    ma: string,
    name: ProtocolName,
    bytes: Bytes,
    opts: { close?: boolean; timeoutMs?: number; swarm?: string } = {},
  ): Promise<Exchange> {
    const s = await this.open(ma, name, opts.swarm)
    const reading = RawPeer.readAll(s, opts.timeoutMs ?? 5_000)
    try {
      if (bytes.byteLength > 0) await RawPeer.write(s, bytes)
      if (opts.close ?? true) await s.close({ signal: AbortSignal.timeout(5_000) })
    } catch {
      // the daemon may reset the stream while we write (that is one of the outcomes under test)
    }
    return reading
  }

  /** A well-formed request (the base fields from `settings`), and its reply. */
  async request(
    ma: string,
    name: ProtocolName,
    req: RequestBody,
    settings: Settings = DEFAULT_SETTINGS,
    opts: { swarm?: string; timeoutMs?: number } = {},
  ): Promise<Exchange> {
    const full = { ...requestBase(settings, []), ...req } as Request
    return this.exchange(ma, name, encodeRequest(full), opts)
  }

  async stop(): Promise<void> {
    await this.node.stop()
  }
}
