import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

/**
 * @chainsafe/libp2p-yamux (8.x) answers every data frame it receives with a window-update frame,
 * so a small request and its reply cost four frames — each one Noise-encrypted and written to the
 * socket on its own — where two carry the data. Go's and Rust's yamux (and the py-libp2p fix) send
 * an update only once half the receive window has been consumed; this makes the JS stream do the
 * same, counting the window as at most the spec's 256 KiB (below). Frames that carry a SYN or ACK
 * flag (states Init and SYNReceived) still go out at once, and so does everything a paused stream
 * does. The sender is never starved: it always has at least half the window it assumes left.
 *
 * A patch of the library's prototype, applied once per process: it checks the fields it relies on
 * and throws at start-up if a yamux upgrade renamed them, rather than silently doing nothing.
 */
export function sendWindowUpdatesAtHalfWindow(): void {
  const proto = YamuxStream.prototype as unknown as PatchableStream
  if (proto[PATCHED] === true) return
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function' || typeof StreamState.Established !== 'number')
    throw new Error('@chainsafe/libp2p-yamux changed: YamuxStream.sendWindowUpdate or StreamState missing')
  proto.sendWindowUpdate = function sendWindowUpdate(this: PatchableStream) {
    if (typeof this.recvWindow !== 'number' || typeof this.recvWindowCapacity !== 'number')
      throw new Error('@chainsafe/libp2p-yamux changed: YamuxStream has no recvWindow/recvWindowCapacity')
    const withoutFlags = this.state === StreamState.Established || this.state === StreamState.SYNSent
    const threshold = Math.min(this.recvWindow, SPEC_INITIAL_WINDOW) / 2
    if (withoutFlags && this.recvWindow - this.recvWindowCapacity < threshold) return
    original.call(this)
  }
  proto[PATCHED] = true
}

/**
 * The yamux spec's initial stream window. A peer may assume no more than this of ours (go-libp2p
 * and a JS peer with default options do), whatever window this node was configured with — so an
 * update goes out at the latest when half of it has been consumed, or such a peer would stall.
 */
const SPEC_INITIAL_WINDOW = 256 * 1024

const PATCHED = Symbol.for('swarmstore.yamuxHalfWindowUpdates')

interface PatchableStream {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: (this: PatchableStream) => void
  [PATCHED]?: true
}
