import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../workload/pods.ts';
import {
  activePodsForRemoval,
  ensureCondition,
  firstPendingIndexes,
  formatIntervals,
  matchPodFailurePolicy,
  matchSuccessPolicy,
  nextBackoffRecord,
  parseIndexes,
  pastBackoffLimitOnFailure,
  podGenerateNameWithIndex,
  remainingBackoffMs,
  withIndexes,
  type Job,
} from './job-utils.ts';

test('completed indexes: parsed, merged and written as upstream writes them', () => {
  assert.deepEqual(parseIndexes('1,3-5,7', 10), [{ first: 1, last: 1 }, { first: 3, last: 5 }, { first: 7, last: 7 }]);
  assert.deepEqual(parseIndexes('1-9', 5), [{ first: 1, last: 4 }], 'indexes beyond completions are dropped');
  assert.equal(formatIntervals(withIndexes(parseIndexes('1,3-5', 10), [2, 9])), '1-5,9');
  assert.equal(formatIntervals(withIndexes([], [3, 4])), '3,4', 'two adjacent indexes are listed, not ranged');
  assert.equal(formatIntervals(withIndexes([], [0, 1, 2])), '0-2');
  assert.deepEqual(firstPendingIndexes(parseIndexes('0,2', 6), [3], 2, 6), [1, 4]);
  assert.deepEqual(firstPendingIndexes([], [], 5, 3), [0, 1, 2]);
  assert.equal(podGenerateNameWithIndex('pi', 3), 'pi-3-');
  assert.equal(podGenerateNameWithIndex('x'.repeat(60), 12).length, 58);
  assert.ok(podGenerateNameWithIndex('x'.repeat(60), 12).endsWith('-12-'));
});

const failed = (o: { exit?: number; container?: string; conditions?: unknown[] } = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns' },
  spec: {},
  status: {
    phase: 'Failed',
    conditions: o.conditions ?? [],
    containerStatuses: [{ name: o.container ?? 'main', state: { terminated: { exitCode: o.exit ?? 1 } } }],
  },
});

test('pod failure policy: the first matching rule decides; FailJob carries upstream\'s message', () => {
  const policy = {
    rules: [
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
      { action: 'Count', onExitCodes: { operator: 'NotIn', values: [42, 7] } },
    ],
  };
  assert.deepEqual(matchPodFailurePolicy(policy, failed({ exit: 42 })), { failJobMessage: 'Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1', countFailed: true, action: 'FailJob' });
  assert.deepEqual(matchPodFailurePolicy(policy, failed({ exit: 42, container: 'side' })), { countFailed: true }, 'another container: no rule matches');
  assert.deepEqual(matchPodFailurePolicy(policy, failed({ exit: 3 })), { countFailed: true, action: 'Count' });
  assert.deepEqual(matchPodFailurePolicy(policy, failed({ exit: 42, conditions: [{ type: 'DisruptionTarget', status: 'True' }] })), { countFailed: false, action: 'Ignore' });
  const byCondition = { rules: [{ action: 'FailJob', onPodConditions: [{ type: 'ConfigIssue', status: 'True' }] }] };
  assert.equal(matchPodFailurePolicy(byCondition, failed({ conditions: [{ type: 'ConfigIssue', status: 'True' }] })).failJobMessage, 'Pod ns/p has condition ConfigIssue matching FailJob rule at index 0');
});

test('failure back-off: 10 s doubling per failure since the last success, capped at 10 minutes', () => {
  const at = (ms: number, phase = 'Failed'): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${ms}` }, spec: {}, status: { phase, containerStatuses: [{ name: 'c', state: { terminated: { finishedAt: new Date(ms).toISOString() } } }] } });
  const t = Date.UTC(2025, 0, 1);
  const r1 = nextBackoffRecord(undefined, [], [at(t)]);
  assert.deepEqual(r1, { failuresAfterLastSuccess: 1, lastFailureTime: t });
  assert.equal(remainingBackoffMs(r1, t + 4_000), 6_000);
  assert.equal(remainingBackoffMs(r1, t + 11_000), 0);
  const r3 = nextBackoffRecord(r1, [], [at(t + 20_000), at(t + 30_000)]);
  assert.equal(r3.failuresAfterLastSuccess, 3);
  assert.equal(remainingBackoffMs(r3, t + 30_000), 40_000);
  assert.equal(remainingBackoffMs({ failuresAfterLastSuccess: 20, lastFailureTime: t }, t), 600_000);
  const afterSuccess = nextBackoffRecord(r3, [at(t + 40_000, 'Succeeded')], [at(t + 35_000), at(t + 45_000)]);
  assert.deepEqual(afterSuccess, { failuresAfterLastSuccess: 1, lastFailureTime: t + 45_000 }, 'only failures after the last success count');
});

test('conditions: added when True or changed, never added as False', () => {
  const now = Date.UTC(2025, 0, 1);
  const a = ensureCondition([], 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
  assert.deepEqual(a, { list: [], changed: false });
  const b = ensureCondition([], 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
  assert.equal(b.changed, true);
  assert.deepEqual(b.list[0], { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended', lastProbeTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' });
  assert.equal(ensureCondition(b.list, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now + 1000).changed, false);
  assert.equal(ensureCondition(b.list, 'Suspended', 'False', 'JobResumed', 'Job resumed', now).list[0].status, 'False');
});

test('restartPolicy OnFailure: container restarts of live pods count against backoffLimit', () => {
  const job = (limit: number): Job => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { backoffLimit: limit, template: { spec: { restartPolicy: 'OnFailure' } } } });
  const pod = (restarts: number): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {}, status: { phase: 'Running', containerStatuses: [{ name: 'c', restartCount: restarts }] } });
  assert.ok(!pastBackoffLimitOnFailure(job(3), [pod(2)]));
  assert.ok(pastBackoffLimitOnFailure(job(3), [pod(2), pod(1)]));
  assert.ok(pastBackoffLimitOnFailure(job(0), [pod(1)]));
});

test('Indexed Jobs remove duplicate and out-of-range indexes first', () => {
  const job: Job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { completionMode: 'Indexed', completions: 2 } };
  const p = (name: string, ix: string | undefined, ready = false): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, creationTimestamp: '2025-01-01T00:00:00Z', ...(ix !== undefined ? { annotations: { 'batch.kubernetes.io/job-completion-index': ix } } : {}) },
    spec: {},
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const rm = activePodsForRemoval(job, [p('a0', '0', true), p('b0', '0'), p('c1', '1'), p('d5', '5'), p('e', undefined)], 0);
  assert.deepEqual(rm.map((x) => x.metadata.name).sort(), ['b0', 'd5', 'e']);
});

test('success policy rules match on succeeded indexes and counts', () => {
  const succeeded = parseIndexes('0-2,5', 10);
  assert.equal(matchSuccessPolicy({ rules: [{ succeededIndexes: '0-3' }, { succeededCount: 4 }] }, 10, succeeded), 'Matched rules at index 1');
  assert.equal(matchSuccessPolicy({ rules: [{ succeededIndexes: '0-2' }] }, 10, succeeded), 'Matched rules at index 0');
  assert.equal(matchSuccessPolicy({ rules: [{ succeededIndexes: '0-5', succeededCount: 4 }] }, 10, succeeded), 'Matched rules at index 0');
  assert.equal(matchSuccessPolicy({ rules: [{ succeededIndexes: '0-5', succeededCount: 5 }] }, 10, succeeded), undefined);
});
