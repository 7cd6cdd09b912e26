import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerStatus, Pod } from '../api-types.ts';
import { LogTargetError, logContainerId, runtimeContainerId } from './container-logs.ts';

const pod = (cs: Partial<ContainerStatus>): Pod =>
  ({
    metadata: { name: 'web', namespace: 'default' },
    spec: { containers: [{ name: 'app', image: 'x' }] },
    status: { containerStatuses: [{ name: 'app', ready: false, restartCount: 0, image: 'x', imageID: 'x', ...cs }] },
  }) as Pod;

const message = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof LogTargetError);
    return e.message;
  }
  return 'no error';
};

describe('which container instance a log request reads', () => {
  it('the running instance, else the terminated one, else the last terminated one', () => {
    assert.equal(logContainerId(pod({ containerID: 'containerd://a', state: { running: { startedAt: 'now' } } as never }), 'app', false), 'containerd://a');
    assert.equal(logContainerId(pod({ containerID: 'containerd://b', state: { terminated: { exitCode: 1, containerID: 'containerd://b' } } as never }), 'app', false), 'containerd://b');
    assert.equal(
      logContainerId(pod({ state: { waiting: { reason: 'CrashLoopBackOff' } } as never, lastState: { terminated: { exitCode: 1, containerID: 'containerd://c' } } as never }), 'app', false),
      'containerd://c',
    );
  });

  it('--previous reads the last terminated instance, or fails in upstream\'s words', () => {
    assert.equal(logContainerId(pod({ lastState: { terminated: { exitCode: 0, containerID: 'containerd://old' } } as never }), 'app', true), 'containerd://old');
    assert.equal(message(() => logContainerId(pod({ state: { running: {} } as never }), 'app', true)), 'previous terminated container "app" in pod "web" not found');
  });

  it('a waiting container says why, as upstream\'s kubelet does', () => {
    assert.equal(message(() => logContainerId(pod({ state: { waiting: { reason: 'ContainerCreating' } } as never }), 'app', false)), 'container "app" in pod "web" is waiting to start: ContainerCreating');
    assert.equal(message(() => logContainerId(pod({ state: { waiting: { reason: 'ErrImagePull' } } as never }), 'app', false)), 'container "app" in pod "web" is waiting to start: image can\'t be pulled');
    assert.equal(message(() => logContainerId(pod({ state: { waiting: { reason: 'ImagePullBackOff' } } as never }), 'app', false)), 'container "app" in pod "web" is waiting to start: trying and failing to pull image');
    assert.equal(message(() => logContainerId(pod({}), 'app', false)), 'container "app" in pod "web" is waiting to start - no logs yet');
  });

  it('a container without a status is not available; a terminated one without an id is terminated', () => {
    assert.equal(message(() => logContainerId(pod({}), 'sidecar', false)), 'container "sidecar" in pod "web" is not available');
    assert.equal(message(() => logContainerId(pod({ state: { terminated: { exitCode: 0 } } as never }), 'app', false)), 'container "app" in pod "web" is terminated');
  });

  it('strips the runtime from a status container id', () => {
    assert.equal(runtimeContainerId('containerd://abc'), 'abc');
    assert.equal(runtimeContainerId('abc'), 'abc');
  });
});
