/**
 * Errors are types: one class per condition with a stable `code` that the CLI maps to an exit
 * status and that crosses the wire and the control API unchanged.
 */
export class SwarmstoreError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}
