import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runtimeContract } from './contract.ts';
import { RuntimeError, isRuntimeError } from './runtime.ts';
import { SimulatedRuntime, interpret } from './simulated.ts';
import type { PodSandboxConfig } from '../cri/types.ts';

runtimeContract('simulated', async () => {
  const logRoot = mkdtempSync(join(tmpdir(), 'rudder-sim-'));
  const podCidr = '10.88.0.0/16';
  const runtime = new SimulatedRuntime({ podCidr, writeLogs: true, images: ['registry.k8s.io/pause:3.10', 'busybox:1.36'], pullable: (i) => !i.startsWith('registry.invalid/') });
  return {
    runtime,
    logRoot,
    podCidr,
    busybox: 'docker.io/library/busybox:1.36',
    cleanup: async () => {
      await runtime.close();
      rmSync(logRoot, { recursive: true, force: true });
    },
  };
});

const sandbox = (name: string, hostNetwork = false): PodSandboxConfig => ({
  metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
  linux: { security_context: { namespace_options: { network: hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER' } } },
});

describe('simulated runtime', () => {
  it('interprets the commands tests give containers and leaves others running', () => {
    assert.deepEqual(interpret(['sh', '-c', 'echo "a  b" $X; sleep 0.5; exit 4'], { X: 'x' }), [
      { out: 'stdout', text: 'a  b x\n' },
      { sleepMs: 500 },
      { exit: 4 },
    ]);
    assert.deepEqual(interpret(['/bin/sh', '-c', "echo 'single $X' >&2 && false"], { X: 'x' }), [{ out: 'stderr', text: 'single $X\n' }, { exit: 1 }]);
    assert.deepEqual(interpret(['echo', '-n', 'hi']), [{ out: 'stdout', text: 'hi' }, { exit: 0 }]);
    assert.deepEqual(interpret(['testserver', 'exit', '7']), [{ exit: 7 }]);
    assert.equal(interpret(['nginx', '-g', 'daemon off;']), undefined);
    assert.equal(interpret(['sh', '-c', 'echo x; nginx']), undefined);
  });

  it('takes the configured time for each operation', async () => {
    const rt = new SimulatedRuntime({ delays: { runPodSandbox: 60, startContainer: 40 }, images: ['busybox'] });
    const t0 = performance.now();
    const sc = sandbox('slow');
    const sid = await rt.runPodSandbox(sc);
    const t1 = performance.now();
    const cid = await rt.createContainer(sid, { metadata: { name: 'c' }, image: { image: 'busybox' }, command: ['sleep', '10'] }, sc);
    await rt.startContainer(cid);
    const t2 = performance.now();
    assert.ok(t1 - t0 >= 55, `sandbox took ${t1 - t0} ms`);
    assert.ok(t2 - t1 >= 35, `container took ${t2 - t1} ms`);
    await rt.close();
  });

  it('fails the operations a failure hook names, with the error it gives', async () => {
    const rt = new SimulatedRuntime({
      images: ['busybox'],
      fail: (op, subject) => (op === 'startContainer' ? 'failed to create containerd task: boom' : op === 'runPodSandbox' && subject === 'bad' ? new RuntimeError(op, 'Unavailable', 'runtime down') : undefined),
    });
    await assert.rejects(rt.runPodSandbox(sandbox('bad')), (e) => isRuntimeError(e, 'Unavailable') && e.message === 'runtime down');
    const sc = sandbox('good');
    const sid = await rt.runPodSandbox(sc);
    const cid = await rt.createContainer(sid, { metadata: { name: 'c' }, image: { image: 'busybox' } }, sc);
    await assert.rejects(rt.startContainer(cid), (e) => isRuntimeError(e, 'Unknown') && e.op === 'startContainer' && /boom/.test(e.message));
    assert.equal((await rt.containerStatus(cid)).state, 'CONTAINER_CREATED');
  });

  it('gives host-network sandboxes no pod IP and reuses the IPs of stopped sandboxes', async () => {
    const rt = new SimulatedRuntime({ podCidr: '10.1.2.0/29' });
    const host = await rt.runPodSandbox(sandbox('host', true));
    assert.equal((await rt.podSandboxStatus(host)).network?.ip, '');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await rt.runPodSandbox(sandbox(`p${i}`)));
    const ips = await Promise.all(ids.map(async (id) => (await rt.podSandboxStatus(id)).network?.ip));
    assert.deepEqual(ips, ['10.1.2.2', '10.1.2.3', '10.1.2.4', '10.1.2.5', '10.1.2.6']);
    await assert.rejects(rt.runPodSandbox(sandbox('full')), (e) => isRuntimeError(e) && /no IP addresses available/.test(e.message));
    await rt.stopPodSandbox(ids[1]);
    const again = await rt.runPodSandbox(sandbox('again'));
    assert.equal((await rt.podSandboxStatus(again)).network?.ip, '10.1.2.3');
  });

  it('pulls any image unless told otherwise and finds it by short name or id afterwards', async () => {
    const rt = new SimulatedRuntime();
    const ref = await rt.pullImage('nginx');
    const img = await rt.imageStatus('docker.io/library/nginx:latest');
    assert.equal(img?.id, ref);
    assert.deepEqual((await rt.imageStatus(ref))?.repo_tags, ['docker.io/library/nginx:latest']);
    await rt.removeImage('nginx:latest');
    assert.equal(await rt.imageStatus('nginx'), null);
  });

  it('refuses streaming with Unimplemented', async () => {
    const rt = new SimulatedRuntime();
    const sid = await rt.runPodSandbox(sandbox('s'));
    await assert.rejects(rt.portForward(sid, [80]), (e) => isRuntimeError(e, 'Unimplemented'));
  });
});
