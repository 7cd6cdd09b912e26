// Acceptance for batch work with the real kubectl against a real `rudder server` (its
// controller-manager running the Job and CronJob controllers): a Job from `kubectl create job`
// and one with parallelism run to completion, and a CronJob on a one-minute schedule fires on
// the real clock. No kubelet runs (--disable-agent): the test finishes pods through the status
// subresource, as a kubelet would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, startServer, type TestServer } from '../harness.ts';

type Json = any;

const PARALLEL_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: squares
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
        command: ["sh", "-c", "echo done"]
`;

describe('batch controllers with kubectl', () => {
  let s: TestServer;
  let cronCreatedAt = 0;

  const json = async (args: string[]) => JSON.parse(await s.k([...args, '-o', 'json']));
  const podsOf = async (job: string): Promise<Json[]> => (await json(['get', 'pods', '-l', `batch.kubernetes.io/job-name=${job}`])).items;
  /** Marks a pod Succeeded through the status subresource, as the kubelet reports a finished container. */
  const succeed = async (name: string) => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const pod = (await s.request('GET', `/api/v1/namespaces/default/pods/${name}`)).json();
    const r = await s.request('PATCH', `/api/v1/namespaces/default/pods/${name}/status`, {
      headers: { 'content-type': 'application/merge-patch+json' },
      body: {
        status: {
          phase: 'Succeeded',
          conditions: [{ type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: now }],
          containerStatuses: pod.spec.containers.map((c: Json) => ({ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } } })),
        },
      },
    });
    assert.equal(r.status, 200, r.text());
  };

  before(async () => {
    s = await startServer();
    // the CronJob starts first: its first minute runs while the Job tests do
    assert.equal((await s.k(['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/1 * * * *', '--', 'date'])).trim(), 'cronjob.batch/tick created');
    cronCreatedAt = Date.now();
  });
  after(async () => {
    await s?.stop();
  });

  test('kubectl create job: the Job runs its pod to completion; kubectl wait, get and describe show it', async () => {
    assert.equal((await s.k(['create', 'job', 'pi', '--image=busybox', '--', 'echo', '3.14'])).trim(), 'job.batch/pi created');
    const [pod] = await eventually(async () => {
      const p = await podsOf('pi');
      return p.length === 1 ? p : undefined;
    }, 20_000, 'the Job\'s pod');
    assert.deepEqual(pod.metadata.finalizers, ['batch.kubernetes.io/job-tracking']);
    assert.deepEqual(pod.spec.containers[0].args ?? pod.spec.containers[0].command, ['echo', '3.14']);
    await succeed(pod.metadata.name);
    const waited = await s.kubectl(['wait', '--for=condition=complete', 'job/pi', '--timeout=30s']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(waited.stdout.trim(), 'job.batch/pi condition met');
    const job = await json(['get', 'job', 'pi']);
    assert.equal(job.status.succeeded, 1);
    assert.ok(job.status.completionTime);
    assert.deepEqual(job.status.conditions.map((c: Json) => [c.type, c.status, c.reason]), [['SuccessCriteriaMet', 'True', 'CompletionsReached'], ['Complete', 'True', 'CompletionsReached']]);
    const table = await s.k(['get', 'job', 'pi']);
    assert.match(table, /\bpi\s+Complete\s+1\/1\s/);
    const described = await s.k(['describe', 'job', 'pi']);
    assert.match(described, new RegExp(`SuccessfulCreate\\s+\\S+\\s+job-controller\\s+Created pod: ${pod.metadata.name}`));
    assert.match(described, /Completed\s+\S+\s+job-controller\s+Job completed/);
    assert.ok(!((await podsOf('pi'))[0].metadata.finalizers ?? []).includes('batch.kubernetes.io/job-tracking'), 'the tracking finalizer is removed once counted');
  });

  test('a Job with parallelism 2 runs at most two pods at once until four succeed', async () => {
    assert.equal((await s.k(['apply', '-f', '-'], { input: PARALLEL_JOB })).trim(), 'job.batch/squares created');
    let done = 0;
    while (done < 4) {
      const running = await eventually(async () => {
        const p = (await podsOf('squares')).filter((x) => x.status.phase !== 'Succeeded');
        assert.ok(p.length <= 2, `at most parallelism pods run, saw ${p.length}`);
        return p.length === Math.min(2, 4 - done) ? p : undefined;
      }, 20_000, 'running pods');
      for (const p of running) await succeed(p.metadata.name);
      done += running.length;
    }
    const waited = await s.kubectl(['wait', '--for=condition=complete', 'job/squares', '--timeout=30s']);
    assert.equal(waited.code, 0, waited.stderr);
    const job = await json(['get', 'job', 'squares']);
    assert.equal(job.status.succeeded, 4);
    assert.equal((await podsOf('squares')).length, 4);
  });

  test('the one-minute CronJob creates tick-<minute> on the real clock and records it', async () => {
    const job = await eventually(async () => (await json(['get', 'jobs'])).items.find((j: Json) => j.metadata.name.startsWith('tick-')), 75_000 - (Date.now() - cronCreatedAt) + 10_000, 'the CronJob\'s first Job');
    const minute = Number(job.metadata.name.slice('tick-'.length));
    assert.ok(Number.isInteger(minute));
    assert.ok(minute * 60_000 >= cronCreatedAt - 60_000 && minute * 60_000 <= Date.now(), 'named for a minute since the CronJob was created');
    assert.deepEqual(job.metadata.ownerReferences.map((r: Json) => [r.kind, r.name, r.controller]), [['CronJob', 'tick', true]]);
    assert.equal(job.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(minute * 60_000).toISOString().replace('.000Z', 'Z'));
    const cj = await eventually(async () => {
      const c = await json(['get', 'cronjob', 'tick']);
      return c.status?.lastScheduleTime ? c : undefined;
    }, 10_000, 'lastScheduleTime');
    assert.equal(Date.parse(cj.status.lastScheduleTime), minute * 60_000);
    assert.deepEqual(cj.status.active?.map((a: Json) => a.name), [job.metadata.name]);
    const described = await s.k(['describe', 'cronjob', 'tick']);
    assert.match(described, new RegExp(`SuccessfulCreate\\s+\\S+\\s+cronjob-controller\\s+Created job ${job.metadata.name}`));
  });
});
