/**
 * The few file-system operations the chunk store uses, behind an interface so the same store code
 * runs over the real disk and over the simulated power-loss file system in the tests. The contract
 * mirrors POSIX durability: data and directory entries are volatile until `writeFile(..., {sync})`
 * (file data) and `fsyncDir` (entries of that directory) make them durable.
 */
export interface StoreFs {
  /** Creates a directory (and parents); no error if it exists. Not durable until its parent is fsynced. */
  mkdir(path: string): Promise<void>
  /** Names in a directory (no '.' and '..'). ENOENT if missing. */
  readdir(path: string): Promise<string[]>
  /** Creates or truncates `path` and writes `data`; with sync, fsyncs the file before resolving. */
  writeFile(path: string, data: Uint8Array, opts: { sync: boolean }): Promise<void>
  /** The whole file. Rejects with code ENOENT if missing. */
  readFile(path: string): Promise<Uint8Array>
  /** Size in bytes; ENOENT if missing. */
  size(path: string): Promise<number>
  /** Atomic rename within one file system (replaces `to`). */
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  /** Makes the directory's entries (creations, renames, unlinks) durable. */
  fsyncDir(path: string): Promise<void>
  /** Bytes available to us on the file system holding `path`. */
  available(path: string): Promise<number>
  /** Releases cached handles (called by ChunkStore.close). */
  close?(): Promise<void>
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ENOENT'
}
