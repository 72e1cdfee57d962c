/**
 * yamux stream settings for the peer connections, shared by the daemon and the stream-ceiling
 * benchmark (so the ceiling is measured on the same stack).
 *
 * yamux 8 answers every data frame it consumes with a window update, and a frame is at most the
 * sender's window: with the default 256 KiB initial window a 1 MiB chunk travels as 4–16 data
 * frames, each answered by a 12-byte frame that costs one encryption and one syscall on each side.
 * A window that holds a whole frame (one chunk plus header) moves a chunk in one data frame. The
 * window may grow to MAX (yamux doubles it when data is consumed fast); what one stream can have
 * buffered is bounded by that, and streams per connection are capped by the protocol handlers.
 */
export const YAMUX_STREAM_WINDOW = {
  initialStreamWindowSize: 2 * 1024 * 1024,
  maxStreamWindowSize: 8 * 1024 * 1024,
} as const
