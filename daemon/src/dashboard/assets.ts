import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/** The page's files as the build wrote them (`npm run build:web` in daemon/, part of `tsc -b`'s scripts). */
const ASSET_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
}

export interface Asset {
  body: Buffer
  type: string
}

/**
 * Where the bundle lies: daemon/dist/web, from this file in daemon/src/dashboard (run from source)
 * or daemon/dist/dashboard (built) alike.
 */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url))

/** The page's files by URL path, read into memory once; none when the bundle was not built. */
export async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>()
  for (const [path, { file, type }] of Object.entries(ASSET_FILES)) {
    try {
      out.set(path, { body: await readFile(`${dir}/${file}`), type })
    } catch {
      // not built: the page answers 503 and says how to build it
    }
  }
  return out
}
