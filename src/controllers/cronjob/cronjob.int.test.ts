// The CronJob controller (with the Job controller) against an in-process API server on a
// FakeClock: schedules fire when fake time reaches them, in seconds of real time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import { FakeClock } from '../../client/clock.ts';
import { startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { jobController } from '../job/job-controller.ts';
import { createNamespace, eventsFor, finishPod, pumpUntil, waitFor } from '../workload/test-helpers.ts';
import { cronJobController } from './cronjob-controller.ts';
import { wallTime } from './cron-schedule.ts';

type Json = any;

function cronJob(name: string, schedule: string, spec: Json = {}): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule,
      jobTemplate: { metadata: { labels: { cron: name } }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'hello', image: 'busybox' }] } } } },
      ...spec,
    },
  };
}

describe('CronJob controller on a fake clock', () => {
  let env: ControllerTestEnv;
  let clock: FakeClock;
  let ns = 0;
  const cjs = (n: string) => env.client.resource('batch', 'cronjobs').namespace(n);
  const jobs = async (n: string) => ((await env.client.resource('batch', 'jobs').namespace(n).list()).items as Json[]).filter((j) => !j.metadata.deletionTimestamp).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const newNs = async () => {
    const name = `cj-${++ns}`;
    await createNamespace(env.client, name);
    return name;
  };
  /** Finishes the pods of a Job as Succeeded and waits until the Job is Complete. */
  const complete = async (n: string, jobName: string) => {
    const pod = await pumpUntil(clock, `pod of ${jobName}`, async () => ((await env.client.resource('', 'pods').namespace(n).list({ labelSelector: `batch.kubernetes.io/job-name=${jobName}` })).items as Json[])[0]);
    await finishPod(env.client, n, pod.metadata.name, 'Succeeded', { at: clock.now() });
    await pumpUntil(clock, `${jobName} Complete`, async () => {
      const j = (await env.client.resource('batch', 'jobs').namespace(n).get(jobName)) as Json;
      return j.status?.conditions?.some((c: Json) => c.type === 'Complete' && c.status === 'True');
    });
  };

  before(async () => {
    clock = new FakeClock(Date.now());
    env = await startControllerTest([cronJobController({ defaultTimeZone: 'UTC' }), jobController()], { clock, log: process.env.CONTROLLER_LOG ? (m) => console.error(m) : undefined });
  });
  after(async () => {
    await env.stop();
  });

  test('an every-minute CronJob creates <name>-<minute> at each minute, records it, and keeps successfulJobsHistoryLimit finished Jobs', async () => {
    const n = await newNs();
    await cjs(n).create(cronJob('tick', '* * * * *', { successfulJobsHistoryLimit: 1 }));
    const first = await pumpUntil(clock, 'first Job', async () => (await jobs(n))[0], { stepMs: 5000 });
    const slot = Number(first.metadata.name.slice('tick-'.length)) * 60_000;
    assert.ok(slot <= clock.now() && clock.now() - slot < 10_000, 'created at its minute');
    assert.equal(slot % 60_000, 0);
    assert.equal(first.metadata.labels.cron, 'tick');
    assert.equal(first.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(slot).toISOString().replace('.000Z', 'Z'));
    assert.deepEqual(first.metadata.ownerReferences.map((r: Json) => [r.kind, r.name, r.controller]), [['CronJob', 'tick', true]]);
    const s1 = await pumpUntil(clock, 'status active', async () => {
      const cj = (await cjs(n).get('tick')) as Json;
      return cj.status?.active?.length === 1 ? cj.status : undefined;
    });
    assert.deepEqual(s1.active[0], { kind: 'Job', namespace: n, name: first.metadata.name, uid: first.metadata.uid, apiVersion: 'batch/v1', resourceVersion: s1.active[0].resourceVersion });
    assert.equal(s1.lastScheduleTime, new Date(slot).toISOString().replace('.000Z', 'Z'));

    await complete(n, first.metadata.name);
    const s2 = await pumpUntil(clock, 'lastSuccessfulTime', async () => {
      const cj = (await cjs(n).get('tick')) as Json;
      return cj.status?.lastSuccessfulTime && !cj.status.active ? cj.status : undefined;
    });
    assert.ok(s2.lastSuccessfulTime);
    const second = await pumpUntil(clock, 'second Job', async () => (await jobs(n)).find((j) => j.metadata.name !== first.metadata.name), { stepMs: 5000 });
    assert.equal(Number(second.metadata.name.slice('tick-'.length)), slot / 60_000 + 1, 'the next minute');
    await complete(n, second.metadata.name);
    await pumpUntil(clock, 'first Job removed by the history limit', async () => (await jobs(n)).every((j) => j.metadata.name !== first.metadata.name));
    const events = await waitFor('events', async () => {
      const ev = await eventsFor(env.client, n, 'CronJob', 'tick');
      return ev.some((e) => e.reason === 'SuccessfulDelete') && ev.filter((e) => e.reason === 'SawCompletedJob').length >= 2 ? ev : undefined;
    });
    const msgs = events.map((e) => `${e.reason}: ${e.message}`);
    assert.ok(msgs.includes(`SuccessfulCreate: Created job ${first.metadata.name}`), msgs.join('\n'));
    assert.ok(msgs.includes(`SawCompletedJob: Saw completed job: ${first.metadata.name}, status: Complete`), msgs.join('\n'));
    assert.ok(msgs.includes(`SuccessfulDelete: Deleted job ${first.metadata.name}`), msgs.join('\n'));
    assert.ok(events.every((e) => e.source?.component === 'cronjob-controller'));
  });

  test('concurrencyPolicy Forbid skips a slot while the previous Job runs; Replace deletes it and starts the new one', async () => {
    const n = await newNs();
    await cjs(n).create(cronJob('forbid', '* * * * *', { concurrencyPolicy: 'Forbid' }));
    const first = await pumpUntil(clock, 'first Job', async () => (await jobs(n))[0], { stepMs: 5000 });
    const t0 = clock.now();
    await pumpUntil(clock, 'two slots later', () => clock.now() - t0 > 130_000, { stepMs: 10_000 });
    assert.deepEqual((await jobs(n)).map((j) => j.metadata.name), [first.metadata.name], 'no second Job while the first runs');
    await waitFor('JobAlreadyActive', async () => (await eventsFor(env.client, n, 'CronJob', 'forbid')).find((e) => e.reason === 'JobAlreadyActive' && e.message === 'Not starting job because prior execution is running and concurrency policy is Forbid'));

    const m = await newNs();
    await env.client.resource('batch', 'cronjobs').namespace(m).create(cronJob('replace', '* * * * *', { concurrencyPolicy: 'Replace' }));
    const r1 = await pumpUntil(clock, 'first Job', async () => (await jobs(m))[0], { stepMs: 5000 });
    const r2 = await pumpUntil(clock, 'replacement', async () => (await jobs(m)).find((j) => j.metadata.name !== r1.metadata.name), { stepMs: 5000 });
    assert.deepEqual((await jobs(m)).map((j) => j.metadata.name), [r2.metadata.name], 'the running Job was deleted');
    const st = (await env.client.resource('batch', 'cronjobs').namespace(m).get('replace')) as Json;
    assert.deepEqual(st.status.active.map((a: Json) => a.name), [r2.metadata.name]);
    await waitFor('SuccessfulDelete', async () => (await eventsFor(env.client, m, 'CronJob', 'replace')).find((e) => e.reason === 'SuccessfulDelete' && e.message === `Deleted job ${r1.metadata.name}`));
  });

  test('a suspended CronJob creates nothing; a timeZone schedule fires at that zone\'s wall-clock time', async () => {
    const n = await newNs();
    await cjs(n).create(cronJob('off', '* * * * *', { suspend: true }));
    const t0 = clock.now();
    await pumpUntil(clock, 'two minutes', () => clock.now() - t0 > 125_000, { stepMs: 10_000 });
    assert.equal((await jobs(n)).length, 0);

    // a daily schedule three minutes from now on Tokyo's clock
    const target = Math.floor(clock.now() / 60_000) * 60_000 + 3 * 60_000;
    const w = wallTime(target, 'Asia/Tokyo');
    await cjs(n).create(cronJob('tokyo', `${w.minute} ${w.hour} * * *`, { timeZone: 'Asia/Tokyo' }));
    const job = await pumpUntil(clock, 'Tokyo Job', async () => (await jobs(n)).find((j) => j.metadata.name.startsWith('tokyo-')), { stepMs: 10_000 });
    assert.equal(job.metadata.name, `tokyo-${target / 60_000}`);
    assert.ok(clock.now() >= target);
    assert.match(job.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], /\+09:00$/);
  });

  test('startingDeadlineSeconds: a slot missed by more than the deadline is skipped, the next one runs', async () => {
    const n = await newNs();
    // Start at half past an hour: created within a minute after :00, the CronJob would owe that :00
    // slot already (its creationTimestamp is the API server's, which can be earlier than the fake
    // clock the earlier tests moved on), and the controller would rightly run it.
    const hour = 3_600_000;
    const halfPast = Math.floor(clock.now() / hour) * hour + hour / 2;
    clock.set(halfPast >= clock.now() ? halfPast : halfPast + hour);
    // hourly at :00, deadline 60 s; time jumps (no timer fires on the way, as if the
    // controller-manager were down) to 5 minutes past the next hour
    await cjs(n).create(cronJob('late', '0 * * * *', { startingDeadlineSeconds: 60 }));
    await waitFor('cronjob cached', async () => (await cjs(n).get('late')).metadata.uid);
    const nextHour = Math.floor(clock.now() / 3_600_000) * 3_600_000 + 3_600_000;
    clock.set(nextHour + 5 * 60_000);
    await pumpUntil(clock, 'a few more seconds', () => clock.now() > nextHour + 5 * 60_000 + 20_000, { stepMs: 5000 });
    assert.equal((await jobs(n)).length, 0, 'missed the :00 slot by more than 60 s');
    await pumpUntil(clock, 'the following hour', async () => (await jobs(n)).length === 1, { stepMs: 60_000, timeoutMs: 20_000 });
    assert.equal((await jobs(n))[0].metadata.name, `late-${(nextHour + 3_600_000) / 60_000}`);
  });
});
