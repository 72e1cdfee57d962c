import { createHash, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { sha256, type TestDaemon, waitFor } from './swarm.js'

/** Key function, computed in the tests independently of the code under test. */
export const peerKey = (id: string) =>
  createHash('sha256').update(peerIdFromString(id).toMultihash().bytes).digest()
export const cidKey = (cid: string) => createHash('sha256').update(CID.parse(cid).multihash.bytes).digest()

export function rClosest(key: Buffer, peers: string[], r: number): string[] {
  const dist = (id: string) => Buffer.from(peerKey(id).map((b, i) => b ^ key[i]!))
  return [...peers].sort((a, b) => Buffer.compare(dist(a), dist(b))).slice(0, r)
}

export interface Stat {
  cid: string
  size: number
  chunks: { cid: string; size: number; holders: string[] }[]
  manifests: { cid: string; holders: string[] }[]
}

export interface PutFile {
  cid: string
  digest: string
  size: number
}

/** Puts `n` random files (sizes in [minBytes, maxBytes]) through `via`; returns what was acknowledged. */
export async function putFiles(
  via: TestDaemon,
  dir: string,
  n: number,
  opts: { minBytes: number; maxBytes: number; wait?: 'w' | 'all'; parallel?: number },
): Promise<PutFile[]> {
  const out: PutFile[] = []
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      const size = opts.minBytes + Math.floor(Math.random() * (opts.maxBytes - opts.minBytes + 1))
      const bytes = randomBytes(size)
      const f = join(dir, `f${i}.bin`)
      await writeFile(f, bytes)
      const r = await via.cli(['put', f, '--json', '--wait', opts.wait ?? 'w'])
      if (r.code !== 0) throw new Error(`put ${i} failed (${r.code}): ${r.stderr}`)
      out.push({ cid: JSON.parse(r.stdout).cid, digest: sha256(bytes), size })
    }
  }
  await Promise.all(Array.from({ length: opts.parallel ?? 4 }, worker))
  return out
}

/** Every file reads back byte-identical through `via`'s API; returns the CIDs that did not. */
export async function lostFiles(
  via: TestDaemon,
  _dir: string,
  files: PutFile[],
  parallel = 6,
): Promise<string[]> {
  const lost: string[] = []
  let next = 0
  const token = await via.token()
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!
      try {
        const r = await fetch(`${via.url}/v1/files/${f.cid}?timeout=30000`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(90_000),
        })
        const body = new Uint8Array(await r.arrayBuffer())
        if (!r.ok || body.byteLength !== f.size || sha256(body) !== f.digest) lost.push(f.cid)
      } catch {
        lost.push(f.cid)
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  return lost
}

/** Waits until every live daemon reports 0 under-replicated chunks. */
export async function waitHealed(live: TestDaemon[], timeoutMs: number): Promise<number> {
  const t0 = Date.now()
  await waitFor(
    'under-replicated = 0 on every live daemon',
    async () => {
      const st = await Promise.all(live.map((d) => d.status()))
      return st.every((s) => s.underReplicated === 0)
    },
    timeoutMs,
    500,
  )
  return Date.now() - t0
}

/** Blocks of `files` whose holders (as stat sees them) are not exactly their R closest among `live`. */
export async function misplaced(
  via: TestDaemon,
  files: PutFile[],
  live: TestDaemon[],
  r = 3,
): Promise<string[]> {
  const ids = live.map((d) => d.peerId)
  const bad: string[] = []
  let next = 0
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!
      let st: Stat
      try {
        st = await via.api<Stat>(`/v1/stat/${f.cid}`)
      } catch (err) {
        bad.push(`${f.cid}: stat failed ${err}`)
        continue
      }
      for (const b of [...st.chunks, ...st.manifests]) {
        const want = rClosest(cidKey(b.cid), ids, r).sort()
        const got = b.holders.filter((h) => ids.includes(h)).sort()
        if (want.join() !== got.join()) bad.push(`${b.cid}: holders ${got.length} want ${want.length}`)
      }
    }
  }
  await Promise.all(Array.from({ length: 6 }, worker))
  return bad
}

/** Waits until every daemon in `observers` sees `peerId` as dead (or gone); returns the ms it took. */
export async function waitDeclaredDead(
  observers: TestDaemon[],
  peerId: string,
  timeoutMs: number,
): Promise<number> {
  const t0 = Date.now()
  await waitFor(
    `every observer declares ${peerId.slice(-8)} dead`,
    async () => {
      const views = await Promise.all(
        observers.map((d) => d.api<{ peerId: string; state: string }[]>('/v1/peers')),
      )
      return views.every((v) => {
        const p = v.find((x) => x.peerId === peerId)
        return p === undefined || p.state === 'dead' || p.state === 'left'
      })
    },
    timeoutMs,
    200,
  )
  return Date.now() - t0
}
