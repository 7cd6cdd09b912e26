import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Code, fitErrorMessage, newDiagnosis, NodeToStatus, Status } from './status.ts';

function diagnosis(statuses: Record<string, Status>, absent?: Status, pre = '', post = '') {
  const d = newDiagnosis();
  if (absent) d.nodeToStatus = new NodeToStatus(absent);
  for (const [n, s] of Object.entries(statuses)) d.nodeToStatus.set(n, s);
  d.preFilterMsg = pre;
  d.postFilterMsg = post;
  return d;
}

describe('the FailedScheduling message (upstream FitError.Error)', () => {
  test("the issue's example comes out exactly", () => {
    const taint = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }";
    const d = diagnosis(
      {
        n1: new Status(Code.Unschedulable, 'Insufficient cpu'),
        n2: new Status(Code.UnschedulableAndUnresolvable, taint),
        n3: new Status(Code.UnschedulableAndUnresolvable, taint),
      },
      undefined,
      '',
      'preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
    );
    assert.equal(
      fitErrorMessage(3, d),
      '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.',
    );
  });

  test('reasons are counted per node, each reason of a node separately, sorted as strings', () => {
    const d = diagnosis({
      a: new Status(Code.Unschedulable, 'Too many pods', 'Insufficient cpu'),
      b: new Status(Code.Unschedulable, 'Insufficient cpu', 'Insufficient memory'),
      c: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      d: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      e: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      f: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      g: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      h: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      i: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      j: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      k: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
      l: new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
    });
    // "10 node(s)..." sorts before "2 Insufficient cpu": Go sorts the strings, not the counts
    assert.equal(fitErrorMessage(12, d), "0/12 nodes are available: 1 Insufficient memory, 1 Too many pods, 10 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu.");
  });

  test('nodes a PreFilter result left out are counted with the absent status', () => {
    const d = diagnosis({ n1: new Status(Code.Unschedulable, 'Insufficient cpu') }, new Status(Code.UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [NodeAffinity]"));
    assert.equal(fitErrorMessage(4, d), "0/4 nodes are available: 1 Insufficient cpu, 3 node(s) didn't satisfy plugin(s) [NodeAffinity].");
  });

  test('a PreFilter rejection replaces the per-node histogram', () => {
    const s = new Status(Code.UnschedulableAndUnresolvable, 'pod has unbound immediate PersistentVolumeClaims');
    const d = diagnosis({}, s, s.message(), 'preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
    assert.equal(fitErrorMessage(2, d), '0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
  });

  test('without any reason the message is just the count', () => {
    assert.equal(fitErrorMessage(0, diagnosis({})), '0/0 nodes are available:');
  });
});
