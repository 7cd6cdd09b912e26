// Volume contents on disk: the atomic writer's layout and swaps, payloads, and the volume manager's
// plugins (with a mounter that records tmpfs mounts instead of making them).
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod, Secret } from '../api-types.ts';
import { writeAtomic, type Payload } from './atomic-writer.ts';
import { NoTmpfsMounter } from './mounter.ts';
import { configMapPayload, downwardApiPayload, secretPayload, VolumeSetupError } from './payload.ts';
import { VolumeManager, VolumeMountError } from './volume-manager.ts';

const file = (s: string, mode = 0o644) => ({ data: Buffer.from(s), mode });

describe('atomic writer', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'rudder-aw-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes files behind a ..data symlink with user-visible links, and swaps them in one step', async () => {
    const d = join(dir, 'v1');
    assert.equal(await writeAtomic(d, new Map([['a', file('1')], ['sub/b', file('2', 0o600)]])), true);
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), '1');
    assert.equal(readFileSync(join(d, 'sub', 'b'), 'utf8'), '2');
    assert.equal(readlinkSync(join(d, 'a')), '..data/a');
    const first = readlinkSync(join(d, '..data'));
    assert.match(first, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$/);
    assert.equal(statSync(join(d, 'sub', 'b')).mode & 0o777, 0o600);
    assert.equal(await writeAtomic(d, new Map([['a', file('1')], ['sub/b', file('2', 0o600)]])), false, 'same content: nothing written');
    assert.equal(await writeAtomic(d, new Map([['a', file('changed')]])), true);
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'changed');
    assert.ok(!existsSync(join(d, 'sub')), 'a key that went away is removed');
    assert.notEqual(readlinkSync(join(d, '..data')), first);
    assert.ok(!existsSync(join(d, first)), 'the old timestamped directory is gone');
    assert.deepEqual(readdirSync(d).sort(), ['..data', readlinkSync(join(d, '..data')), 'a'].sort());
  });

  it('refuses paths that escape the volume', async () => {
    await assert.rejects(writeAtomic(join(dir, 'v2'), new Map([['../x', file('1')]])), /must not contain '\.\.'/);
    await assert.rejects(writeAtomic(join(dir, 'v2'), new Map([['/etc/x', file('1')]])), /must be relative path/);
  });
});

describe('payloads', () => {
  const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: 'x', b: 'y' }, binaryData: { bin: Buffer.from([0, 1]).toString('base64') } };
  const sec: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: Buffer.from('v').toString('base64') } };
  const keys = (p: Payload) => [...p].map(([k, v]) => [k, v.data.toString('base64'), v.mode.toString(8)]);

  it('projects every key with the default mode, or only the listed items at their paths', () => {
    assert.deepEqual(keys(configMapPayload(cm, 'cm', undefined, undefined, false)), [['a', 'eA==', '644'], ['b', 'eQ==', '644'], ['bin', 'AAE=', '644']]);
    assert.deepEqual(keys(configMapPayload(cm, 'cm', [{ key: 'a', path: 'dir/a.txt', mode: 0o400 }], 0o600, false)), [['dir/a.txt', 'eA==', '400']]);
    assert.deepEqual(keys(secretPayload(sec, 's', undefined, 0o400, false)), [['k', 'dg==', '400']]);
  });

  it('fails for a missing object or key unless optional', () => {
    assert.throws(() => configMapPayload(undefined, 'gone', undefined, undefined, false), (e) => e instanceof VolumeSetupError && e.message === 'configmap "gone" not found');
    assert.deepEqual(keys(configMapPayload(undefined, 'gone', undefined, undefined, true)), []);
    assert.throws(() => configMapPayload(cm, 'cm', [{ key: 'zz', path: 'zz' }], undefined, false), /configmap references non-existent config key: zz/);
    assert.throws(() => secretPayload(sec, 's', [{ key: 'zz', path: 'zz' }], undefined, false), /references non-existent secret key: zz/);
  });

  it('downwardAPI writes fields and resources', () => {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n', labels: { b: '2', a: '1' } }, spec: { containers: [{ name: 'c', resources: { limits: { memory: '64Mi' } } }] } };
    const p = downwardApiPayload(pod, [
      { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
      { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
      { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } },
    ], undefined, {});
    assert.equal(p.get('labels')!.data.toString(), 'a="1"\nb="2"');
    assert.equal(p.get('name')!.data.toString(), 'p');
    assert.equal(p.get('mem')!.data.toString(), '64');
  });
});

describe('volume manager', () => {
  let dir: string;
  const mounter = new NoTmpfsMounter();
  const objects = {
    cm: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns' }, data: { k: 'v' } } as ConfigMap,
    sec: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'ns' }, data: { pw: Buffer.from('pw').toString('base64') } } as Secret,
    pvc: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'claim', namespace: 'ns' }, spec: { volumeName: 'pv-1' }, status: { phase: 'Bound' } } as PersistentVolumeClaim,
  };
  let pv: PersistentVolume;
  let vm: VolumeManager;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rudder-vm-'));
    pv = { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv-1' }, spec: { hostPath: { path: join(dir, 'storage', 'pvc-1'), type: 'DirectoryOrCreate' } } };
    vm = new VolumeManager({
      rootDir: join(dir, 'kubelet'),
      mode: 'host',
      mounter,
      sources: {
        configMap: async (_ns, n) => (n === 'cm' ? objects.cm : undefined),
        secret: async (_ns, n) => (n === 'sec' ? objects.sec : undefined),
        pvc: async (_ns, n) => (n === 'claim' ? objects.pvc : undefined),
        pv: async (n) => (n === 'pv-1' ? pv : undefined),
      },
      nodeAllocatable: () => ({ memory: '1Gi' }),
      now: () => Date.now(),
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const pod = (volumes: Pod['spec']['volumes'], uid = 'u1'): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', uid }, spec: { containers: [{ name: 'c' }], volumes } });

  it('sets up emptyDir, configMap, secret (on tmpfs), hostPath and a hostPath PV, at upstream\'s paths', async () => {
    const hp = join(dir, 'host', 'data');
    const r = await vm.setUpPod(pod([
      { name: 'scratch', emptyDir: {} },
      { name: 'mem', emptyDir: { medium: 'Memory' } },
      { name: 'conf', configMap: { name: 'cm' } },
      { name: 'creds', secret: { secretName: 'sec' } },
      { name: 'host', hostPath: { path: hp, type: 'DirectoryOrCreate' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'claim' } },
    ]));
    const base = join(dir, 'kubelet', 'pods', 'u1', 'volumes');
    assert.deepEqual(Object.fromEntries([...r.volumes].map(([k, v]) => [k, [v.path, v.readOnly]])), {
      scratch: [join(base, 'kubernetes.io~empty-dir', 'scratch'), false],
      mem: [join(base, 'kubernetes.io~empty-dir', 'mem'), false],
      conf: [join(base, 'kubernetes.io~configmap', 'conf'), true],
      creds: [join(base, 'kubernetes.io~secret', 'creds'), true],
      host: [hp, false],
      data: [join(dir, 'storage', 'pvc-1'), false],
    });
    assert.equal(statSync(join(base, 'kubernetes.io~empty-dir', 'scratch')).mode & 0o777, 0o777);
    assert.equal(readFileSync(join(base, 'kubernetes.io~configmap', 'conf', 'k'), 'utf8'), 'v');
    assert.equal(readFileSync(join(base, 'kubernetes.io~secret', 'creds', 'pw'), 'utf8'), 'pw');
    assert.ok(statSync(hp).isDirectory(), 'DirectoryOrCreate made the directory');
    assert.ok(statSync(join(dir, 'storage', 'pvc-1')).isDirectory(), 'the PV directory was made');
    assert.ok(mounter.mounted.has(join(base, 'kubernetes.io~secret', 'creds')), 'the secret volume is memory-backed');
    assert.ok(mounter.mounted.has(join(base, 'kubernetes.io~empty-dir', 'mem')));
    assert.ok(!mounter.mounted.has(join(base, 'kubernetes.io~configmap', 'conf')));
    await vm.tearDownPod('u1');
    assert.ok(!existsSync(join(dir, 'kubelet', 'pods', 'u1')));
    assert.equal(mounter.mounted.size, 0, 'everything unmounted');
    assert.ok(existsSync(hp), 'host paths are left alone');
  });

  it('names every volume that cannot be set up', async () => {
    writeFileSync(join(dir, 'afile'), '');
    await assert.rejects(vm.setUpPod(pod([
      { name: 'a', configMap: { name: 'missing' } },
      { name: 'b', hostPath: { path: join(dir, 'afile'), type: 'Directory' } },
      { name: 'c', persistentVolumeClaim: { claimName: 'nope' } },
      { name: 'd', configMap: { name: 'maybe', optional: true } },
    ], 'u2')), (e) => {
      assert.ok(e instanceof VolumeMountError);
      assert.deepEqual(e.failures, [
        { volume: 'a', message: 'configmap "missing" not found' },
        { volume: 'b', message: `hostPath type check failed: ${join(dir, 'afile')} is not a directory` },
        { volume: 'c', message: 'persistentvolumeclaim "nope" not found' },
      ]);
      return true;
    });
  });

  it('refreshes configMap contents in place', async () => {
    const p = pod([{ name: 'conf', configMap: { name: 'cm' } }], 'u3');
    await vm.setUpPod(p);
    const f = join(dir, 'kubelet', 'pods', 'u3', 'volumes', 'kubernetes.io~configmap', 'conf', 'k');
    assert.equal(readFileSync(f, 'utf8'), 'v');
    objects.cm = { ...objects.cm, data: { k: 'v2' } };
    await vm.setUpPod(p);
    assert.equal(readFileSync(f, 'utf8'), 'v2');
    assert.ok(lstatSync(f).isSymbolicLink());
  });
});
