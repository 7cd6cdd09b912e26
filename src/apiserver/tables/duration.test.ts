import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanDuration, parseTimestamp, since } from './duration.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

test('ages read like upstream HumanDuration at every precision step', () => {
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-1500, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [999, '0s'],
    [59 * S, '59s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [2 * M + 1 * S, '2m1s'],
    [9 * M + 4 * S, '9m4s'],
    [9 * M + 59 * S + 999, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M + 59 * S, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M + 30 * S, '3h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H + 59 * M, '47h'],
    [48 * H, '2d'],
    [2 * D + 3 * H, '2d3h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [731 * D, '2y1d'],
    [8 * 365 * D - D, '7y364d'],
    [8 * 365 * D, '8y'],
    [20 * 365 * D + 100 * D, '20y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test('timestamps parse with sub-millisecond fractions and zone offsets', () => {
  assert.equal(parseTimestamp('2024-05-01T12:00:00Z'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseTimestamp('2024-05-01T12:00:00.250000Z'), Date.UTC(2024, 4, 1, 12) + 250);
  assert.equal(parseTimestamp('2024-05-01T14:30:00+02:30'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseTimestamp('2024-05-01T09:00:00-03:00'), Date.UTC(2024, 4, 1, 12));
  assert.equal(parseTimestamp(null), undefined);
  assert.equal(parseTimestamp(undefined), undefined);
  assert.equal(parseTimestamp('yesterday'), undefined);
});

test('an absent time prints as <unknown>, a present one as its age', () => {
  const now = new Date('2024-05-01T12:00:00Z');
  assert.equal(since(undefined, now), '<unknown>');
  assert.equal(since(null, now), '<unknown>');
  assert.equal(since('2024-05-01T11:50:56Z', now), '9m4s');
  assert.equal(since('2024-05-01T12:00:05Z', now), '<invalid>');
});
