/**
 * `HOST:PORT` as given to `--api`. IPv6 hosts are written in brackets (`[::1]:5890`), as in a URL, so
 * the last colon is never ambiguous.
 */
export interface HostPort {
  host: string
  port: number
}

export function parseHostPort(text: string, { allowPortZero = false } = {}): HostPort {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(text.trim())
  const port = match === null ? Number.NaN : Number(match[2])
  if (match === null || port > 65535 || (port === 0 && !allowPortZero)) {
    throw new Error(`'${text}' is not HOST:PORT (example: 127.0.0.1:5890)`)
  }
  return { host: match[1]!, port }
}

/** The base URL for `--api`, which also accepts a full `http://HOST:PORT` as written in the api file. */
export function apiBaseUrl(text: string): string {
  if (/^https?:\/\//i.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      throw new Error(`'${text}' is not HOST:PORT or an http:// URL`)
    }
    return url.origin
  }
  const { host, port } = parseHostPort(text)
  return `http://${host}:${port}`
}
