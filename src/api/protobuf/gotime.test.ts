import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, formatMicroTime, formatTime, parseDuration, parseTime } from './gotime.ts';

describe('Go duration strings', () => {
  // expected strings are Go's time.Duration.String() output
  const cases: [bigint, string][] = [
    [0n, '0s'],
    [1n, '1ns'],
    [1100n, '1.1µs'],
    [2_200_000n, '2.2ms'],
    [300_000_000n, '300ms'],
    [1_500_000_000n, '1.5s'],
    [90_000_000_000n, '1m30s'],
    [3_600_000_000_000n, '1h0m0s'],
    [3_723_500_000_000n, '1h2m3.5s'],
    [-1_500_000_000n, '-1.5s'],
    [(1n << 63n) - 1n, '2562047h47m16.854775807s'],
  ];
  for (const [ns, s] of cases) {
    it(`${ns}ns formats as ${s} and parses back`, () => {
      assert.equal(formatDuration(ns), s);
      assert.equal(parseDuration(s), ns);
    });
  }

  it('parses the other unit spellings Go accepts', () => {
    assert.equal(parseDuration('1us'), 1000n);
    assert.equal(parseDuration('1μs'), 1000n);
    assert.equal(parseDuration('+2h45m'), 9_900_000_000_000n);
    assert.equal(parseDuration('.5s'), 500_000_000n);
    assert.equal(parseDuration('0'), 0n);
  });

  it('rejects what Go rejects', () => {
    for (const bad of ['', '1', '1x', '.s', '-', 's', '9223372036854775808ns']) {
      assert.throws(() => parseDuration(bad), RangeError, bad);
    }
  });
});

describe('Kubernetes time strings', () => {
  it('Time is RFC 3339 in UTC with whole seconds', () => {
    assert.equal(formatTime(0), '1970-01-01T00:00:00Z');
    assert.equal(formatTime(-1), '1969-12-31T23:59:59Z');
    assert.equal(formatTime(-62135596800 + 1), '0001-01-01T00:00:01Z');
  });

  it('MicroTime has six fractional digits, truncating nanoseconds', () => {
    assert.equal(formatMicroTime(1735787045, 123456789), '2025-01-02T03:04:05.123456Z');
    assert.equal(formatMicroTime(1735787045, 0), '2025-01-02T03:04:05.000000Z');
  });

  it('parsing honours offsets and fractions and refuses impossible dates', () => {
    assert.deepEqual(parseTime('2025-01-02T05:04:05+02:00'), { seconds: 1735787045, nanos: 0 });
    assert.deepEqual(parseTime('2025-01-02T03:04:05.5Z'), { seconds: 1735787045, nanos: 500000000 });
    assert.deepEqual(parseTime('0099-01-01T00:00:00Z').seconds, -59042995200);
    for (const bad of ['2025-02-30T00:00:00Z', '2025-01-02 03:04:05Z', '2025-01-02T03:04:05', '2025-13-01T00:00:00Z']) {
      assert.throws(() => parseTime(bad), RangeError, bad);
    }
  });
});
