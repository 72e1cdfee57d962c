import type { MemberMeta, Membership } from '@swarmstore/membership'
import type { ChunkStore } from '@swarmstore/storage'

/** How often free capacity is re-checked for the membership metadata. */
const CAPACITY_ADVERT_MS = 15_000

/** Free bytes as we advertise them: none for a gateway (capacity 0), else the store's. */
export async function freeCapacity(
  store: Pick<ChunkStore, 'stats'>,
  capacity: number | null,
): Promise<number> {
  return capacity === 0 ? 0 : (await store.stats()).freeBytes
}

export interface CapacityAdvertiserComponents {
  store: Pick<ChunkStore, 'stats'>
  membership: Pick<Membership, 'get' | 'setMeta'>
  /** our announced addresses, re-read with each advertisement */
  addrs: () => string[]
}

export interface CapacityAdvertiserInit {
  /** the metadata membership started with (its capacityFree is what peers know now) */
  meta: MemberMeta
  /** the configured capacity: 0 = a gateway, which advertises none */
  capacity: number | null
  chunkSize: number
  /** how often free capacity is re-checked; default 15 s */
  intervalMs?: number
}

/**
 * Free capacity in the membership metadata, both ways: ours re-advertised as it moves, and a
 * member with less room than one chunk seen as full (placement skips it; it keeps what it has).
 */
export class CapacityAdvertiser {
  private readonly store: Pick<ChunkStore, 'stats'>
  private readonly membership: Pick<Membership, 'get' | 'setMeta'>
  private readonly addrs: () => string[]
  private readonly meta: MemberMeta
  private readonly capacity: number | null
  private readonly chunkSize: number
  private readonly intervalMs: number
  private advertised: number
  private timer: NodeJS.Timeout | undefined

  constructor(components: CapacityAdvertiserComponents, init: CapacityAdvertiserInit) {
    this.store = components.store
    this.membership = components.membership
    this.addrs = components.addrs
    this.meta = init.meta
    this.capacity = init.capacity
    this.chunkSize = init.chunkSize
    this.intervalMs = init.intervalMs ?? CAPACITY_ADVERT_MS
    this.advertised = init.meta.capacityFree
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.intervalMs) // io-edge
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** A member advertising less room than one chunk. */
  isAdvertisedFull(peerId: string): boolean {
    const free = this.membership.get(peerId)?.meta.capacityFree
    return free !== undefined && free < this.chunkSize
  }

  // Re-advertises when free capacity crosses "full" or moves by a quarter (each change bumps our
  // incarnation and is gossiped, so not on every put).
  private async check(): Promise<void> {
    try {
      const free = await freeCapacity(this.store, this.capacity)
      const crossed = free < this.chunkSize !== this.advertised < this.chunkSize
      if (crossed || Math.abs(free - this.advertised) > 0.25 * Math.max(this.advertised, 1)) {
        this.advertised = free
        this.membership.setMeta({ ...this.meta, addrs: this.addrs(), capacityFree: free })
      }
    } catch {
      // stats failed (store closing): try again next time
    }
  }
}
