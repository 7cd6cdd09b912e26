// Probe workers on a FakeClock: periods, initial delay, thresholds, startup gating, hold after a
// liveness failure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../client/clock.ts';
import type { Container, Pod, Probe } from '../api-types.ts';
import { ProbeManager, type ProbeContainerView, type ProbeType } from './manager.ts';
import type { ProbeOutcome } from './prober.ts';

function setup(container: Container, outcomes: Partial<Record<ProbeType, () => ProbeOutcome['result']>>) {
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { containers: [container] } };
  let view: ProbeContainerView | undefined = { containerId: 'c1', running: true, startedAt: clock.now() };
  const runs: ProbeType[] = [];
  const changes: string[] = [];
  const failures: string[] = [];
  const m = new ProbeManager({
    clock,
    run: async (_p, _c, type) => {
      runs.push(type);
      const r = outcomes[type]?.() ?? 'success';
      return { result: r, output: r === 'failure' ? 'nope' : '' } as ProbeOutcome;
    },
    containerView: () => view,
    onResultChange: (_uid, type, _name, result) => changes.push(`${type}=${result}`),
    onProbeFailure: (_p, _c, type, output) => failures.push(`${type}: ${output}`),
  });
  m.addPod(pod);
  return { clock, m, runs, changes, failures, setView: (v: ProbeContainerView | undefined) => (view = v) };
}

const probe = (p: Partial<Probe> = {}): Probe => ({ exec: { command: ['true'] }, periodSeconds: 10, ...p });

describe('ProbeManager', () => {
  it('readiness starts not ready and turns ready after successThreshold successes, one period apart', async () => {
    const t = setup({ name: 'c', readinessProbe: probe({ successThreshold: 2 }) }, {});
    await t.clock.advance(0);
    assert.equal(t.m.result('readiness', 'c1'), 'failure');
    assert.deepEqual(t.runs, ['readiness']);
    await t.clock.advance(10_000);
    assert.equal(t.m.result('readiness', 'c1'), 'success');
    assert.deepEqual(t.changes, ['readiness=success']);
  });

  it('waits initialDelaySeconds after the container started', async () => {
    const t = setup({ name: 'c', readinessProbe: probe({ initialDelaySeconds: 5, periodSeconds: 10 }) }, {});
    await t.clock.advance(4_000);
    assert.deepEqual(t.runs, []);
    await t.clock.advance(1_000);
    assert.deepEqual(t.runs, ['readiness']);
  });

  it('liveness fails only after failureThreshold failures, records each failure, then holds until the container is replaced', async () => {
    const t = setup({ name: 'c', livenessProbe: probe({ failureThreshold: 3, periodSeconds: 1 }) }, { liveness: () => 'failure' });
    await t.clock.advance(0);
    assert.equal(t.m.result('liveness', 'c1'), 'success', 'alive until proven otherwise');
    await t.clock.advance(1_000);
    assert.equal(t.m.result('liveness', 'c1'), 'success');
    await t.clock.advance(1_000);
    assert.equal(t.m.result('liveness', 'c1'), 'failure');
    assert.deepEqual(t.changes, ['liveness=failure']);
    assert.deepEqual(t.failures, ['liveness: nope', 'liveness: nope', 'liveness: nope']);
    await t.clock.advance(5_000);
    assert.equal(t.runs.length, 3, 'on hold: no more probes of that container');
    t.setView({ containerId: 'c2', running: true, startedAt: t.clock.now() });
    await t.clock.advance(1_000);
    assert.equal(t.runs.length, 4, 'the new container is probed');
    assert.equal(t.m.result('liveness', 'c2'), 'success');
    assert.equal(t.m.result('liveness', 'c1'), undefined, 'the old container\'s result is forgotten');
  });

  it('liveness and readiness wait for the startup probe to succeed', async () => {
    let started = false;
    const t = setup({ name: 'c', startupProbe: probe({ periodSeconds: 1, failureThreshold: 30 }), livenessProbe: probe({ periodSeconds: 1 }), readinessProbe: probe({ periodSeconds: 1 }) }, { startup: () => (started ? 'success' : 'failure') });
    await t.clock.advance(2_000);
    assert.deepEqual([...new Set(t.runs)], ['startup']);
    assert.equal(t.m.result('readiness', 'c1'), 'failure');
    started = true;
    await t.clock.advance(3_000);
    assert.equal(t.m.result('startup', 'c1'), 'success');
    assert.ok(t.runs.includes('liveness') && t.runs.includes('readiness'));
    assert.equal(t.m.result('readiness', 'c1'), 'success');
  });

  it('a container that is not running is not ready', async () => {
    const t = setup({ name: 'c', readinessProbe: probe({ periodSeconds: 1 }) }, {});
    await t.clock.advance(0);
    assert.equal(t.m.result('readiness', 'c1'), 'success');
    t.setView({ containerId: 'c1', running: false, startedAt: 0 });
    await t.clock.advance(1_000);
    assert.equal(t.m.result('readiness', 'c1'), 'failure');
  });

  it('stops probing a removed pod', async () => {
    const t = setup({ name: 'c', readinessProbe: probe({ periodSeconds: 1 }) }, {});
    await t.clock.advance(0);
    t.m.removePod('u');
    const n = t.runs.length;
    await t.clock.advance(5_000);
    assert.equal(t.runs.length, n);
    assert.equal(t.m.result('readiness', 'c1'), undefined);
  });
});
