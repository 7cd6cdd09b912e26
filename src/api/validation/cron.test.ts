import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cronScheduleError, parseCronSchedule } from './cron.ts';

test('schedules parse into the minutes, hours, days and months they name', () => {
  const s = parseCronSchedule('*/20 9-17/4 1,15 jan-mar mon-fri');
  assert.deepEqual([...s.minute], [0, 20, 40]);
  assert.deepEqual([...s.hour], [9, 13, 17]);
  assert.deepEqual([...s.dom], [1, 15]);
  assert.deepEqual([...s.month], [1, 2, 3]);
  assert.deepEqual([...s.dow], [1, 2, 3, 4, 5]);
  assert.deepEqual([s.domStar, s.dowStar], [false, false]);
  const daily = parseCronSchedule('@daily');
  assert.deepEqual([[...daily.minute], [...daily.hour], daily.domStar, daily.dowStar], [[0], [0], true, true]);
  assert.equal(parseCronSchedule('@every 1m30s').everyMs, 90_000);
  assert.equal(parseCronSchedule('CRON_TZ=Europe/Paris 0 6 * * *').timeZone, 'Europe/Paris');
});

test('schedule errors carry robfig/cron wording', () => {
  const cases: [string, string][] = [
    ['', 'empty spec string'],
    ['* * * * * *', 'expected exactly 5 fields, found 6: [* * * * * *]'],
    ['0 24 * * *', 'end of range (24) above maximum (23): 24'],
    ['0 0 0 * *', 'beginning of range (0) below minimum (1): 0'],
    ['0 0 * foo *', 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'],
    ['0 0 * * 1/2/3', 'too many slashes: 1/2/3'],
    ['@every soon', 'failed to parse duration @every soon: time: invalid duration "soon"'],
    ['TZ=Nowhere/City 0 * * * *', 'provided bad location Nowhere/City: unknown time zone Nowhere/City'],
  ];
  for (const [spec, msg] of cases) assert.equal(cronScheduleError(spec), msg, spec);
  assert.equal(cronScheduleError('0 0 * * sun'), undefined);
});
