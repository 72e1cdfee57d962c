/** The libp2p protocol id for membership in a swarm: /swarmstore/<swarm>/membership/<major>. */
export const MEMBERSHIP_PROTOCOL_MAJOR = 1

export function membershipProtocol(swarm: string): string {
  return `/swarmstore/${swarm}/membership/${MEMBERSHIP_PROTOCOL_MAJOR}`
}
