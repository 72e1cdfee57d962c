import type { DepartureMode } from './departure.js'

/**
 * Requests to stop the daemon from inside it (the control API's `POST /v1/stop`), delivered to
 * whoever owns the process (runDaemon), which alone may stop the parts and exit. An event, so the
 * API does not hold the daemon that holds it.
 */
export class StopRequests {
  private readonly listeners = new Set<(mode: DepartureMode) => void>()

  /** Asks for a stop; does nothing when no one listens (a daemon embedded in a test). */
  request(mode: DepartureMode): void {
    for (const l of this.listeners) l(mode)
  }

  /** Subscribes; returns the unsubscribe function. */
  onRequest(listener: (mode: DepartureMode) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
