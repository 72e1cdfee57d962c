/**
 * CPU time from /proc (Linux), to tell whether the daemons or the machine were the bound: the
 * daemons' own CPU, and the whole machine's busy time (others' processes included), in seconds.
 */
import { readFile } from 'node:fs/promises'

/** /proc counts in clock ticks of USER_HZ, 100 on Linux. */
const HZ = 100

/** user + system CPU seconds summed over `pids` (a process that has exited counts 0). */
export async function processCpuSeconds(pids: number[]): Promise<number> {
  const each = await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
      if (stat === undefined) return 0
      // after "pid (comm) ": state=0 … utime=11 stime=12
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
      return (Number(f[11]) + Number(f[12])) / HZ
    }),
  )
  return each.reduce((a, b) => a + b, 0)
}

/** CPU seconds the whole machine was busy (every core, every process): /proc/stat's first line. */
export async function machineBusySeconds(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!
  // cpu user nice system idle iowait irq softirq steal …
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  return (user! + nice! + system! + irq! + softirq! + steal!) / HZ
}

/** Cores in use over an interval: call once at its start, and the result at its end. */
export async function cpuMeter(pids: number[]): Promise<() => Promise<{ daemons: number; machine: number }>> {
  const t0 = performance.now()
  const [d0, m0] = [await processCpuSeconds(pids), await machineBusySeconds()]
  return async () => {
    const secs = (performance.now() - t0) / 1000
    const [d1, m1] = [await processCpuSeconds(pids), await machineBusySeconds()]
    const r2 = (x: number) => Math.round(x * 100) / 100
    return { daemons: r2((d1 - d0) / secs), machine: r2((m1 - m0) / secs) }
  }
}
