import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { multiaddr } from '@multiformats/multiaddr'
import { YAMUX_STREAM_WINDOW } from '@swarmstore/wire'
import { createLibp2p, type Libp2p } from 'libp2p'
import { coalescingTcp } from './coalescing-tcp.js'
import { sendWindowUpdatesAtHalfWindow } from './yamux-window-updates.js'

export interface NodeInit {
  privateKey: PrivateKey
  listen: string[]
  announce: string[]
  /** contents of a pnet swarm key file, or undefined for a public swarm */
  swarmKey?: Uint8Array
}

function isLoopback(ma: string): boolean {
  return ma.startsWith('/ip4/127.') || ma.startsWith('/ip6/::1/')
}

/**
 * The libp2p 3 node: TCP + Noise + yamux, identify and ping, nothing else served by default.
 *
 * Connection limits are set deliberately: libp2p's default `inboundConnectionThreshold` (5 new
 * inbound connections per second per host) resets dials in local swarms where every daemon is on
 * 127.0.0.1, so it is raised to 100/s with 64 pending handshakes; 256 connections in total.
 */
export async function createNode(init: NodeInit): Promise<Libp2p> {
  sendWindowUpdatesAtHalfWindow()
  const node = await createLibp2p({
    privateKey: init.privateKey,
    addresses: {
      listen: init.listen,
      announce: init.announce,
      // Loopback addresses are worthless to a remote peer: advertise them only when that is all we have
      // (a local swarm), so a LAN peer never tries 127.0.0.1.
      announceFilter: (addrs) => {
        if (init.announce.length > 0) return addrs
        const external = addrs.filter((a) => !isLoopback(a.toString()))
        return external.length > 0 ? external : addrs
      },
    },
    transports: [
      coalescingTcp({
        inboundSocketInactivityTimeout: 5 * 60_000,
        outboundSocketInactivityTimeout: 5 * 60_000,
      }),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [
      yamux({ maxInboundStreams: 1024, maxOutboundStreams: 1024, streamOptions: YAMUX_STREAM_WINDOW }),
    ],
    ...(init.swarmKey ? { connectionProtector: preSharedKey({ psk: init.swarmKey }) } : {}),
    // libp2p pings every connection every 10 s on a stream of its own (to time it, and to drop
    // it if the ping fails): in a swarm of 20 that is two streams opened a second per daemon, for
    // what SWIM's probes already decide. Once a minute still clears half-open connections.
    connectionMonitor: { pingInterval: 60_000 },
    connectionManager: {
      maxConnections: 256,
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 64,
      dialTimeout: 10_000,
    },
    services: {
      identify: identify(),
      ping: ping(),
    },
  })
  return node
}

export { multiaddr }
