import type { Stats } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { CliError, ExitCode } from './errors.js'

/**
 * Opens a file the user named as input, with its errors worded for them: missing → bad arguments,
 * a directory → bad arguments with `directoryMessage`, anything else → a read failure.
 */
export async function openInputFile(
  file: string,
  directoryMessage: string,
): Promise<{ handle: FileHandle; stat: Stats }> {
  let handle: FileHandle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, `cannot open ${file}: no such file`)
    }
    throw new CliError('READ_FAILED', ExitCode.ERROR, `cannot open ${file}: ${(err as Error).message}`)
  }
  const stat = await handle.stat()
  if (stat.isDirectory()) {
    await handle.close()
    throw new CliError('BAD_ARGUMENTS', ExitCode.BAD_ARGUMENTS, directoryMessage)
  }
  return { handle, stat }
}
