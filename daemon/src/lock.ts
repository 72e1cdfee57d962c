import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { DataDirLockedError } from './errors.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Exclusive use of a data dir: `daemon.lock` holds the owner's pid. A lock left by a process that
 * died (kill -9) is stale and taken over, so a crashed daemon restarts without operator help.
 */
export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const file = join(dataDir, 'daemon.lock')
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600)
      await fh.writeFile(`${process.pid}\n`)
      await fh.sync()
      await fh.close()
      return {
        release: async () => {
          await unlink(file).catch(() => {})
        },
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new DataDirLockedError(dataDir, pid)
    }
    await unlink(file).catch(() => {}) // stale: its owner is gone
  }
  throw new Error(`could not lock ${file}`)
}
