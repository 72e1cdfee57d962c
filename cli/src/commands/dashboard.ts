import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { printJson, printLine } from '../output.js'
import { connect } from './connect.js'

interface CodeResponse {
  code: string
  expiresAt: number
}

/**
 * `dashboard`: a link to the daemon's page carrying a single-use code (≤ 60 s), opened in a browser
 * when there is a desktop. The code rides in the fragment (`#code=`): a browser never sends a
 * fragment to a server, so it stays out of access logs, proxies and Referer headers; the page reads
 * it, trades it for a cookie and removes it from the address bar.
 */
export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description(
      'print (and on a desktop, open) a link to the daemon’s live dashboard; it works once, within 60 s',
    )
    .option('--no-open', 'only print the link, never start a browser')
    .action(async (opts: { open: boolean }, command: Command) => {
      const { client, options, metadataDeadlineMs } = await connect(command)
      const { code, expiresAt } = await client.json<CodeResponse>('/v1/dashboard/code', {
        method: 'POST',
        deadlineMs: metadataDeadlineMs,
      })
      const url = `${client.url('/').toString()}#code=${code}`
      const opened = opts.open && openOnDesktop(url)
      if (options.json) printJson({ url, expiresAt: new Date(expiresAt).toISOString(), opened })
      else {
        printLine(url)
        printLine(
          `(works once, until ${new Date(expiresAt).toLocaleTimeString()}${opened ? '; opening a browser' : ''})`,
        )
      }
    })
}

/** xdg-open where a desktop session is (DISPLAY or WAYLAND_DISPLAY); never fails the command. */
function openOnDesktop(url: string): boolean {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false
  try {
    const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true })
    child.on('error', () => {}) // no xdg-open: the printed link is enough
    child.unref()
    return true
  } catch {
    return false
  }
}
