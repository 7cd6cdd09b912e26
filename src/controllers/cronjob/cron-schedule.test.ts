import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCronSchedule } from '../../api/validation/cron.ts';
import { formatInZone, nextFire, wallToInstant } from './cron-schedule.ts';
import { jobFromTemplate, jobName, mostRecentScheduleTime, nextScheduleTimeDuration, parseSchedule, type CronJob } from './cronjob-utils.ts';

const at = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z'));
const next = (spec: string, after: string, zone = 'UTC') => iso(nextFire(parseCronSchedule(spec), at(after), zone));

test('next fire times in UTC: minutes, hours, steps, ranges, names, descriptors', () => {
  assert.equal(next('*/5 * * * *', '2025-01-01T00:00:00Z'), '2025-01-01T00:05:00Z', 'strictly after');
  assert.equal(next('*/5 * * * *', '2025-01-01T00:03:59Z'), '2025-01-01T00:05:00Z');
  assert.equal(next('0 9 * * mon-fri', '2025-01-03T10:00:00Z'), '2025-01-06T09:00:00Z', 'Friday after nine: Monday');
  assert.equal(next('30 2 1 * *', '2025-01-15T00:00:00Z'), '2025-02-01T02:30:00Z');
  assert.equal(next('0 0 29 2 *', '2025-03-01T00:00:00Z'), '2028-02-29T00:00:00Z', 'next leap day');
  assert.equal(next('@hourly', '2025-01-01T10:59:59Z'), '2025-01-01T11:00:00Z');
  assert.equal(next('@every 90s', '2025-01-01T00:00:00.400Z'), '2025-01-01T00:01:30Z');
  assert.equal(next('0 0 30 2 *', '2025-01-01T00:00:00Z'), undefined, 'never');
});

test('day of month and day of week: either matches when both are restricted, both must when one is *', () => {
  // the 13th, or any Friday
  assert.equal(next('0 0 13 * 5', '2025-06-01T00:00:00Z'), '2025-06-06T00:00:00Z', 'Friday 6 June comes before the 13th');
  assert.equal(next('0 0 13 * *', '2025-06-01T00:00:00Z'), '2025-06-13T00:00:00Z');
  assert.equal(next('0 0 * * 5', '2025-06-07T00:00:00Z'), '2025-06-13T00:00:00Z');
});

test('time zones: the schedule is read on the zone\'s wall clock, across daylight saving time', () => {
  assert.equal(next('0 9 * * *', '2025-01-10T00:00:00Z', 'America/New_York'), '2025-01-10T14:00:00Z', 'EST is UTC-5');
  assert.equal(next('0 9 * * *', '2025-07-10T00:00:00Z', 'America/New_York'), '2025-07-10T13:00:00Z', 'EDT is UTC-4');
  assert.equal(next('TZ=Asia/Tokyo 0 9 * * *', '2025-01-10T00:00:00Z', 'America/New_York'), '2025-01-11T00:00:00Z', 'a TZ= prefix wins');
  // Berlin springs forward at 02:00 on 30 March 2025: 02:30 does not exist that day
  assert.equal(next('30 2 * * *', '2025-03-29T12:00:00Z', 'Europe/Berlin'), '2025-03-31T00:30:00Z');
  assert.equal(next('30 3 * * *', '2025-03-29T12:00:00Z', 'Europe/Berlin'), '2025-03-30T01:30:00Z', '03:30 CEST');
  assert.equal(next('0 * * * *', '2025-01-01T00:10:00Z', 'Asia/Kathmandu'), '2025-01-01T00:15:00Z', 'UTC+5:45: the hour starts at :15 UTC');
  assert.equal(wallToInstant(2025, 1, 1, 0, 0, 'Asia/Tokyo'), at('2024-12-31T15:00:00Z'));
  assert.equal(formatInZone(at('2025-01-01T00:00:00Z'), 'Asia/Tokyo'), '2025-01-01T09:00:00+09:00');
  assert.equal(formatInZone(at('2025-01-01T00:00:00Z'), 'UTC'), '2025-01-01T00:00:00Z');
  assert.equal(formatInZone(at('2025-01-01T00:00:00Z'), 'America/St_Johns'), '2024-12-31T20:30:00-03:30');
});

const cj = (o: { schedule?: string; created?: string; last?: string; deadline?: number; timeZone?: string } = {}): CronJob => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: 'hello', namespace: 'ns', uid: 'cj-uid', creationTimestamp: o.created ?? '2025-01-01T00:00:30Z' },
  spec: { schedule: o.schedule ?? '* * * * *', ...(o.deadline !== undefined ? { startingDeadlineSeconds: o.deadline } : {}), ...(o.timeZone ? { timeZone: o.timeZone } : {}), jobTemplate: { metadata: { labels: { a: 'b' } }, spec: { template: { spec: { containers: [] } } } } },
  status: o.last ? { lastScheduleTime: o.last } : {},
});

test('the most recent unmet slot since the last schedule, with missed counts and the starting deadline', () => {
  const c = cj();
  const s = parseSchedule(c, undefined, 'UTC');
  assert.deepEqual(mostRecentScheduleTime(c, at('2025-01-01T00:00:59Z'), s, true), { earliest: at('2025-01-01T00:00:30Z'), missed: 'none' });
  assert.equal(iso(mostRecentScheduleTime(c, at('2025-01-01T00:01:10Z'), s, true).mostRecent), '2025-01-01T00:01:00Z');
  const late = mostRecentScheduleTime(c, at('2025-01-01T00:05:10Z'), s, true);
  assert.equal(iso(late.mostRecent), '2025-01-01T00:05:00Z');
  assert.equal(late.missed, 'few');
  assert.equal(mostRecentScheduleTime(c, at('2025-01-01T03:00:10Z'), s, true).missed, 'many');
  const done = cj({ last: '2025-01-01T00:05:00Z' });
  assert.equal(mostRecentScheduleTime(done, at('2025-01-01T00:05:30Z'), s, true).mostRecent, undefined);
  // a 30 s deadline: a slot missed by more than that is skipped
  const strict = cj({ deadline: 30, schedule: '0 * * * *' });
  assert.equal(mostRecentScheduleTime(strict, at('2025-01-01T01:00:45Z'), parseSchedule(strict, undefined, 'UTC'), true).mostRecent, undefined);
  assert.equal(iso(mostRecentScheduleTime(strict, at('2025-01-01T01:00:20Z'), parseSchedule(strict, undefined, 'UTC'), true).mostRecent), '2025-01-01T01:00:00Z');
  assert.equal(nextScheduleTimeDuration(c, at('2025-01-01T00:00:40Z'), s), 20_100, 'wake 100 ms after the next slot');
});

test('a slot\'s Job is named by its minute, carries the template and the scheduled-time annotation in the CronJob\'s zone', () => {
  const slot = at('2025-01-01T00:05:00Z');
  assert.equal(jobName(cj(), slot), `hello-${slot / 60_000}`);
  const j = jobFromTemplate(cj({ timeZone: 'Asia/Tokyo' }), slot) as any;
  assert.equal(j.metadata.name, 'hello-28928165');
  assert.deepEqual(j.metadata.labels, { a: 'b' });
  assert.equal(j.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2025-01-01T09:05:00+09:00');
  assert.deepEqual(j.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'cj-uid', controller: true, blockOwnerDeletion: true }]);
  assert.equal((jobFromTemplate(cj(), slot) as any).metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2025-01-01T00:05:00Z');
  let warned = '';
  parseSchedule(cj({ schedule: 'TZ=UTC * * * * *', timeZone: 'Asia/Tokyo' }), (m) => (warned = m), 'UTC');
  assert.match(warned, /^CRON_TZ or TZ used in schedule "TZ=UTC \* \* \* \* \*" is not officially supported/);
});
