import type { Libp2p } from 'libp2p'
import { multiaddr } from './libp2p-node.js'

export interface BootstrapProbeComponents {
  node: Pick<Libp2p, 'dial'>
}

export interface BootstrapProbeInit {
  /** the configured bootstrap multiaddrs (with /p2p/) */
  bootstraps: string[]
  /** this node's swarm key file, or null for a public swarm */
  swarmKeyPath: string | null
}

/** A probe dial gives up after this: long enough for a far peer, short enough to report soon. */
const PROBE_TIMEOUT_MS = 10_000

/**
 * Says why joining fails when the answer is one the operator must act on: a bootstrap whose TCP
 * connection opens but whose encryption handshake fails is, in practice, a swarm key that differs
 * (pnet encrypts before Noise, so with different keys — or a key on one side only — the other side
 * reads garbage). Routing's own error ("none of the bootstrap contacts answered") cannot tell that
 * from a peer that is down; one plain dial can.
 */
export class BootstrapProbe {
  private readonly node: BootstrapProbeComponents['node']
  private readonly init: BootstrapProbeInit

  constructor(components: BootstrapProbeComponents, init: BootstrapProbeInit) {
    this.node = components.node
    this.init = init
  }

  /** A message naming the swarm key when a bootstrap's handshake fails, else undefined (nothing to tell). */
  async explain(): Promise<string | undefined> {
    for (const ma of this.init.bootstraps) {
      try {
        await this.node.dial(multiaddr(ma), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
        return undefined // one bootstrap connects: the failure is elsewhere
      } catch (err) {
        const e = err as Error
        if (e.name === 'EncryptionFailedError') return this.keyMessage(ma, e.message)
      }
    }
    return undefined
  }

  private keyMessage(ma: string, why: string): string {
    const path = this.init.swarmKeyPath
    const failed = `cannot join through ${ma}: the connection failed in its encryption handshake (${why})`
    return path === null
      ? `${failed}; that swarm is likely private and this node has no swarm key: give the swarm's key ` +
          'with --swarm-key FILE, or join with a token from `swarmstore invite` (it carries the key)'
      : `${failed}; this node's swarm key ${path} is not that swarm's (or that node runs without one): ` +
          "use the swarm's key file, or join with a token from `swarmstore invite`"
  }
}
