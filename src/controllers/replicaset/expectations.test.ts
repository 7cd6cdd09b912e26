import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../client/clock.ts';
import { Expectations, EXPECTATIONS_TTL_MS } from './expectations.ts';

test('a controller with no record may sync', () => {
  const e = new Expectations(new FakeClock());
  assert.equal(e.satisfied('ns/rs'), true);
});

test('expected creations hold the sync until each is observed', () => {
  const e = new Expectations(new FakeClock());
  e.expectCreations('ns/rs', 3);
  assert.equal(e.satisfied('ns/rs'), false);
  e.creationObserved('ns/rs');
  e.creationObserved('ns/rs');
  assert.equal(e.satisfied('ns/rs'), false);
  e.creationObserved('ns/rs');
  assert.equal(e.satisfied('ns/rs'), true);
});

test('a deletion observed twice counts once', () => {
  const e = new Expectations(new FakeClock());
  e.expectDeletions('ns/rs', ['ns/a', 'ns/b']);
  e.deletionObserved('ns/rs', 'ns/a');
  e.deletionObserved('ns/rs', 'ns/a');
  assert.equal(e.satisfied('ns/rs'), false);
  assert.deepEqual(e.pending('ns/rs'), { add: 0, del: 1 });
  e.deletionObserved('ns/rs', 'ns/b');
  assert.equal(e.satisfied('ns/rs'), true);
});

test('deletions of pods that were not expected do not count', () => {
  const e = new Expectations(new FakeClock());
  e.expectDeletions('ns/rs', ['ns/a']);
  e.deletionObserved('ns/rs', 'ns/other');
  assert.equal(e.satisfied('ns/rs'), false);
});

test('expectations that are never met expire after five minutes', () => {
  const clock = new FakeClock();
  const e = new Expectations(clock);
  e.expectCreations('ns/rs', 1);
  clock.step(EXPECTATIONS_TTL_MS);
  assert.equal(e.satisfied('ns/rs'), false);
  clock.step(1);
  assert.equal(e.satisfied('ns/rs'), true);
});

test('a deleted controller forgets its expectations', () => {
  const e = new Expectations(new FakeClock());
  e.expectCreations('ns/rs', 2);
  e.delete('ns/rs');
  assert.equal(e.satisfied('ns/rs'), true);
  assert.equal(e.pending('ns/rs'), undefined);
});
