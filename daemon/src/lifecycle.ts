/**
 * A part of the daemon with a lifetime: started once, in order, after every part it uses, and
 * stopped in the reverse order (js-libp2p's Startable).
 */
export interface Startable {
  start(): Promise<void> | void
  stop(): Promise<void> | void
}

/**
 * Starts parts one after the other. When one fails, those already started are stopped (in reverse)
 * and the error is thrown.
 */
export async function startAll(parts: readonly Startable[]): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    try {
      await parts[i]!.start()
    } catch (err) {
      await stopAll(parts.slice(0, i))
      throw err
    }
  }
}

/** Stops parts in the reverse of their start order; a part that fails to stop does not keep the rest running. */
export async function stopAll(parts: readonly Startable[]): Promise<void> {
  for (const p of [...parts].reverse()) {
    try {
      await p.stop()
    } catch {
      // stopping anyway: what is left must still be released
    }
  }
}
