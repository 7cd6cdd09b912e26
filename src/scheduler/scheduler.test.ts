// The pure parts of the API wiring: the status patch after a failed attempt and the default
// spreading selector (the rest is covered against a real server in scheduler.int.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesLabels } from '../api/labels.ts';
import { defaultSelectorOf, podScheduledPatch } from './scheduler.ts';
import { makePod } from './testing.ts';
import type { Pod } from './types.ts';

const now = new Date('2025-03-01T10:00:00Z');
const failure = (message: string, nominatedNodeName?: string) => ({
  reason: 'Unschedulable' as const,
  message,
  eventMessage: message,
  ...(nominatedNodeName !== undefined ? { nominatingInfo: { mode: 'override' as const, nominatedNodeName } } : {}),
});

describe('the PodScheduled status patch', () => {
  test('a first failure adds the condition with the time of the change', () => {
    assert.deepEqual(podScheduledPatch(makePod('p'), failure('0/1 nodes are available: 1 Insufficient cpu.'), now), {
      status: { conditions: [{ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: '2025-03-01T10:00:00Z', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' }] },
    });
  });

  const withCondition = (message: string, nominated?: string): Pod => {
    const p = makePod('p', nominated ? { nominatedNodeName: nominated } : {});
    return { ...p, status: { ...p.status, conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: '2025-02-01T00:00:00Z', lastProbeTime: null }] } };
  };

  test('the same failure again writes nothing', () => {
    assert.equal(podScheduledPatch(withCondition('same'), failure('same'), now), undefined);
  });

  test('a new message keeps the transition time of the unchanged status', () => {
    const patch = podScheduledPatch(withCondition('old'), failure('new'), now) as { status: { conditions: { lastTransitionTime: string; message: string }[] } };
    assert.equal(patch.status.conditions[0]!.lastTransitionTime, '2025-02-01T00:00:00Z');
    assert.equal(patch.status.conditions[0]!.message, 'new');
  });

  test('a nomination is written when it changes, and cleared with null', () => {
    assert.deepEqual(podScheduledPatch(withCondition('m'), failure('m', 'n1'), now), { status: { nominatedNodeName: 'n1' } });
    assert.deepEqual(podScheduledPatch(withCondition('m', 'n1'), failure('m', ''), now), { status: { nominatedNodeName: null } });
    assert.equal(podScheduledPatch(withCondition('m', 'n1'), failure('m', 'n1'), now), undefined);
  });
});

describe('the default spreading selector (upstream DefaultSelector)', () => {
  const owned = (kind: string, apiVersion: string): Pod => {
    const p = makePod('p', { labels: { app: 'web', tier: 'front' } });
    return { ...p, metadata: { ...p.metadata, ownerReferences: [{ apiVersion, kind, name: 'owner', uid: 'u', controller: true }] } };
  };
  const none = { services: () => [], rc: () => undefined, rs: () => undefined, ss: () => undefined };

  test('services selecting the pod contribute their selectors; others and nil selectors do not', () => {
    const sel = defaultSelectorOf(makePod('p', { labels: { app: 'web' } }), {
      ...none,
      services: () => [{ spec: { selector: { app: 'web' } } }, { spec: { selector: { app: 'db' } } }, { spec: {} }],
    });
    assert.ok(sel && matchesLabels(sel, { app: 'web' }) && !matchesLabels(sel, { app: 'db' }));
  });

  test("the controlling ReplicaSet's selector groups the pod", () => {
    const sel = defaultSelectorOf(owned('ReplicaSet', 'apps/v1'), { ...none, rs: () => ({ spec: { selector: { matchLabels: { app: 'web' } } } }) });
    assert.ok(sel && matchesLabels(sel, { app: 'web', other: 'x' }) && !matchesLabels(sel, { app: 'api' }));
  });

  test('a pod nothing selects or controls has no default group', () => {
    assert.equal(defaultSelectorOf(makePod('p', { labels: { app: 'web' } }), none), undefined);
    assert.equal(defaultSelectorOf(owned('Job', 'batch/v1'), none), undefined);
  });
});
