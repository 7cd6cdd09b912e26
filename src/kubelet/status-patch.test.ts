import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusPatch } from './status-patch.ts';

describe('statusPatch', () => {
  const keyed = { conditions: 'type', podIPs: 'ip' };

  it('sends changed fields, nulls for fields it owns that went away, and leaves others\' fields alone', () => {
    const old = { phase: 'Pending', podIP: '10.0.0.1', nominatedNodeName: 'x', qosClass: 'BestEffort' };
    const next = { phase: 'Running', qosClass: 'BestEffort' };
    assert.deepEqual(statusPatch(old, next, keyed, new Set(['phase', 'podIP', 'qosClass'])), { phase: 'Running', podIP: null });
  });

  it('merges conditions by type: changed ones with nulls for vanished fields, and the order', () => {
    const old = { conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'm' }] };
    const next = { conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }] };
    assert.deepEqual(statusPatch(old, next, keyed), {
      '$setElementOrder/conditions': [{ type: 'Ready' }, { type: 'PodScheduled' }],
      conditions: [{ type: 'Ready', status: 'True', reason: null, message: null }],
    });
  });

  it('deletes list items that went away, and answers undefined when nothing changed', () => {
    const old = { podIPs: [{ ip: '10.0.0.1' }] };
    assert.deepEqual(statusPatch(old, { podIPs: [{ ip: '10.0.0.2' }] }, keyed), {
      '$setElementOrder/podIPs': [{ ip: '10.0.0.2' }],
      podIPs: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1', $patch: 'delete' }],
    });
    assert.equal(statusPatch(old, { podIPs: [{ ip: '10.0.0.1' }] }, keyed), undefined);
  });

  it('replaces unkeyed lists whole', () => {
    const old = { containerStatuses: [{ name: 'a', ready: false }] };
    assert.deepEqual(statusPatch(old, { containerStatuses: [{ name: 'a', ready: true }] }, keyed), { containerStatuses: [{ name: 'a', ready: true }] });
  });
});
