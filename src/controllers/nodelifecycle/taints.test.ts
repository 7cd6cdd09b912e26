import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/meta.ts';
import { applyTaints, conditionTaints, matchingTolerations, minTolerationMs, toleratesTaint, UNREACHABLE_NO_EXECUTE } from './taints.ts';
import { evictionDelay } from './tainteviction.ts';
import { computeZoneState, TokenBucket } from './nodelifecycle.ts';

test('tolerations match taints by key, effect, operator and value', () => {
  const t = { key: 'k', value: 'v', effect: 'NoExecute' };
  assert.equal(toleratesTaint({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute' }, t), true);
  assert.equal(toleratesTaint({ key: 'k', value: 'v' }, t), true);
  assert.equal(toleratesTaint({ key: 'k', value: 'other' }, t), false);
  assert.equal(toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoSchedule' }, t), false);
  assert.equal(toleratesTaint({ operator: 'Exists' }, t), true);
  assert.equal(toleratesTaint({ key: 'k', operator: 'Gt', value: 'v' }, t), false);
  assert.deepEqual(matchingTolerations([t, UNREACHABLE_NO_EXECUTE], [{ key: 'k', operator: 'Exists' }]), { all: false, used: [] });
});

test('the shortest tolerationSeconds wins; none at all means forever', () => {
  assert.equal(minTolerationMs([]), 0);
  assert.equal(minTolerationMs([{ operator: 'Exists' }]), -1);
  assert.equal(minTolerationMs([{ operator: 'Exists' }, { key: 'a', tolerationSeconds: 30 }, { key: 'b', tolerationSeconds: 10 }]), 10_000);
  assert.equal(minTolerationMs([{ key: 'a', tolerationSeconds: 0 }]), 0);
});

test('eviction timing of a pod on a node with NoExecute taints', () => {
  const pod = (tolerations: unknown[]): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { tolerations } });
  assert.equal(evictionDelay(pod([]), [UNREACHABLE_NO_EXECUTE]), 'now');
  assert.equal(evictionDelay(pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]), [UNREACHABLE_NO_EXECUTE]), 300_000);
  assert.equal(evictionDelay(pod([{ operator: 'Exists' }]), [UNREACHABLE_NO_EXECUTE]), 'never');
  assert.equal(evictionDelay(pod([]), []), 'never');
});

test('node conditions imply NoSchedule taints; applying taints stamps timeAdded once', () => {
  const node: KObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }, { type: 'DiskPressure', status: 'True' }, { type: 'MemoryPressure', status: 'False' }] } };
  assert.deepEqual(conditionTaints(node).map((t) => t.key), ['node.kubernetes.io/unreachable', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/unschedulable']);
  const a = applyTaints([{ key: 'x', effect: 'NoSchedule' }], [UNREACHABLE_NO_EXECUTE], [], 'T1')!;
  assert.deepEqual(a, [{ key: 'x', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'T1' }]);
  assert.equal(applyTaints(a, [UNREACHABLE_NO_EXECUTE], [], 'T2'), undefined);
  assert.deepEqual(applyTaints(a, [], [UNREACHABLE_NO_EXECUTE], 'T2'), [{ key: 'x', effect: 'NoSchedule' }]);
});

test('zone states: all down is full disruption, most of more than two down is partial', () => {
  const c = (s: string) => ({ type: 'Ready', status: s });
  assert.equal(computeZoneState([c('Unknown')]).state, 'FullDisruption');
  assert.equal(computeZoneState([c('True'), c('Unknown')]).state, 'Normal');
  assert.equal(computeZoneState([c('True'), c('False'), c('Unknown'), c('Unknown')]).state, 'PartialDisruption');
  assert.equal(computeZoneState([c('True'), undefined, c('True'), c('Unknown')]).state, 'Normal');
});

test('the taint limiter lets one node through, then one per 10 s', () => {
  let now = 0;
  const b = new TokenBucket(0.1, () => now);
  assert.equal(b.tryAccept(), true);
  assert.equal(b.tryAccept(), false);
  assert.equal(Math.round(b.waitMs()), 10_000);
  now = 10_000;
  assert.equal(b.tryAccept(), true);
  b.swap(0);
  now = 100_000;
  assert.equal(b.tryAccept(), false);
});
