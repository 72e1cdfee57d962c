import { Socket } from 'node:net'
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'
import { type TCPComponents, type TCPOptions, tcp } from '@libp2p/tcp'

/** Bytes held back in one event-loop turn before they are written anyway. */
const MAX_CORKED_BYTES = 64 * 1024

/**
 * TCP as @libp2p/tcp makes it, with the writes of one event-loop turn on a connection sent in one
 * `writev`. Below it, every yamux frame becomes a Noise message of two buffers (length, ciphertext)
 * and @libp2p/tcp writes each buffer with its own `socket.write` — a system call and, with Nagle off,
 * often a packet of its own: a small request and its reply cost the two peers about a dozen writes
 * and as many wake-ups to read them. Corking the socket for the rest of the turn (until
 * `setImmediate`) joins them, and the frames of other streams sent in the same turn with them.
 * Large transfers are not held back: past MAX_CORKED_BYTES the socket is uncorked at once, so the
 * kernel's buffer and the stream's back-pressure work as before.
 *
 * The hook is the upgrader the transport hands every new raw connection to (dialled or accepted):
 * it wraps that connection's `sendData`, the one method a transport's connection implements to send.
 */
export function coalescingTcp(init: TCPOptions): (components: TCPComponents) => Transport {
  const make = tcp(init)
  return (components) => {
    const transport = make(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = (ma, options) => dial(ma, { ...options, upgrader: coalescing(options.upgrader) })
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: coalescing(options.upgrader) })
    return transport
  }
}

function coalescing(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, prop) {
      if (prop === 'upgradeInbound' || prop === 'upgradeOutbound') {
        return (maConn: MultiaddrConnection, opts: never) => target[prop](corkWrites(maConn), opts)
      }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

interface SendingConnection {
  socket?: unknown
  sendData?: (data: Iterable<Uint8Array> & { byteLength: number }) => unknown
}

/** `maConn` with its socket corked from its first write in a turn to the end of the turn. */
function corkWrites(maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as unknown as SendingConnection
  const socket = conn.socket
  const sendData = conn.sendData
  // another transport's connection, or a changed @libp2p/tcp: left as it is
  if (!(socket instanceof Socket) || typeof sendData !== 'function') return maConn
  let corked = false
  let held = 0
  const flush = () => {
    if (!corked) return
    corked = false
    held = 0
    socket.uncork()
  }
  conn.sendData = (data) => {
    if (!corked && data.byteLength < MAX_CORKED_BYTES && !socket.destroyed) {
      socket.cork()
      corked = true
      setImmediate(flush)
    }
    const result = sendData.call(maConn, data)
    if (corked) {
      held += data.byteLength
      if (held >= MAX_CORKED_BYTES) flush()
    }
    return result
  }
  return maConn
}
