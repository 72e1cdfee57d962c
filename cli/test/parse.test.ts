import assert from 'node:assert/strict'
import { apiBaseUrl, parseHostPort } from '../src/address.js'
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../src/duration.js'
import { formatSize, parseSize } from '../src/size.js'

describe('parseDuration', () => {
  it('reads ms, s, m, h and plain milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('30s'), 30_000)
    assert.equal(parseDuration('2m'), 120_000)
    assert.equal(parseDuration('1h'), 3_600_000)
    assert.equal(parseDuration('250'), 250)
    assert.equal(parseDuration('1.5s'), 1500)
    assert.equal(parseDuration(' 10S '), 10_000)
  })

  it('refuses what is not a positive duration', () => {
    for (const bad of ['', 's', '5x', '-1s', '1d', '1m30s', 'abc', '0', '0s', '0.1ms']) {
      assert.throws(() => parseDuration(bad), /duration/, bad)
    }
  })

  it('refuses durations setTimeout would turn into 1ms', () => {
    assert.equal(parseDuration(String(MAX_DURATION_MS)), MAX_DURATION_MS)
    assert.throws(() => parseDuration('1000h'), /longer than the maximum/)
  })

  it('formats back to the shortest unit that is exact', () => {
    assert.equal(formatDuration(60_000), '1m')
    assert.equal(formatDuration(1500), '1.5s')
    assert.equal(formatDuration(250), '250ms')
    assert.equal(formatDuration(7_200_000), '2h')
  })
})

describe('parseSize', () => {
  it('reads bytes and binary multiples, with or without B / iB', () => {
    assert.equal(parseSize('0'), 0)
    assert.equal(parseSize('4096'), 4096)
    assert.equal(parseSize('512K'), 512 * 1024)
    assert.equal(parseSize('500M'), 500 * 2 ** 20)
    assert.equal(parseSize('10G'), 10 * 2 ** 30)
    assert.equal(parseSize('10GB'), 10 * 2 ** 30)
    assert.equal(parseSize('10GiB'), 10 * 2 ** 30)
    assert.equal(parseSize('1t'), 2 ** 40)
    assert.equal(parseSize('100b'), 100)
    assert.equal(parseSize('1.5K'), 1536)
  })

  it('refuses what is not a size', () => {
    for (const bad of ['', 'G', '-1', '10X', '1e3', '10 GG', 'ten']) {
      assert.throws(() => parseSize(bad), /not a size/, bad)
    }
    assert.throws(() => parseSize('99999999P'), /too large/)
  })

  it('formats sizes for people', () => {
    assert.equal(formatSize(0), '0 B')
    assert.equal(formatSize(1023), '1023 B')
    assert.equal(formatSize(1536), '1.50 KiB')
    assert.equal(formatSize(50 * 2 ** 20), '50.0 MiB')
  })
})

describe('parseHostPort / apiBaseUrl', () => {
  it('reads HOST:PORT, bracketed IPv6 and full URLs', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:5890'), { host: '127.0.0.1', port: 5890 })
    assert.deepEqual(parseHostPort('[::1]:5890'), { host: '[::1]', port: 5890 })
    assert.equal(apiBaseUrl('localhost:7000'), 'http://localhost:7000')
    assert.equal(apiBaseUrl('http://127.0.0.1:5890/'), 'http://127.0.0.1:5890')
  })

  it('allows port 0 only when asked (the daemon may pick a free port; a client cannot dial it)', () => {
    assert.throws(() => parseHostPort('127.0.0.1:0'), /HOST:PORT/)
    assert.deepEqual(parseHostPort('127.0.0.1:0', { allowPortZero: true }), { host: '127.0.0.1', port: 0 })
  })

  it('refuses what is not HOST:PORT', () => {
    for (const bad of ['5890', '127.0.0.1', '127.0.0.1:', ':5890', '127.0.0.1:70000', '::1:5890', 'a b:1']) {
      assert.throws(() => parseHostPort(bad), /HOST:PORT/, bad)
    }
  })
})
