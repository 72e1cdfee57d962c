import assert from 'node:assert/strict'
import * as cbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import {
  BadMessageError,
  BufferPool,
  decodeReply,
  decodeRequest,
  decodeVarint,
  encodeFrame,
  encodeReply,
  encodeRequest,
  encodeVarint,
  FrameReader,
  FrameTooLargeError,
  MAX_HEADER_BYTES,
  maxFrameBytes,
  protocolId,
  ReadTimeoutError,
  type Request,
  sessionProtocolId,
  UnexpectedEndError,
} from '../src/index.js'

const base = { v: 0, r: 3, cs: 1 << 20, addrs: ['/ip4/127.0.0.1/tcp/4001'] }

async function* chunks(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p
}

function payloadOf(list: { subarray(): Uint8Array }): Uint8Array {
  // strip the frame's own length prefix
  const all = list.subarray()
  const [, used] = decodeVarint(all.length, (i) => all[i]!)!
  return all.subarray(used)
}

describe('wire: varints', () => {
  it('round-trips every safe length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 34 }), (n) => {
        const b = encodeVarint(n)
        assert.deepEqual(
          decodeVarint(b.length, (i) => b[i]!),
          [n, b.length],
        )
      }),
    )
  })
  it('rejects varints longer than 5 bytes', () => {
    const b = new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    assert.throws(() => decodeVarint(b.length, (i) => b[i]!), RangeError)
  })
})

describe('wire: framing', () => {
  it('reads frames split at every byte boundary', async () => {
    const a = encodeFrame(new Uint8Array([1, 2, 3])).subarray()
    const b = encodeFrame(new Uint8Array(300).fill(7)).subarray()
    const all = new Uint8Array([...a, ...b])
    for (let cut = 0; cut <= all.length; cut++) {
      const r = new FrameReader(chunks([all.subarray(0, cut), all.subarray(cut)]), {
        maxFrameBytes: 1000,
        timeoutMs: 1000,
      })
      assert.deepEqual(await r.next(), new Uint8Array([1, 2, 3]))
      assert.deepEqual(await r.next(), new Uint8Array(300).fill(7))
      assert.equal(await r.next(), null)
    }
  })
  it('assembles large frames in pooled buffers, reused after a release and only then', async () => {
    const pool = new BufferPool(1000, 2)
    try {
      const big = (v: number) => encodeFrame(new Uint8Array(600).fill(v)).subarray()
      const small = encodeFrame(new Uint8Array([9])).subarray()
      const all = new Uint8Array([...big(1), ...small, ...big(2), ...big(3)])
      // in pieces that split every frame
      const parts: Uint8Array[] = []
      for (let o = 0; o < all.length; o += 97) parts.push(all.subarray(o, o + 97))
      const r = new FrameReader(chunks(parts), { maxFrameBytes: 1000, timeoutMs: 1000, pool })
      const a = (await r.next())!
      assert.deepEqual(a, new Uint8Array(600).fill(1))
      assert.equal(a.buffer.byteLength, 1000, 'a pooled buffer')
      const s = (await r.next())!
      assert.deepEqual(s, new Uint8Array([9]))
      pool.release(s) // not the pool's: ignored
      assert.equal(pool.freeCount, 0)
      const b = (await r.next())!
      assert.notEqual(b.buffer, a.buffer, 'a buffer still out is not handed out again')
      pool.release(a)
      pool.release(a) // twice: once only
      assert.equal(pool.freeCount, 1)
      const c = (await r.next())!
      assert.equal(c.buffer, a.buffer, 'the released buffer is reused')
      assert.deepEqual(c, new Uint8Array(600).fill(3))
      assert.deepEqual(b, new Uint8Array(600).fill(2), 'a frame still out is untouched')
      assert.equal(await r.next(), null)
    } finally {
      pool.close()
    }
  })
  it('fills a pooled frame as its pieces arrive: split anywhere, counted while partial, an end midway fails', async () => {
    const pool = new BufferPool(1000, 2)
    try {
      const body = Uint8Array.from({ length: 700 }, (_, i) => i % 251)
      const all = new Uint8Array([
        ...encodeFrame(body).subarray(),
        ...encodeFrame(new Uint8Array([5])).subarray(),
      ])
      for (let cut = 0; cut <= all.length; cut += 7) {
        const r = new FrameReader(chunks([all.subarray(0, cut), all.subarray(cut)]), {
          maxFrameBytes: 1000,
          timeoutMs: 1000,
          pool,
        })
        const f = (await r.next())!
        assert.deepEqual(f, body)
        pool.release(f)
        assert.deepEqual(await r.next(), new Uint8Array([5]))
        assert.equal(await r.next(), null)
      }
      // the first 300 bytes of the pooled frame, then nothing for a while: counted as buffered
      let release!: () => void
      const gate = new Promise<void>((res) => {
        release = res
      })
      async function* slow() {
        yield all.subarray(0, 300)
        await gate
      }
      const r = new FrameReader(slow(), { maxFrameBytes: 1000, timeoutMs: 50, pool })
      await assert.rejects(r.next(), ReadTimeoutError)
      assert.equal(r.buffered, 300, 'the header and the payload bytes copied so far')
      release()
      await assert.rejects(r.next(), UnexpectedEndError, 'the stream ended inside the frame')
    } finally {
      pool.close()
    }
  })
  it("a decoded put's header fields are copies: its frame can go back to a pool", () => {
    const cid = new Uint8Array(36).fill(3)
    const frame = encodeRequest({
      ...base,
      t: 'put',
      cid,
      data: new Uint8Array(2000).fill(1),
    } as Request).subarray()
    const payload = payloadOf({ subarray: () => frame })
    const req = decodeRequest(payload) as Request & { t: 'put' }
    payload.fill(0)
    assert.deepEqual(req.cid, cid, 'the cid survives the frame being overwritten')
    assert.equal(req.data[0], 0, 'the data is a view of the frame (no copy)')
  })
  it('refuses an oversized frame from its length prefix, before the payload arrives', async () => {
    let pulled = 0
    async function* src() {
      yield encodeVarint(10_000)
      pulled++
      yield new Uint8Array(10_000)
    }
    const r = new FrameReader(src(), { maxFrameBytes: 1000, timeoutMs: 1000 })
    await assert.rejects(r.next(), FrameTooLargeError)
    assert.equal(pulled, 0)
  })
  it('times out a peer that stalls mid-frame', async () => {
    async function* src() {
      yield new Uint8Array([5, 1, 2])
      await new Promise((r) => setTimeout(r, 300))
    }
    const r = new FrameReader(src(), { maxFrameBytes: 1000, timeoutMs: 50 })
    await assert.rejects(r.next(), ReadTimeoutError)
  })
  it('reports a truncated frame at end of stream', async () => {
    const r = new FrameReader(chunks([new Uint8Array([5, 1, 2])]), { maxFrameBytes: 1000, timeoutMs: 1000 })
    await assert.rejects(r.next(), UnexpectedEndError)
  })
  it('expect() turns a clean end into an error', async () => {
    const r = new FrameReader(chunks([]), { maxFrameBytes: 1000, timeoutMs: 1000 })
    await assert.rejects(r.expect(), UnexpectedEndError)
  })
})

describe('wire: messages', () => {
  const cid = new Uint8Array(36).fill(1)
  const samples: Request[] = [
    { ...base, t: 'find', target: new Uint8Array(32).fill(9) },
    { ...base, t: 'ping' },
    { ...base, t: 'put', cid, data: new Uint8Array(1000).fill(3) },
    { ...base, t: 'get', cid },
    { ...base, t: 'has', cids: [cid, cid] },
    { ...base, t: 'has', cids: [cid], held: true },
    {
      ...base,
      t: 'sum',
      ranges: [{ key: new Uint8Array(32).fill(0x80), bits: 1 }],
      keyRanges: [{ key: new Uint8Array(32), bits: 7 }],
      limit: 1024,
    },
  ]
  for (const s of samples) {
    it(`round-trips ${s.t}`, () => {
      assert.deepEqual(decodeRequest(payloadOf(encodeRequest(s))), s)
    })
  }
  it('round-trips replies', () => {
    for (const r of [
      { t: 'nodes', peers: [{ id: '12D3KooWabc', addrs: ['/ip4/1.2.3.4/tcp/1'] }] },
      { t: 'pong' },
      { t: 'stored' },
      { t: 'refused', reason: 'no-capacity', msg: 'full' },
      { t: 'block', data: new Uint8Array([1, 2]) },
      { t: 'missing' },
      { t: 'have', have: [true, false] },
      {
        t: 'sums',
        sums: [{ count: 2, xor: new Uint8Array(32).fill(5) }],
        keys: [[new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)], []],
      },
      { t: 'err', code: 'X', msg: 'y' },
    ] as const) {
      assert.deepEqual(decodeReply(payloadOf(encodeReply(r))), r)
    }
  })
  it('truncates a nodes reply longer than k', () => {
    const peers = Array.from({ length: 50 }, (_, i) => ({ id: `p${i}`, addrs: [] }))
    const r = decodeReply(payloadOf(encodeReply({ t: 'nodes', peers })))
    assert.equal(r.t === 'nodes' && r.peers.length, 20)
  })
  it('rejects garbage, wrong shapes and unknown types with BadMessageError', () => {
    const hdr = (h: unknown, data = new Uint8Array()) => {
      const e = cbor.encode(h)
      return new Uint8Array([...encodeVarint(e.length), ...e, ...data])
    }
    const bad: Uint8Array[] = [
      new Uint8Array([]),
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      new Uint8Array([10, 1, 2]),
      hdr('a string'),
      hdr([1, 2]),
      hdr({ ...base, t: 'nope' }),
      hdr({ ...base, t: 'find', target: new Uint8Array(31) }),
      hdr({ ...base, t: 'find', target: new Uint8Array(32), extra: 1 }),
      hdr({ ...base, t: 'ping', r: -1 }),
      hdr({ ...base, t: 'ping', r: 1.5 }),
      hdr({ ...base, t: 'ping', addrs: 'x' }),
      hdr({ ...base, t: 'ping' }, new Uint8Array([1])),
      hdr({ ...base, t: 'has', cids: Array.from({ length: 2000 }, () => cid) }),
      hdr({ ...base, t: 'has', cids: [cid], held: false }),
      hdr({ ...base, t: 'has', cids: [cid], held: 1 }),
      new Uint8Array([...encodeVarint(MAX_HEADER_BYTES + 1)]),
    ]
    for (const b of bad) assert.throws(() => decodeRequest(b), BadMessageError)
    assert.throws(() => decodeReply(hdr({ t: 'refused', reason: 'because', msg: '' })), BadMessageError)
    assert.throws(() => decodeReply(hdr({ t: 'have', have: [1] })), BadMessageError)
    const range = { key: new Uint8Array(32), bits: 3 }
    for (const b of [
      hdr({ ...base, t: 'sum', ranges: [{ key: new Uint8Array(31), bits: 3 }], keyRanges: [], limit: 1 }),
      hdr({ ...base, t: 'sum', ranges: [{ ...range, bits: 257 }], keyRanges: [], limit: 1 }),
      hdr({ ...base, t: 'sum', ranges: Array.from({ length: 300 }, () => range), keyRanges: [], limit: 1 }),
      hdr({ ...base, t: 'sum', ranges: [], keyRanges: [], limit: 1e9 }),
    ]) {
      assert.throws(() => decodeRequest(b), BadMessageError)
    }
    // key counts that do not match the data, or too many keys
    assert.throws(
      () => decodeReply(hdr({ t: 'sums', sums: [], kc: [2] }, new Uint8Array(32))),
      BadMessageError,
    )
    assert.throws(() => decodeReply(hdr({ t: 'sums', sums: [], kc: [-1] })), BadMessageError)
    assert.throws(
      () => decodeReply(hdr({ t: 'sums', sums: [{ c: 1, x: new Uint8Array(3) }], kc: [] })),
      BadMessageError,
    )
  })
  it('never throws anything but BadMessageError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeRequest(b)
        } catch (err) {
          assert.ok(err instanceof BadMessageError, String(err))
        }
        try {
          decodeReply(b)
        } catch (err) {
          assert.ok(err instanceof BadMessageError, String(err))
        }
      }),
      { numRuns: 2000 },
    )
  })
  it('bounds frames at one chunk plus header', () => {
    assert.ok(maxFrameBytes(1 << 20) < (1 << 20) + 128 * 1024)
  })
  it('protocol ids carry swarm and major', () => {
    assert.equal(protocolId('lab', 'kad'), '/swarmstore/lab/kad/1')
    assert.throws(() => protocolId('Bad Name', 'kad'))
    assert.equal(sessionProtocolId(protocolId('lab', 'chunk')), '/swarmstore/lab/chunk-session/1')
  })
})
