// The kubelet with a real containerd (as root). Network safety (DESIGN.md §8): the whole cluster of
// this test — API server, kubelet and containerd — runs inside a network namespace the test creates,
// with only loopback and the pods' bridge. The file runs twice: the outer run (in the machine's
// namespace) starts containerd in a fresh namespace (testenv.ts) and runs this same file again under
// `nsenter --net=<that namespace>`; the inner run is the actual test, where probes and the test's own
// requests reach pod IPs over the bridge. The outer run removes everything afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KObject } from '../api/meta.ts';
import { StatusError } from '../api/errors.ts';
import { Client } from '../client/client.ts';
import type { CoreEvent } from '../client/events.ts';
import type { ApiServer } from '../apiserver/server.ts';
import { startTestApiServer } from '../apiserver/testing.ts';
import type { ContainerStatus, Pod } from './api-types.ts';
import { startKubelet, type Kubelet } from './kubelet.ts';
import { CriRuntime } from './runtime/cri-runtime.ts';
import { startTestNode, TEST_IMAGES, type TestNode } from './runtime/testenv.ts';

const ENV = 'RUDDER_KUBELET_TEST_NODE';
const NODE = 'real-node';
const self = fileURLToPath(import.meta.url);

interface Inner {
  endpoint: string;
  dir: string;
  podCidr: string;
  cgroupRoot: string;
}

if (!process.env[ENV]) {
  describe('kubelet on containerd (in a private network namespace)', () => {
    let node: TestNode;
    before(async () => {
      node = await startTestNode({ podCidr: '10.244.7.0/24' });
    });
    after(async () => {
      await node?.cleanup();
    });

    it('runs the real-runtime scenarios inside the node\'s network namespace', async () => {
      const inner: Inner = { endpoint: node.endpoint, dir: node.dir, podCidr: node.podCidr, cgroupRoot: node.cgroupRoot };
      const root = fileURLToPath(new URL('../..', import.meta.url));
      // The inner run is a test run of its own, not a subtest of this one.
      const env: NodeJS.ProcessEnv = { ...process.env, [ENV]: JSON.stringify(inner) };
      delete env.NODE_TEST_CONTEXT;
      const child = spawn('nsenter', [`--net=${node.netnsPath}`, process.execPath, '--test', '--test-reporter=spec', self], {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      if (process.env.KUBELET_TEST_LOG) console.log(out);
      assert.equal(code, 0, `the inner run failed:\n${out}`);
      assert.match(out, /pass [1-9]/);
    });
  });
} else {
  const inner = JSON.parse(process.env[ENV]!) as Inner;

  const until = async <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await f();
        if (v !== undefined && v !== false) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  describe('kubelet on containerd', () => {
    let api: { server: ApiServer; stop(): Promise<void> };
    let admin: Client;
    let runtime: CriRuntime;
    let kubelet: Kubelet;
    const pods = () => admin.resource<Pod>('', 'pods').namespace('default');
    const getPod = (n: string) => pods().get(n);
    const status = async (n: string, c = 'c'): Promise<ContainerStatus | undefined> => (await getPod(n)).status?.containerStatuses?.find((s) => s.name === c);
    const events = async (n: string) => (await admin.resource<CoreEvent>('', 'events').namespace('default').list({ fieldSelector: `involvedObject.name=${n}` })).items;
    const cid = (s: ContainerStatus | undefined) => (s?.containerID ?? '').replace('containerd://', '');
    const exec = async (s: ContainerStatus | undefined, cmd: string[]) => (await runtime.execSync(cid(s), cmd, 10)).stdout.toString();
    const gateway = inner.podCidr.replace(/\.0\/\d+$/, '.1');
    const startK = async (): Promise<Kubelet> => {
      const k = await startKubelet(
        {
          nodeName: NODE,
          nodeIP: gateway,
          clusterDNS: ['10.43.0.10'],
          resolvConf: '',
          rootDir: join(inner.dir, 'kubelet'),
          podLogsDir: join(inner.dir, 'pods'),
          cgroupRoot: inner.cgroupRoot,
          relistPeriodMs: 250,
          nodeStatusUpdateFrequencyMs: 1000,
        },
        { client: new Client(api.server.localTransport({ name: `system:node:${NODE}`, groups: ['system:nodes', 'system:authenticated'] }, 'kubelet')), runtime, log: (m) => process.env.KUBELET_TEST_LOG && console.error(m) },
      );
      await k.ready();
      return k;
    };

    before(async () => {
      api = await startTestApiServer();
      admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
      await admin.resource('', 'serviceaccounts').namespace('default').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } as KObject);
      await admin.resource('', 'configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'test CA\n' } } as KObject);
      runtime = new CriRuntime(inner.endpoint);
      kubelet = await startK();
    });

    after(async () => {
      // Delete what is left so the kubelet unmounts its tmpfs volumes; the outer run removes the rest.
      try {
        for (const p of (await pods().list()).items) await pods().delete(p.metadata.name!, { gracePeriodSeconds: 1 }).catch(() => undefined);
        await until('pods gone', async () => (await pods().list()).items.length === 0, 30_000).catch(() => undefined);
      } finally {
        await kubelet?.stop();
        await runtime?.close();
        await api?.stop();
      }
    });

    const server = (name: string, extra: Partial<Pod['spec']> = {}): Pod => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
      spec: {
        nodeName: NODE,
        terminationGracePeriodSeconds: 5,
        containers: [{
          name: 'c', image: TEST_IMAGES.testserver, imagePullPolicy: 'IfNotPresent', args: ['serve', '--http-port', '8080'],
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
        }],
        ...extra,
      },
    });

    it('runs a test server that becomes Ready through its HTTP readiness probe, with config and secret inside', async () => {
      await admin.resource('', 'configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { greeting: 'hello from a configmap' } } as KObject);
      await admin.resource('', 'secrets').namespace('default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app' }, data: { password: Buffer.from('s3cret').toString('base64') } } as KObject);
      const p = server('web');
      p.spec.volumes = [{ name: 'conf', configMap: { name: 'app' } }, { name: 'sec', secret: { secretName: 'app' } }];
      const c = p.spec.containers[0];
      c.env = [{ name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app', key: 'greeting' } } }, { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app', key: 'password' } } }];
      c.volumeMounts = [{ name: 'conf', mountPath: '/etc/conf' }, { name: 'sec', mountPath: '/etc/sec' }];
      await pods().create(p);
      const ready = await until('web Ready', async () => {
        const x = await getPod('web');
        return x.status?.conditions?.find((k) => k.type === 'Ready')?.status === 'True' ? x : undefined;
      });
      const s = ready.status!.containerStatuses![0];
      assert.match(s.containerID!, /^containerd:\/\/[0-9a-f]{64}$/);
      assert.equal(s.image, TEST_IMAGES.testserver);
      assert.match(ready.status!.podIP!, /^10\.244\.7\.\d+$/);
      assert.equal(await exec(s, ['cat', '/etc/conf/greeting']), 'hello from a configmap');
      assert.equal(await exec(s, ['cat', '/etc/sec/password']), 's3cret');
      assert.equal(await exec(s, ['sh', '-c', 'echo "$GREETING|$PASSWORD|$KUBERNETES_SERVICE_HOST"']), 'hello from a configmap|s3cret|10.43.0.1\n');
      assert.match(await exec(s, ['sh', '-c', 'grep " /etc/sec " /proc/mounts']), /^tmpfs \/etc\/sec tmpfs ro/, 'the secret is on tmpfs, read-only');
      assert.match(await exec(s, ['cat', '/etc/hosts']), new RegExp(`^${ready.status!.podIP}\\tweb$`, 'm'));
      assert.match(await exec(s, ['cat', '/etc/resolv.conf']), /nameserver 10\.43\.0\.10/);
      const token = await exec(s, ['cat', '/var/run/secrets/kubernetes.io/serviceaccount/token']);
      assert.equal(token.split('.').length, 3, 'the service account token is projected');
      // On the node, the secret volume is a tmpfs mount of its own.
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
      const secretDir = join(inner.dir, 'kubelet', 'pods', ready.metadata.uid!, 'volumes', 'kubernetes.io~secret', 'sec');
      assert.ok(mounts.split('\n').some((l) => l.split(' ')[4] === secretDir && l.includes(' - tmpfs ')), 'the node keeps the secret on tmpfs');
      const evs = await until('the Started event', async () => {
        const e = await events('web');
        return e.some((x) => x.reason === 'Started') ? e : undefined;
      });
      assert.ok(evs.some((e) => e.reason === 'Pulled' && e.message === `Container image "${TEST_IMAGES.testserver}" already present on machine`));
      assert.ok(evs.some((e) => e.reason === 'Started' && e.message === 'Started container c'));
    });

    it('takes a pod out of Ready when its readiness probe fails, and restarts it when liveness fails', async () => {
      const p = await getPod('web');
      const ip = p.status!.podIP!;
      const before = p.status!.containerStatuses![0];
      assert.equal((await fetch(`http://${ip}:8080/set?ready=0`)).status, 200);
      await until('web not Ready', async () => (await getPod('web')).status?.conditions?.find((k) => k.type === 'Ready')?.status === 'False');
      assert.equal((await fetch(`http://${ip}:8080/set?live=0`)).status, 200);
      const after = await until('web restarted', async () => {
        const s = await status('web');
        return (s?.restartCount ?? 0) >= 1 && s?.state?.running ? s : undefined;
      });
      assert.notEqual(after.containerID, before.containerID);
      assert.ok(after.lastState?.terminated, 'the killed instance is the last state');
      const evs = await until('the Killing event', async () => {
        const e = await events('web');
        return e.some((x) => x.reason === 'Killing') ? e : undefined;
      });
      assert.ok(evs.some((e) => e.reason === 'Unhealthy' && e.message === 'Liveness probe failed: HTTP probe failed with statuscode: 500'), evs.map((e) => `${e.reason}: ${e.message}`).join('\n'));
      assert.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container c failed liveness probe, will be restarted'));
      // the new instance is live and ready again
      await until('web Ready again', async () => (await getPod('web')).status?.conditions?.find((k) => k.type === 'Ready')?.status === 'True');
    });

    it('adopts running containers after a kubelet restart: same container, same restart count, volumes left mounted', async () => {
      const before = await until('web Ready', async () => {
        const x = await getPod('web');
        return x.status?.conditions?.find((k) => k.type === 'Ready')?.status === 'True' ? x : undefined;
      });
      const s0 = before.status!.containerStatuses![0];
      const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(before.metadata.uid!)).length;
      await kubelet.stop();
      kubelet = await startK();
      await new Promise((r) => setTimeout(r, 2000));
      await kubelet.idle();
      const after = await getPod('web');
      const s1 = after.status!.containerStatuses![0];
      assert.equal(s1.containerID, s0.containerID);
      assert.equal(s1.restartCount, s0.restartCount);
      assert.ok(s1.state?.running);
      assert.equal(after.status?.conditions?.find((k) => k.type === 'Ready')?.status, 'True');
      assert.equal((await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.uid': before.metadata.uid! } })).filter((c) => c.state === 'CONTAINER_RUNNING').length, 1);
      assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(before.metadata.uid!)).length, mountsBefore, 'no volume mounted twice');
      assert.equal(await exec(s1, ['cat', '/etc/sec/password']), 's3cret');
    });

    it('reports an OOM-killed container as OOMKilled', async () => {
      await pods().create({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hog', namespace: 'default' },
        spec: { nodeName: NODE, restartPolicy: 'Never', containers: [{ name: 'c', image: TEST_IMAGES.testserver, imagePullPolicy: 'IfNotPresent', args: ['alloc', '128'], resources: { limits: { memory: '32Mi' } } }] },
      });
      const s = await until('hog terminated', async () => {
        const x = await status('hog');
        return x?.state?.terminated ? x : undefined;
      });
      assert.equal(s.state!.terminated!.reason, 'OOMKilled');
      assert.equal(s.state!.terminated!.exitCode, 137);
      await until('hog Failed', async () => (await getPod('hog')).status?.phase === 'Failed');
    });

    it('runs a Job-style pod that exits 1, then 0 under OnFailure, and reports its termination message', async () => {
      await pods().create({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job', namespace: 'default' },
        spec: {
          nodeName: NODE, restartPolicy: 'OnFailure', volumes: [{ name: 'state', emptyDir: {} }],
          containers: [{
            name: 'c', image: TEST_IMAGES.busybox, imagePullPolicy: 'IfNotPresent', volumeMounts: [{ name: 'state', mountPath: '/state' }],
            terminationMessagePath: '/dev/termination-log',
            command: ['sh', '-c', 'if [ -f /state/ran ]; then echo second try worked > /dev/termination-log; exit 0; fi; touch /state/ran; exit 1'],
          }],
        },
      });
      const done = await until('job Succeeded', async () => {
        const x = await getPod('job');
        return x.status?.phase === 'Succeeded' ? x : undefined;
      });
      const s = done.status!.containerStatuses![0];
      assert.equal(s.restartCount, 1);
      assert.equal(s.state?.terminated?.exitCode, 0);
      assert.equal(s.state?.terminated?.reason, 'Completed');
      assert.equal(s.state?.terminated?.message, 'second try worked\n');
      assert.equal(s.lastState?.terminated?.exitCode, 1);
    });

    it('stops a deleted pod gracefully, unmounts its volumes and removes it', async () => {
      const p = await getPod('web');
      const uid = p.metadata.uid!;
      await pods().delete('web');
      await until('web gone', async () => {
        try {
          await getPod('web');
          return false;
        } catch (e) {
          return e instanceof StatusError && e.code === 404;
        }
      });
      const secretDir = join(inner.dir, 'kubelet', 'pods', uid, 'volumes', 'kubernetes.io~secret', 'sec');
      await until('the secret tmpfs unmounted', async () => !readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === secretDir));
      await until('containers removed', async () => (await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.uid': uid } })).length === 0);
      await until('the Killing event', async () => (await events('web')).some((e) => e.reason === 'Killing' && e.message === 'Stopping container c'));
    });
  });
}
