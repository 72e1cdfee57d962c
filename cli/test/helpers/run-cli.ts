import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/swarmstore.mjs', import.meta.url))
const DIST_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface CliRun {
  code: number | null
  stdout: string
  /** stdout as bytes, for commands that write a file's bytes there */
  stdoutBytes: Buffer
  stderr: string
}

/** Fails with what to do when the bin has nothing to import (the tests run the built CLI). */
export function assertBuilt(): void {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run \`npx tsc -b cli\` first`)
}

/**
 * Runs the real bin in a child process, as a user would (process.execPath is the Node 22 mocha
 * runs on). SWARMSTORE_* variables of the caller's shell are dropped so they cannot steer a test.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: Buffer } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SWARMSTORE_') && key !== 'NODE_OPTIONS') env[key] = value
  }
  Object.assign(env, options.env)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(stdout)
      resolve({
        code,
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr: Buffer.concat(stderr).toString('utf8'),
      })
    })
    child.stdin.end(options.input)
  })
}
