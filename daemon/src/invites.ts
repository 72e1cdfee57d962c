import { encodeInvite, type InviteToken } from './invite-token.js'
import type { NodeStatus } from './node-status.js'

export interface InvitesComponents {
  status: Pick<NodeStatus, 'id' | 'peers'>
}

export interface InvitesInit {
  swarm: string
  replicas: number
  writeQuorum: number
  chunkSize: number
  /** the swarm key file's bytes (a private swarm), or undefined */
  swarmKey: Uint8Array | undefined
}

/** Alive, connected members besides this node whose addresses go into a token: joins survive one of them being down. */
const OTHER_BOOTSTRAPS = 4

export interface Invite extends InviteToken {
  token: string
  /** the token carries the swarm key: it is a secret */
  private: boolean
}

/** Builds join tokens (invite-token.ts) from this node's settings and addresses. */
export class Invites {
  private readonly status: InvitesComponents['status']
  private readonly init: InvitesInit

  constructor(components: InvitesComponents, init: InvitesInit) {
    this.status = components.status
    this.init = init
  }

  start(): void {}
  stop(): void {}

  /** A token for the swarm; `expiresAt` (ms since the epoch) is written into it when given. */
  async create(expiresAt: number | undefined): Promise<Invite> {
    const { swarm, replicas, writeQuorum, chunkSize, swarmKey } = this.init
    const invite: InviteToken = {
      swarm,
      bootstrap: await this.bootstrapAddrs(),
      replicas,
      writeQuorum,
      chunkSize,
      ...(swarmKey !== undefined ? { swarmKey: Buffer.from(swarmKey).toString('utf8') } : {}),
      ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    }
    return { ...invite, token: encodeInvite(invite), private: swarmKey !== undefined }
  }

  /** This node's addresses, then one address of each of a few alive, connected members. */
  private async bootstrapAddrs(): Promise<string[]> {
    const self = this.status.id()
    const own = self.addrs.map((a) => (a.includes('/p2p/') ? a : `${a}/p2p/${self.peerId}`))
    const others = (await this.status.peers())
      .filter((p) => p.state === 'alive' && p.connected && p.addrs[0] !== undefined)
      .slice(0, OTHER_BOOTSTRAPS)
      .map((p) => `${p.addrs[0]}/p2p/${p.peerId}`)
    return [...own, ...others]
  }
}
