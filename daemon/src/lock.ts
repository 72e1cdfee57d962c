import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { DataDirLockedError } from './errors.js'

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/PID/stat), or undefined
 * where there is no /proc or the process is gone. The command name (field 2) may hold spaces and
 * parentheses, so the fields are counted after its last `)`.
 */
export async function processStartTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (stat === undefined) return undefined
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Whether the lock's owner still runs: its PID is alive and, where /proc tells, started when the
 * lock says. A PID reused after kill -9 has another start time, so it does not hold the lock.
 */
async function ownerRuns(pid: number, startTime: string | undefined): Promise<boolean> {
  if (!alive(pid)) return false
  if (startTime === undefined) return true // a lock without one (older daemon): trust the PID
  const now = await processStartTime(pid)
  return now === undefined || now === startTime
}

/**
 * Exclusive use of a data dir: `daemon.lock` holds the owner's PID and its start time. A lock left
 * by a process that died (kill -9) is stale and taken over, so a crashed daemon restarts without
 * operator help, even when another process got its PID since.
 */
export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const file = join(dataDir, 'daemon.lock')
  const startTime = await processStartTime(process.pid)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600)
      await fh.writeFile(`${process.pid}${startTime === undefined ? '' : ` ${startTime}`}\n`)
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
    const [pidText, ownerStart] = (await readFile(file, 'utf8').catch(() => '')).trim().split(' ')
    const pid = Number.parseInt(pidText ?? '', 10)
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && (await ownerRuns(pid, ownerStart))) {
      throw new DataDirLockedError(dataDir, pid)
    }
    await unlink(file).catch(() => {}) // stale: its owner is gone
  }
  throw new Error(`could not lock ${file}`)
}
