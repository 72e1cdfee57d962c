import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

/**
 * The node's Ed25519 identity, kept in `<dataDir>/identity.key` (protobuf, mode 0600) so the peer
 * id — and with it the node's place in the keyspace and its chunks — survives restarts.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, 'identity.key')
  try {
    return privateKeyFromProtobuf(await readFile(file))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read identity ${file}: ${(err as Error).message}`, { cause: err })
    }
  }
  await mkdir(dataDir, { recursive: true })
  const key = await generateKeyPair('Ed25519')
  // 'wx': two racing first starts cannot overwrite each other's identity.
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  await chmod(file, 0o600)
  return key
}

/** A random bearer token for the control API, created once (0600). */
export async function loadOrCreateToken(dataDir: string, random: () => Uint8Array): Promise<string> {
  const file = join(dataDir, 'token')
  try {
    const t = (await readFile(file, 'utf8')).trim()
    if (t.length >= 32) return t
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = Buffer.from(random()).toString('hex')
  await writeFile(file, token + '\n', { mode: 0o600 })
  await chmod(file, 0o600)
  return token
}
