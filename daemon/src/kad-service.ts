import { peerIdFromString } from '@libp2p/peer-id'
import { type Contact, contactFromPeerId, SystemClock, SystemRandom } from '@swarmstore/core'
import { Kademlia, type RoutingNetwork } from '@swarmstore/routing'
import { protocolId, type Reply, type Request, type WirePeer } from '@swarmstore/wire'
import { PeerError } from './errors.js'
import type { PeerRpc } from './peer-rpc.js'

const KAD_TIMEOUT_MS = 5_000

function toWire(c: Contact): WirePeer {
  return { id: c.peerId, addrs: [...c.addrs] }
}

/** Contacts from a peer's reply; ids that do not parse as peer ids are skipped, not trusted. */
function fromWire(peers: WirePeer[]): Contact[] {
  const out: Contact[] = []
  for (const p of peers) {
    try {
      out.push(contactFromPeerId(peerIdFromString(p.id), p.addrs))
    } catch {
      // a malformed entry costs the sender nothing but its own usefulness
    }
  }
  return out
}

export interface KadServiceComponents {
  rpc: PeerRpc
  self: Contact
}

export interface KadServiceInit {
  swarm: string
}

/** Kademlia over libp2p: RoutingNetwork implemented with PeerRpc, and the kad protocol handler. */
export class KadService {
  readonly kad: Kademlia
  readonly protocol: string
  private readonly rpc: PeerRpc

  constructor(components: KadServiceComponents, init: KadServiceInit) {
    const { rpc, self } = components
    this.rpc = rpc
    this.protocol = protocolId(init.swarm, 'kad')
    const network: RoutingNetwork = {
      findNode: async (to, target) => {
        const r = await rpc.request(to, this.protocol, { ...rpc.base(), t: 'find', target }, KAD_TIMEOUT_MS)
        if (r.t !== 'nodes') throw new PeerError('BAD_REPLY', `${to.peerId}: expected nodes, got ${r.t}`)
        return fromWire(r.peers)
      },
      ping: async (to) => {
        const r = await rpc.request(to, this.protocol, { ...rpc.base(), t: 'ping' }, KAD_TIMEOUT_MS)
        if (r.t !== 'pong') throw new PeerError('BAD_REPLY', `${to.peerId}: expected pong, got ${r.t}`)
      },
    }
    this.kad = new Kademlia({
      self,
      clock: new SystemClock(),
      random: new SystemRandom(),
      network,
      // A daemon's table refreshes idle buckets every 10 minutes (the paper's hour is for
      // swarms far larger than ours; refresh is cheap) and checks every 30 s.
      refreshIntervalMs: 10 * 60_000,
      refreshCheckMs: 30_000,
    })
  }

  async start(): Promise<void> {
    await this.rpc.serve(this.protocol, (from, req) => this.handle(from, req), 64)
  }

  /** Nothing to stop: the protocol handler goes with the libp2p node. */
  stop(): void {}

  private handle(from: Contact, req: Request): Reply {
    switch (req.t) {
      case 'find':
        return { t: 'nodes', peers: this.kad.handleFindNode(from, req.target).map(toWire) }
      case 'ping':
        this.kad.handlePing(from)
        return { t: 'pong' }
      default:
        return { t: 'err', code: 'BAD_MESSAGE', msg: `${req.t} is not a kad request` }
    }
  }

  lookup(key: Uint8Array) {
    return this.kad.lookup(key)
  }
}
