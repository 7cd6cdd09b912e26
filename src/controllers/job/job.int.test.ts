// The Job and TTL-after-finished controllers against an in-process API server. The test plays
// the kubelet: it marks pods Succeeded or Failed through the status subresource. Time-driven
// behaviour (failure back-off, activeDeadlineSeconds, TTL) runs on a FakeClock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KObject } from '../../api/meta.ts';
import type { Client } from '../../client/client.ts';
import { FakeClock } from '../../client/clock.ts';
import { setPodReady, startControllerTest, type ControllerTestEnv } from '../testing.ts';
import { createNamespace, eventsFor, finishPod, pumpUntil, waitFor } from '../workload/test-helpers.ts';
import { jobController } from './job-controller.ts';
import { ttlAfterFinishedController } from './ttl-after-finished-controller.ts';

type Json = any;

function job(name: string, spec: Json = {}): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } }, ...spec },
  };
}

const log = process.env.CONTROLLER_LOG ? (m: string) => console.error(m) : undefined;

function helpers(getClient: () => Client) {
  let ns = 0;
  const c = () => getClient();
  const jobs = (n: string) => c().resource('batch', 'jobs').namespace(n);
  const pods = (n: string) => c().resource('', 'pods').namespace(n);
  return {
    jobs,
    pods,
    newNs: async (prefix: string) => {
      const name = `${prefix}-${++ns}`;
      await createNamespace(c(), name);
      return name;
    },
    active: async (n: string) => ((await pods(n).list()).items as Json[]).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed'),
    status: async (n: string, name: string) => ((await jobs(n).get(name)) as Json).status ?? {},
    condition: (s: Json, type: string) => (s.conditions ?? []).find((x: Json) => x.type === type),
  };
}

describe('Job controller', () => {
  let env: ControllerTestEnv;
  const h = helpers(() => env.client);

  before(async () => {
    env = await startControllerTest([jobController()], { log });
  });
  after(async () => {
    await env.stop();
  });

  test('completions 5 with parallelism 2 runs two pods at a time until five succeed, then SuccessCriteriaMet and Complete', async () => {
    const n = await h.newNs('job');
    const created = await h.jobs(n).create(job('pi', { completions: 5, parallelism: 2 }));
    const first = await waitFor('two pods', async () => {
      const a = await h.active(n);
      return a.length === 2 ? a : undefined;
    });
    const p = first[0];
    assert.match(p.metadata.name, /^pi-[a-z0-9]{5}$/);
    assert.deepEqual(p.metadata.finalizers, ['batch.kubernetes.io/job-tracking']);
    assert.equal(p.metadata.labels['batch.kubernetes.io/job-name'], 'pi');
    assert.equal(p.metadata.labels['batch.kubernetes.io/controller-uid'], created.metadata.uid);
    assert.deepEqual(p.metadata.ownerReferences.map((r: Json) => [r.kind, r.name, r.controller, r.blockOwnerDeletion]), [['Job', 'pi', true, true]]);
    await setPodReady(env.client, n, p.metadata.name);
    const s1 = await waitFor('active 2, ready 1', async () => {
      const s = await h.status(n, 'pi');
      return s.active === 2 && s.ready === 1 ? s : undefined;
    });
    assert.ok(s1.startTime);
    assert.deepEqual(s1.uncountedTerminatedPods, {});

    let succeeded = 0;
    let maxActive = 0;
    while (succeeded < 5) {
      const running = await waitFor('running pods', async () => {
        const a = await h.active(n);
        maxActive = Math.max(maxActive, a.length);
        return a.length === Math.min(2, 5 - succeeded) ? a : undefined;
      });
      for (const pod of running) {
        await finishPod(env.client, n, pod.metadata.name, 'Succeeded');
        succeeded++;
      }
      await waitFor(`succeeded ${succeeded}`, async () => (await h.status(n, 'pi')).succeeded === succeeded);
    }
    assert.equal(maxActive, 2, 'never more than parallelism');
    const done = await waitFor('Complete', async () => {
      const s = await h.status(n, 'pi');
      return h.condition(s, 'Complete') ? s : undefined;
    });
    const met = h.condition(done, 'SuccessCriteriaMet');
    const complete = h.condition(done, 'Complete');
    assert.deepEqual([met.status, met.reason, met.message], ['True', 'CompletionsReached', 'Reached expected number of succeeded pods']);
    assert.deepEqual([complete.status, complete.reason, complete.message], ['True', 'CompletionsReached', 'Reached expected number of succeeded pods']);
    assert.equal(done.conditions.indexOf(met) < done.conditions.indexOf(complete), true, 'SuccessCriteriaMet comes first');
    assert.equal(done.completionTime, complete.lastTransitionTime);
    assert.equal(done.succeeded, 5);
    assert.equal(done.active, undefined);
    assert.equal(done.failed, undefined);
    assert.equal(done.ready, 0);
    assert.equal(done.terminating, 0);
    const left = (await h.pods(n).list()).items as Json[];
    assert.equal(left.length, 5);
    assert.ok(left.every((x) => !(x.metadata.finalizers ?? []).includes('batch.kubernetes.io/job-tracking')), 'finalizers removed once counted');
    const events = await waitFor('events', async () => {
      const ev = await eventsFor(env.client, n, 'Job', 'pi');
      return ev.some((e) => e.reason === 'Completed') ? ev : undefined;
    });
    assert.equal(events.filter((e) => e.reason === 'SuccessfulCreate').length, 5);
    assert.ok(events.filter((e) => e.reason === 'SuccessfulCreate').every((e) => /^Created pod: pi-[a-z0-9]{5}$/.test(e.message)));
    assert.equal(events.find((e) => e.reason === 'Completed')?.message, 'Job completed');
    assert.ok(events.every((e) => e.source?.component === 'job-controller'));
  });

  test('Indexed: each index gets its pod with the index annotation, label, hostname and env; completedIndexes tracks them', async () => {
    const n = await h.newNs('idx');
    await h.jobs(n).create(job('ix', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    const pods = await waitFor('three pods', async () => {
      const a = await h.active(n);
      return a.length === 3 ? a : undefined;
    });
    const byIndex = new Map(pods.map((p: Json) => [p.metadata.annotations['batch.kubernetes.io/job-completion-index'], p]));
    assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2']);
    for (const [ix, p] of byIndex) {
      assert.equal(p.metadata.labels['batch.kubernetes.io/job-completion-index'], ix);
      assert.equal(p.spec.hostname, `ix-${ix}`);
      assert.ok(p.metadata.name.startsWith(`ix-${ix}-`), p.metadata.name);
      assert.deepEqual(p.spec.containers[0].env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } } }]);
    }
    await finishPod(env.client, n, byIndex.get('1').metadata.name, 'Succeeded');
    await waitFor('completedIndexes 1', async () => (await h.status(n, 'ix')).completedIndexes === '1');
    await finishPod(env.client, n, byIndex.get('0').metadata.name, 'Succeeded');
    await finishPod(env.client, n, byIndex.get('2').metadata.name, 'Succeeded');
    const s = await waitFor('Complete', async () => {
      const st = await h.status(n, 'ix');
      return h.condition(st, 'Complete') ? st : undefined;
    });
    assert.equal(s.completedIndexes, '0-2');
    assert.equal(s.succeeded, 3);
  });

  test('a suspended Job creates no pods; resuming starts them and resets startTime; suspending again removes them', async () => {
    const n = await h.newNs('susp');
    await h.jobs(n).create(job('s', { suspend: true, parallelism: 2, completions: 2 }));
    const s1 = await waitFor('Suspended condition', async () => {
      const st = await h.status(n, 's');
      return h.condition(st, 'Suspended') ? st : undefined;
    });
    assert.deepEqual([h.condition(s1, 'Suspended').status, h.condition(s1, 'Suspended').reason, h.condition(s1, 'Suspended').message], ['True', 'JobSuspended', 'Job suspended']);
    assert.equal(s1.startTime, undefined);
    assert.equal((await h.pods(n).list()).items.length, 0);
    await h.jobs(n).patch('s', 'merge', { spec: { suspend: false } });
    await waitFor('pods after resume', async () => (await h.active(n)).length === 2);
    const s2 = await waitFor('resumed', async () => {
      const st = await h.status(n, 's');
      return h.condition(st, 'Suspended')?.status === 'False' ? st : undefined;
    });
    assert.equal(h.condition(s2, 'Suspended').reason, 'JobResumed');
    assert.ok(s2.startTime);
    // suspending again removes the running pods
    await h.jobs(n).patch('s', 'merge', { spec: { suspend: true } });
    await waitFor('pods removed', async () => (await h.pods(n).list()).items.length === 0);
    const ev = await waitFor('events', async () => {
      const got = await eventsFor(env.client, n, 'Job', 's');
      return got.some((e) => e.reason === 'Resumed') && got.some((e) => e.reason === 'SuccessfulDelete') ? got : undefined;
    });
    assert.equal(ev.find((e) => e.reason === 'Suspended')?.message, 'Job suspended');
    assert.equal(ev.find((e) => e.reason === 'Resumed')?.message, 'Job resumed');
  });
  test('deleting a running Job frees its pods of the tracking finalizer, so nothing is left stuck', async () => {
    const n = await h.newNs('del');
    await h.jobs(n).create(job('gone', { parallelism: 2, completions: 2 }));
    const running = await waitFor('two pods', async () => {
      const a = await h.active(n);
      return a.length === 2 ? a : undefined;
    });
    assert.ok(running.every((p: Json) => p.metadata.finalizers.includes('batch.kubernetes.io/job-tracking')));
    await h.jobs(n).delete('gone');
    await waitFor('finalizers removed', async () => {
      const left = (await h.pods(n).list()).items as Json[];
      return left.length === 2 && left.every((p) => !(p.metadata.finalizers ?? []).includes('batch.kubernetes.io/job-tracking'));
    });
  });
});

describe('Job controller on a fake clock', () => {
  let env: ControllerTestEnv;
  let clock: FakeClock;
  const h = helpers(() => env.client);

  before(async () => {
    clock = new FakeClock(Date.now());
    env = await startControllerTest([jobController(), ttlAfterFinishedController()], { clock, log });
  });
  after(async () => {
    await env.stop();
  });

  test('failed pods are replaced after 10 s, then 20 s of back-off; past backoffLimit the Job fails with BackoffLimitExceeded', async () => {
    const n = await h.newNs('backoff');
    await h.jobs(n).create(job('flaky', { backoffLimit: 2 }));
    const pods = () => h.pods(n).list().then((l) => l.items as Json[]);
    const p1 = await pumpUntil(clock, 'first pod', async () => (await h.active(n))[0]);
    const failedAt = clock.now();
    await finishPod(env.client, n, p1.metadata.name, 'Failed', { at: failedAt });
    await pumpUntil(clock, 'failure counted', async () => (await h.status(n, 'flaky')).failed === 1);
    // the replacement waits for the 10 s back-off
    while (clock.now() < failedAt + 8_000) {
      await clock.advance(1000);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await h.active(n)).length, 0, 'no replacement before the back-off');
    const p2 = await pumpUntil(clock, 'second pod', async () => (await h.active(n))[0]);
    assert.ok(clock.now() - failedAt >= 10_000, `replaced after ${clock.now() - failedAt} ms`);
    const failed2At = clock.now();
    await finishPod(env.client, n, p2.metadata.name, 'Failed', { at: failed2At });
    const p3 = await pumpUntil(clock, 'third pod', async () => (await h.active(n))[0], { timeoutMs: 15_000 });
    assert.ok(clock.now() - failed2At >= 20_000, `second back-off 20 s, was ${clock.now() - failed2At} ms`);
    await finishPod(env.client, n, p3.metadata.name, 'Failed', { at: clock.now() });
    const s = await pumpUntil(clock, 'Failed', async () => {
      const st = await h.status(n, 'flaky');
      return h.condition(st, 'Failed') ? st : undefined;
    });
    const target = h.condition(s, 'FailureTarget');
    const failed = h.condition(s, 'Failed');
    assert.deepEqual([target.status, target.reason, target.message], ['True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit']);
    assert.deepEqual([failed.status, failed.reason, failed.message], ['True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit']);
    assert.equal(s.failed, 3);
    assert.equal(s.completionTime, undefined);
    assert.equal((await pods()).length, 3);
    const warn = await waitFor('warning event', async () => (await eventsFor(env.client, n, 'Job', 'flaky')).find((e) => e.reason === 'BackoffLimitExceeded'));
    assert.equal(warn.type, 'Warning');
    assert.equal(warn.message, 'Job has reached the specified backoff limit');
  });

  test('activeDeadlineSeconds fails the Job with DeadlineExceeded and deletes its running pods', async () => {
    const n = await h.newNs('deadline');
    await h.jobs(n).create(job('slow', { activeDeadlineSeconds: 30, parallelism: 2, completions: 2 }));
    await pumpUntil(clock, 'two pods', async () => (await h.active(n)).length === 2);
    const s = await pumpUntil(
      clock,
      'Failed',
      async () => {
        const st = await h.status(n, 'slow');
        return h.condition(st, 'Failed') ? st : undefined;
      },
      { stepMs: 5000 },
    );
    assert.equal(h.condition(s, 'Failed').reason, 'DeadlineExceeded');
    assert.equal(h.condition(s, 'Failed').message, 'Job was active longer than specified deadline');
    assert.ok(Date.parse(h.condition(s, 'Failed').lastTransitionTime) - Date.parse(s.startTime) >= 30_000);
    assert.equal(s.failed, 2, 'the deleted running pods count as failed');
    assert.equal((await h.pods(n).list()).items.length, 0);
  });

  test('podFailurePolicy: an Ignore rule does not count the failure; a FailJob rule fails the Job at once with its message', async () => {
    const n = await h.newNs('pfp');
    await h.jobs(n).create(
      job('pol', {
        backoffLimit: 5,
        podFailurePolicy: {
          rules: [
            { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
            { action: 'Ignore', onExitCodes: { operator: 'In', values: [7] } },
          ],
        },
      }),
    );
    const p1 = await pumpUntil(clock, 'pod', async () => (await h.active(n))[0]);
    await finishPod(env.client, n, p1.metadata.name, 'Failed', { exitCode: 7, at: clock.now() });
    const p2 = await pumpUntil(clock, 'replacement', async () => (await h.active(n))[0], { timeoutMs: 15_000 });
    assert.equal((await h.status(n, 'pol')).failed, undefined, 'an ignored failure is not counted');
    await finishPod(env.client, n, p2.metadata.name, 'Failed', { exitCode: 42, at: clock.now() });
    const s = await pumpUntil(clock, 'Failed', async () => {
      const st = await h.status(n, 'pol');
      return h.condition(st, 'Failed') ? st : undefined;
    });
    assert.equal(h.condition(s, 'FailureTarget').reason, 'PodFailurePolicy');
    assert.equal(h.condition(s, 'Failed').reason, 'PodFailurePolicy');
    assert.equal(h.condition(s, 'Failed').message, `Container main for pod ${n}/${p2.metadata.name} failed with exit code 42 matching FailJob rule at index 0`);
    assert.equal(s.failed, 1);
  });

  test('ttlSecondsAfterFinished: the finished Job is deleted (foreground) once the TTL passes, not before', async () => {
    const n = await h.newNs('ttl');
    await h.jobs(n).create(job('short', { ttlSecondsAfterFinished: 60 }));
    const p = await pumpUntil(clock, 'pod', async () => (await h.active(n))[0]);
    await finishPod(env.client, n, p.metadata.name, 'Succeeded', { at: clock.now() });
    const s = await pumpUntil(clock, 'Complete', async () => {
      const st = await h.status(n, 'short');
      return h.condition(st, 'Complete') ? st : undefined;
    });
    const finishedAt = Date.parse(h.condition(s, 'Complete').lastTransitionTime);
    const deleting = async () => {
      const j = await h.jobs(n).get('short').catch(() => undefined);
      return !j || !!j.metadata.deletionTimestamp;
    };
    while (clock.now() < finishedAt + 55_000) {
      await clock.advance(5000);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(await deleting(), false, 'kept within the TTL');
    await pumpUntil(clock, 'deleted after the TTL', deleting, { stepMs: 2000 });
    const j = await h.jobs(n).get('short').catch(() => undefined);
    if (j) assert.ok(j.metadata.finalizers?.includes('foregroundDeletion'), 'deleted with foreground propagation');
  });
});
