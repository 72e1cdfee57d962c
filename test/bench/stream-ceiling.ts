/**
 * The ceiling for swarm throughput: one libp2p stream (TCP + Noise + yamux, the daemon's own
 * stack) between two processes, moving `bytes` in 1 MiB writes. Run as a child (`serve`) and a
 * parent (`measureStreamCeiling`).
 */
import { fork } from 'node:child_process'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { YAMUX_STREAM_WINDOW } from '@swarmstore/wire'
import { createLibp2p } from 'libp2p'

const PROTO = '/swarmstore-bench/sink/1'

async function node() {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: YAMUX_STREAM_WINDOW })],
  })
}

async function serve(): Promise<void> {
  const n = await node()
  await n.handle(PROTO, async (stream) => {
    let total = 0
    for await (const chunk of stream) total += chunk.byteLength
    stream.send(new TextEncoder().encode(String(total)))
    await stream.close()
  })
  process.send!({ addr: n.getMultiaddrs()[0]!.toString() })
}

/** MB/s (10^6 bytes) of one stream carrying `bytes` from this process to a child process. */
export async function measureStreamCeiling(bytes: number): Promise<number> {
  const child = fork(import.meta.filename, ['serve'], { execArgv: ['--import', 'tsx'] })
  try {
    const addr = await new Promise<string>((res) =>
      child.once('message', (m: { addr: string }) => res(m.addr)),
    )
    const n = await node()
    const stream = await n.dialProtocol(multiaddr(addr), PROTO)
    const piece = new Uint8Array(1 << 20).fill(7)
    const t0 = performance.now()
    for (let sent = 0; sent < bytes; sent += piece.byteLength) {
      if (!stream.send(piece.subarray(0, Math.min(piece.byteLength, bytes - sent)))) await stream.onDrain()
    }
    await stream.close()
    let reply = ''
    for await (const c of stream) reply += new TextDecoder().decode(c.subarray())
    const secs = (performance.now() - t0) / 1000
    if (Number(reply) !== bytes) throw new Error(`sink got ${reply} of ${bytes} bytes`)
    await n.stop()
    return bytes / 1e6 / secs
  } finally {
    child.kill()
  }
}

if (process.argv[2] === 'serve') await serve()
