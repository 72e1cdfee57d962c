import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import type { Libp2p } from 'libp2p'
import { createLibp2p } from 'libp2p'
import { Uint8ArrayList } from 'uint8arraylist'
import { createNode } from '../src/libp2p-node.js'

const ECHO = '/swarmstore-test/echo/1'

/** The raw socket under a libp2p connection, with its writes counted (write and writev alike). */
interface CountedSocket {
  bytesWritten: number
  writes: number
}

function countWrites(conn: Connection): CountedSocket {
  const socket = (
    conn as unknown as { maConn: { socket: Record<string, unknown> & { bytesWritten: number } } }
  ).maConn.socket
  const counted = {
    writes: 0,
    get bytesWritten() {
      return socket.bytesWritten
    },
  }
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method] as (...a: unknown[]) => unknown
    socket[method] = function (this: unknown, ...args: unknown[]) {
      counted.writes++
      return original.apply(this, args)
    }
  }
  return counted
}

/** Reads exactly `n` bytes from `it`. */
async function readExactly(it: AsyncIterator<Uint8Array | Uint8ArrayList>, n: number): Promise<Uint8Array> {
  const got = new Uint8ArrayList()
  while (got.byteLength < n) {
    const r = await it.next()
    if (r.done) throw new Error(`stream ended after ${got.byteLength} of ${n} bytes`)
    got.append(r.value)
  }
  return got.subarray()
}

async function send(stream: Stream, data: Uint8Array): Promise<void> {
  if (!stream.send(data)) await stream.onDrain()
}

describe('the libp2p transport (coalesced socket writes, window updates at half a window)', function () {
  this.timeout(60_000)
  let a: Libp2p
  let b: Libp2p

  before(async () => {
    const listen = ['/ip4/127.0.0.1/tcp/0']
    a = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen, announce: [] })
    b = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen, announce: [] })
    // echoes every byte back as it comes
    await b.handle(
      ECHO,
      async (stream: Stream) => {
        for await (const piece of stream) await send(stream, piece.subarray())
        await stream.close()
      },
      { maxInboundStreams: 64 },
    )
  })
  after(async () => Promise.all([a?.stop(), b?.stop()]))

  it('a small request and its reply cost one socket write and one data frame each way', async () => {
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, ECHO)
    const conn = a.getConnections(b.peerId)[0]!
    const reader = stream[Symbol.asyncIterator]()
    const message = randomBytes(100)
    for (let i = 0; i < 10; i++) {
      await send(stream, message)
      await readExactly(reader, message.byteLength)
    }
    const socket = countWrites(conn)
    const [bytes0, writes0] = [socket.bytesWritten, socket.writes]
    const exchanges = 200
    for (let i = 0; i < exchanges; i++) {
      const m = randomBytes(100)
      await send(stream, m)
      assert.deepEqual(Buffer.from(await readExactly(reader, m.byteLength)), m)
    }
    const bytesEach = (socket.bytesWritten - bytes0) / exchanges
    const writesEach = (socket.writes - writes0) / exchanges
    // one data frame: 100 bytes + yamux header 12 + Noise length 2 + tag 16 = 130; a window
    // update after each reply would add 30
    assert.ok(bytesEach < 140, `${bytesEach} bytes written per request: window updates sent every time?`)
    assert.ok(writesEach <= 1.05, `${writesEach} socket writes per request: not coalesced`)
    await stream.close()
  })

  it('a transfer many windows long arrives whole, in both directions at once (window updates still flow)', async () => {
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, ECHO)
    const data = randomBytes(24 * 1024 * 1024) // twelve 2 MiB windows
    const reader = stream[Symbol.asyncIterator]()
    const echoed = readExactly(reader, data.byteLength)
    for (let o = 0; o < data.byteLength; o += 1 << 20) await send(stream, data.subarray(o, o + (1 << 20)))
    assert.ok(Buffer.from(await echoed).equals(data), 'the echo differs')
    await stream.close()
  })

  it('a peer with yamux defaults (a 256 KiB window it assumes of ours) sends many windows without stalling', async () => {
    const stock = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    try {
      const stream = await stock.dialProtocol(b.getMultiaddrs()[0]!, ECHO)
      const data = randomBytes(4 * 1024 * 1024)
      const echoed = readExactly(stream[Symbol.asyncIterator](), data.byteLength)
      for (let o = 0; o < data.byteLength; o += 64 * 1024) await send(stream, data.subarray(o, o + 64 * 1024))
      assert.ok(Buffer.from(await echoed).equals(data), 'the echo differs')
      await stream.close()
    } finally {
      await stock.stop()
    }
  })

  it('many small streams at once, each echoed whole', async () => {
    const one = async () => {
      const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, ECHO)
      const reader = stream[Symbol.asyncIterator]()
      for (let i = 0; i < 20; i++) {
        const m = randomBytes(1 + ((i * 997) % 3000))
        await send(stream, m)
        assert.deepEqual(Buffer.from(await readExactly(reader, m.byteLength)), m)
      }
      await stream.close()
    }
    await Promise.all(Array.from({ length: 32 }, one))
  })
})
