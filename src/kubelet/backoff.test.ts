import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, goDuration } from './backoff.ts';

describe('Backoff (container restarts)', () => {
  const make = () => {
    let now = 0;
    const b = new Backoff({ initialMs: 10_000, maxMs: 300_000, now: () => now });
    return { b, set: (t: number) => (now = t) };
  };

  it('doubles from 10 s to at most 5 min', () => {
    const { b, set } = make();
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      set(i * 1000);
      b.next('k', i * 1000);
      seen.push(goDuration(b.get('k')));
    }
    assert.deepEqual(seen, ['10s', '20s', '40s', '1m20s', '2m40s', '5m0s', '5m0s', '5m0s']);
  });

  it('holds a restart within the delay after the exit, and lets it go after', () => {
    const { b, set } = make();
    set(0);
    assert.equal(b.isInBackOffSince('k', 0), false, 'no back-off before the first failure');
    b.next('k', 0);
    set(5_000);
    assert.equal(b.isInBackOffSince('k', 1_000), true, '4 s after an exit, within 10 s');
    set(11_001);
    assert.equal(b.isInBackOffSince('k', 1_000), false, '10 s after the exit');
  });

  it('starts over when the container ran longer than twice the maximum (10 minutes)', () => {
    const { b, set } = make();
    set(0);
    b.next('k', 0);
    set(1000);
    b.next('k', 1000);
    assert.equal(b.get('k'), 20_000);
    // the container then ran for 11 minutes before failing
    const exit = 1000 + 11 * 60_000;
    set(exit);
    b.next('k', exit);
    assert.equal(b.get('k'), 10_000);
  });

  it('image pulls back off from the time of the last failure', () => {
    const { b, set } = make();
    set(100);
    b.next('img', 100);
    set(5_000);
    assert.equal(b.isInBackOffSinceUpdate('img'), true);
    assert.equal(b.updateEndsAt('img'), 10_100);
    set(10_200);
    assert.equal(b.isInBackOffSinceUpdate('img'), false);
  });

  it('formats durations as Go does', () => {
    assert.equal(goDuration(1234), '1.234s');
    assert.equal(goDuration(345), '345ms');
    assert.equal(goDuration(62_500), '1m2.5s');
    assert.equal(goDuration(3_600_000), '1h0m0s');
  });
});
