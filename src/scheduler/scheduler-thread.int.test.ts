// The scheduler `rudder server` embeds (on a worker thread of its own, through the in-process
// transport): what a user sees of it through kubectl.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, startServer, type TestServer } from '../../test/harness.ts';

const NODE = (name: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  });

const POD = (name: string, cpu = '100m') =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu } } }] } });

describe('rudder server with its embedded scheduler', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controller-manager'] });
    // without the controller-manager nobody makes the namespace's default ServiceAccount
    await s.k(['create', 'serviceaccount', 'default']);
  });
  after(async () => {
    await s?.stop();
  });

  test('a pod is bound to the node with room, with a Scheduled event from default-scheduler, under the kube-scheduler lease', async () => {
    await s.k(['create', '-f', '-'], { input: NODE('small') });
    await s.k(['create', '-f', '-'], { input: NODE('big') });
    await s.k(['create', '-f', '-'], { input: POD('web', '3500m') });
    await s.k(['create', '-f', '-'], { input: POD('huge', '5') });
    const node = await eventually(async () => (await s.k(['get', 'pod', 'web', '-o', 'jsonpath={.spec.nodeName}'])).trim(), 20_000, 'web bound');
    assert.ok(node === 'small' || node === 'big');
    const ev = await eventually(async () => {
      const out = await s.k(['get', 'events', '--field-selector', 'involvedObject.name=web,reason=Scheduled', '-o', 'jsonpath={.items[*].message}']);
      return out.trim() || undefined;
    }, 15_000, 'the Scheduled event');
    assert.equal(ev, `Successfully assigned default/web to ${node}`);
    const failed = await eventually(async () => {
      const out = await s.k(['describe', 'pod', 'huge']);
      return /FailedScheduling/.test(out) && out;
    }, 15_000, 'the FailedScheduling event of a pod that fits nowhere');
    assert.match(failed, /default-scheduler\s+0\/2 nodes are available: 2 Insufficient cpu/);
    assert.equal((await s.k(['get', 'pod', 'huge', '-o', 'jsonpath={.spec.nodeName}'])).trim(), '');
    const holder = await s.k(['get', 'lease', 'kube-scheduler', '-n', 'kube-system', '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.ok(holder.trim().length > 0, 'the kube-scheduler lease has a holder');
  });

  test('SIGTERM stops the server with its scheduler thread promptly', async () => {
    const t0 = Date.now();
    await s.stop();
    assert.equal(s.proc.exitCode, 0, s.logs().slice(-2000));
    assert.ok(Date.now() - t0 < 10_000, `stopping took ${Date.now() - t0} ms`);
  });
});

describe('rudder server --disable-scheduler', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controller-manager', '--disable-scheduler'] });
    await s.k(['create', 'serviceaccount', 'default']);
  });
  after(async () => {
    await s?.stop();
  });

  test('leaves pods unbound and takes no kube-scheduler lease', async () => {
    await s.k(['create', '-f', '-'], { input: NODE('n1') });
    await s.k(['create', '-f', '-'], { input: POD('idle') });
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await s.k(['get', 'pod', 'idle', '-o', 'jsonpath={.spec.nodeName}'])).trim(), '');
    const r = await s.kubectl(['get', 'lease', 'kube-scheduler', '-n', 'kube-system']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound|not found/);
  });
});

test('rudder server refuses to start with an invalid --scheduler-config, naming the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rudder-schedcfg-'));
  try {
    const file = join(dir, 'sched.yaml');
    writeFileSync(file, 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  plugins:\n    filter:\n      enabled:\n      - weight: 1\n');
    await assert.rejects(startServer({ extraArgs: ['--disable-controller-manager', '--scheduler-config', file] }), /exited with [1-9][\s\S]*profiles\[0\]\.plugins\.filter\.enabled\[0\]\.name: Required value/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
