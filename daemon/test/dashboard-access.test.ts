import assert from 'node:assert/strict'
import {
  CODE_TTL_MAX_MS,
  DashboardAccess,
  SESSION_TTL_MS,
  sessionCookie,
  sessionFromCookie,
} from '../src/dashboard/access.js'
import { EventMarks, TrafficHistory } from '../src/dashboard/traffic-history.js'

describe('dashboard access (codes and sessions, on a given clock)', () => {
  let now = 1_000_000
  const clock = () => now

  it('a code is redeemed once; the session lives SESSION_TTL_MS', () => {
    const a = new DashboardAccess({ now: clock })
    const { code, expiresAt } = a.mintCode()
    assert.equal(expiresAt, now + CODE_TTL_MAX_MS)
    const session = a.redeem(code)
    assert.ok(session !== undefined && session.length >= 22, '128-bit id, base64url')
    assert.equal(a.redeem(code), undefined, 'used twice')
    assert.equal(a.validSession(session), true)
    now += SESSION_TTL_MS + 1
    assert.equal(a.validSession(session), false, 'expired')
  })

  it('a code past its lifetime is refused, and spent', () => {
    const a = new DashboardAccess({ now: clock, codeTtlMs: 5_000 })
    const { code } = a.mintCode()
    now += 5_001
    assert.equal(a.redeem(code), undefined)
    now -= 5_001
    assert.equal(a.redeem(code), undefined, 'not redeemable even if the clock went back')
  })

  it('a lifetime above 60 s is capped; unknown codes and forged sessions are refused', () => {
    const a = new DashboardAccess({ now: clock, codeTtlMs: 10 * 60_000 })
    assert.equal(a.mintCode().expiresAt, now + CODE_TTL_MAX_MS)
    assert.equal(a.redeem(''), undefined)
    assert.equal(a.redeem('AAAAAAAAAAAAAAAAAAAAAA'), undefined)
    assert.equal(a.validSession('AAAAAAAAAAAAAAAAAAAAAA'), false)
    assert.equal(a.validSession(undefined), false)
  })

  it('codes minted in a loop stay bounded in memory (the oldest go first)', () => {
    const a = new DashboardAccess({ now: clock })
    const first = a.mintCode().code
    for (let i = 0; i < 1000; i++) a.mintCode()
    assert.equal(a.redeem(first), undefined)
  })

  it('the cookie: HttpOnly, SameSite=Strict, Path=/, and read back from a Cookie header', () => {
    assert.match(
      sessionCookie('abc'),
      /^swarmstore_dashboard=abc; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    )
    assert.equal(sessionFromCookie('a=1; swarmstore_dashboard=xyz; b=2'), 'xyz')
    assert.equal(sessionFromCookie('a=1'), undefined)
    assert.equal(sessionFromCookie(undefined), undefined)
  })
})

describe('dashboard traffic history', () => {
  const totals = (putOut: number) => ({
    in: { put: 0, get: 0, repair: 0, handoff: 0 },
    out: { put: putOut, get: 0, repair: 0, handoff: 0 },
  })

  it('rates are the difference of totals over the time between samples; the ring keeps the last N', () => {
    const h = new TrafficHistory(3)
    assert.equal(h.add(0, totals(0), 0), undefined, 'the first call is the baseline')
    assert.equal(h.add(1000, totals(1000), 0)?.rates.putOut, 1000)
    assert.equal(h.add(3000, totals(5000), 2)?.rates.putOut, 2000)
    h.add(4000, totals(5000), 0)
    h.add(5000, totals(6000), 0)
    assert.deepEqual(
      h.samples().map((s) => s.t),
      [3000, 4000, 5000],
    )
  })

  it('membership marks are kept for their window and bounded in number', () => {
    const m = new EventMarks(10_000, 3)
    for (let i = 0; i < 5; i++) m.add({ t: i * 1000, type: 'suspect', peer: `p${i}` })
    assert.deepEqual(
      m.recent(5000).map((e) => e.peer),
      ['p2', 'p3', 'p4'],
    )
    assert.deepEqual(m.recent(13_500), [{ t: 4000, type: 'suspect', peer: 'p4' }])
  })
})
