// Readiness check for deploy/swarmstore.service (ExecStartPost) and any supervisor without sd_notify:
// exits 0 once the daemon whose data dir is argv[2] answers GET /health on the URL it wrote to
// <dataDir>/api, 1 when argv[3] seconds (default 60) pass first or the main process is gone.
//
// Why this and not Type=notify: sd_notify needs the daemon to link a notify library and call it once
// listening; this needs nothing from the daemon and also serves a container's health check. The API
// starts after the peer-to-peer transport listens, so an answer means both listen. It says nothing of
// having joined a swarm (`ready` in the answer, `swarmstore status`): a node whose bootstrap is down
// still starts.
//
// A stale `api` file from a killed run names the same URL when the API port is fixed: the check then
// waits until something answers there, and the data dir's lock guarantees that is this daemon or it
// fails to bind and exits. Plain Node syntax, no dependencies: it runs before anything is imported.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

const POLL_MS = 200
const REQUEST_TIMEOUT_MS = 2000
const MAX_BODY = 4096

const [dataDir, seconds = '60'] = process.argv.slice(2)
if (!dataDir || !(Number(seconds) > 0)) {
  console.error('usage: wait-ready.mjs DATA_DIR [SECONDS]')
  process.exit(2)
}
const deadline = Date.now() + Number(seconds) * 1000
// systemd gives ExecStartPost the daemon's pid: stop waiting as soon as it is gone
const mainPid = Number(process.env.MAINPID) || undefined

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

async function apiUrl() {
  try {
    return (await readFile(join(dataDir, 'api'), 'utf8')).trim()
  } catch {
    return undefined
  }
}

/** The body of `res`, or undefined past MAX_BODY bytes (a /health answer is ~30). */
async function boundedText(res) {
  const chunks = []
  let size = 0
  for await (const chunk of res.body ?? []) {
    size += chunk.length
    if (size > MAX_BODY) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** GET /health answered 200 with {"ok":true}, within a size and a time bound. */
async function healthy(url) {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    const text = await boundedText(res)
    return res.status === 200 && text !== undefined && JSON.parse(text).ok === true
  } catch {
    return false
  }
}

let last = 'no api file yet'
while (Date.now() < deadline) {
  if (mainPid !== undefined && !alive(mainPid)) {
    console.error(`swarmstore daemon (pid ${mainPid}) exited before it listened`)
    process.exit(1)
  }
  const url = await apiUrl()
  if (url !== undefined) {
    if (await healthy(url)) {
      console.log(`swarmstore daemon listening; control API at ${url}`)
      process.exit(0)
    }
    last = `no health answer from ${url}`
  }
  await new Promise((r) => setTimeout(r, POLL_MS))
}
console.error(`swarmstore daemon not listening after ${seconds} s (${last})`)
process.exit(1)
