// The kubelet against an in-process API server with the simulated runtime: what a user sees through
// the API (Node, Lease, pod status, events) when pods are bound to the node.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApiServer } from '../apiserver/testing.ts';
import type { ApiServer } from '../apiserver/server.ts';
import { StatusError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import { Client } from '../client/client.ts';
import type { CoreEvent } from '../client/events.ts';
import type { ContainerStatus, Node, Pod } from './api-types.ts';
import { startKubelet, type Kubelet } from './kubelet.ts';
import { SimulatedRuntime } from './runtime/simulated.ts';
import { NoTmpfsMounter } from './volumes/mounter.ts';

const NODE = 'node-a';

async function until<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
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
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pod(name: string, spec: Partial<Pod['spec']> & { containers: Pod['spec']['containers'] }, meta: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...meta },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 2, ...spec },
  };
}

const busybox = 'docker.io/library/busybox:1.36';

describe('kubelet with the simulated runtime', () => {
  let api: { server: ApiServer; stop(): Promise<void> };
  let admin: Client;
  let nodeClient: Client;
  let runtime: SimulatedRuntime;
  let kubelet: Kubelet;
  let dir: string;
  const podCidrs: string[] = [];
  const pods = () => admin.resource<Pod>('', 'pods').namespace('default');

  const start = async (): Promise<Kubelet> => {
    const k = await startKubelet(
      {
        nodeName: NODE,
        nodeIP: '192.0.2.10',
        clusterDNS: ['10.43.0.10'],
        resolvConf: '',
        rootDir: join(dir, 'kubelet'),
        podLogsDir: join(dir, 'logs'),
        cgroupRoot: '/rudder-test',
        podStartupTrace: join(dir, 'startup-trace.jsonl'),
        relistPeriodMs: 100,
        nodeStatusUpdateFrequencyMs: 500,
        syncFrequencyMs: 5_000,
        machine: { cpus: 4, memoryBytes: 8n * 1024n ** 3n, ephemeralStorageBytes: 100n * 1024n ** 3n },
      },
      { client: nodeClient, runtime, mounter: new NoTmpfsMounter(), setPodCidr: (c) => podCidrs.push(c), log: (m) => process.env.KUBELET_TEST_LOG && console.error(m) },
    );
    await k.ready();
    return k;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rudder-kubelet-'));
    api = await startTestApiServer();
    admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'test'));
    nodeClient = new Client(api.server.localTransport({ name: `system:node:${NODE}`, groups: ['system:nodes', 'system:authenticated'] }, 'kubelet'));
    // What the controller-manager would make: the default ServiceAccount and the root CA ConfigMap
    // its kube-api-access volume projects.
    await admin.resource('', 'serviceaccounts').namespace('default').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } as KObject);
    await admin.resource('', 'configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'test CA\n' } } as KObject);
    runtime = new SimulatedRuntime({ podCidr: '10.88.0.0/24', images: ['registry.k8s.io/pause:3.10', busybox], pullable: (i) => !i.includes('missing') });
    kubelet = await start();
  });

  after(async () => {
    await kubelet?.stop();
    await runtime?.close();
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const getPod = (name: string) => pods().get(name);
  const status = async (name: string, c = 'c'): Promise<ContainerStatus | undefined> => (await getPod(name)).status?.containerStatuses?.find((s) => s.name === c);
  const eventsFor = async (name: string): Promise<CoreEvent[]> =>
    (await admin.resource<CoreEvent>('', 'events').namespace('default').list({ fieldSelector: `involvedObject.name=${name}` })).items;

  it('registers the node with capacity, addresses, nodeInfo and a Ready condition, and keeps a Lease', async () => {
    const node = await until('the node', async () => {
      const n = await admin.resource<Node>('', 'nodes').get(NODE);
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    });
    assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], NODE);
    assert.equal(node.metadata.labels?.['kubernetes.io/os'], 'linux');
    assert.ok(node.metadata.labels?.['beta.kubernetes.io/arch']);
    assert.equal(node.status?.capacity?.cpu, '4');
    assert.equal(node.status?.capacity?.pods, '110');
    assert.equal(node.status?.capacity?.memory, '8Gi');
    // allocatable memory is capacity minus the 100Mi hard eviction threshold
    assert.equal(node.status?.allocatable?.memory, `${8 * 1024 - 100}Mi`);
    assert.equal(node.status?.capacity?.['ephemeral-storage'], '100Gi');
    assert.equal(node.status?.allocatable?.['ephemeral-storage'], String(90n * 1024n ** 3n));
    assert.deepEqual(node.status?.addresses, [{ type: 'InternalIP', address: '192.0.2.10' }, { type: 'Hostname', address: NODE }]);
    assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v1.33.0');
    assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'simulated://0.1.0');
    assert.deepEqual(node.status?.conditions?.map((c) => [c.type, c.status, c.reason]), [
      ['MemoryPressure', 'False', 'KubeletHasSufficientMemory'],
      ['DiskPressure', 'False', 'KubeletHasNoDiskPressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
      ['Ready', 'True', 'KubeletReady'],
    ]);
    assert.ok(node.status?.images?.some((i) => i.names?.includes(busybox)));
    const lease = await admin.resource('coordination.k8s.io', 'leases').namespace('kube-node-lease').get(NODE);
    assert.equal((lease.spec as { holderIdentity: string }).holderIdentity, NODE);
    assert.equal((lease.spec as { leaseDurationSeconds: number }).leaseDurationSeconds, 40);
  });

  it('runs a pod bound to the node and reports it Running and Ready, with upstream\'s events', async () => {
    await pods().create(pod('web', { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }] }));
    const p = await until('web Ready', async () => {
      const x = await getPod('web');
      return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? x : undefined;
    });
    const s = p.status!;
    assert.equal(s.phase, 'Running');
    assert.equal(s.hostIP, '192.0.2.10');
    assert.match(s.podIP ?? '', /^10\.88\.0\.\d+$/);
    assert.deepEqual(s.podIPs, [{ ip: s.podIP }]);
    assert.equal(s.qosClass, 'BestEffort');
    assert.ok(s.startTime);
    // --pod-startup-trace: the pod's stages reach the file, in the order the pod passed them
    const stages = await until('web traced', async () => {
      const lines = existsSync(join(dir, 'startup-trace.jsonl')) ? readFileSync(join(dir, 'startup-trace.jsonl'), 'utf8').trim().split('\n') : [];
      const mine = lines.map((l) => JSON.parse(l) as { pod: string; stage: string }).filter((l) => l.pod === 'default/web').map((l) => l.stage);
      return mine.includes('status-written') ? mine : undefined;
    });
    for (const st of ['informer', 'sync', 'sandbox-request', 'sandbox-ready', 'create-request', 'start-done', 'status-sent']) assert.ok(stages.includes(st), `${st} in ${stages.join(' ')}`);
    assert.ok(stages.indexOf('sandbox-request') < stages.indexOf('start-done'));
    assert.deepEqual(s.conditions?.map((c) => [c.type, c.status]), [
      ['PodReadyToStartContainers', 'True'],
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
    ]);
    const cs = s.containerStatuses![0];
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state?.running?.startedAt);
    assert.match(cs.containerID ?? '', /^simulated:\/\/[0-9a-f]{64}$/);
    assert.equal(cs.image, busybox);
    assert.match(cs.imageID, /^sha256:/);
    const evs = await until('Started event', async () => {
      const e = await eventsFor('web');
      return e.some((x) => x.reason === 'Started') ? e : undefined;
    });
    const byReason = Object.fromEntries(evs.map((e) => [e.reason, e]));
    assert.equal(byReason.Pulled.message, `Container image "${busybox}" already present on machine`);
    assert.equal(byReason.Created.message, 'Created container: c');
    assert.equal(byReason.Started.message, 'Started container c');
    assert.equal(byReason.Started.involvedObject.fieldPath, 'spec.containers{c}');
    assert.deepEqual(byReason.Started.source, { component: 'kubelet', host: NODE });
    // What the streaming server asks the kubelet.
    assert.equal(kubelet.pod('default', 'web')?.status?.containerStatuses?.[0].containerID, cs.containerID);
    assert.ok(kubelet.pods().some((x) => x.metadata.name === 'web'));
    assert.equal(`simulated://${await kubelet.containerId('default', 'web', 'c')}`, cs.containerID);
    assert.equal(await kubelet.logPath('default', 'web', 'c'), join(dir, 'logs', `default_web_${p.metadata.uid}`, 'c', '0.log'));
    assert.match((await kubelet.sandboxId('default', 'web')) ?? '', /^[0-9a-f]{64}$/);
    assert.equal(kubelet.pod('default', 'nope'), undefined);
    // Once settled, the kubelet leaves the pod alone: no status written again and again.
    await kubelet.idle();
    const rv = (await getPod('web')).metadata.resourceVersion;
    await new Promise((r) => setTimeout(r, 1500));
    await kubelet.idle();
    assert.equal((await getPod('web')).metadata.resourceVersion, rv, 'the status is not rewritten while nothing changes');
  });

  it("asks the runtime for a new pod's sandbox first, without listing what it already knows the runtime lacks", async () => {
    // The runtime's calls about one pod, in order (by the pod uid of list filters and sandbox configs).
    const calls: [string, string | undefined][] = [];
    const rt = runtime as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const saved = { runPodSandbox: rt.runPodSandbox, listPodSandboxes: rt.listPodSandboxes, listContainers: rt.listContainers };
    const uidOf = (f: unknown) => (f as { label_selector?: Record<string, string> } | undefined)?.label_selector?.['io.kubernetes.pod.uid'];
    const record = (name: string, uidOfArgs: (a: unknown[]) => string | undefined) =>
      function (this: unknown, ...a: unknown[]) {
        calls.push([name, uidOfArgs(a)]);
        return saved[name as keyof typeof saved].apply(this, a);
      };
    rt.runPodSandbox = record('runPodSandbox', (a) => (a[0] as { metadata: { uid: string } }).metadata.uid);
    rt.listPodSandboxes = record('listPodSandboxes', (a) => uidOf(a[0]));
    rt.listContainers = record('listContainers', (a) => uidOf(a[0]));
    try {
      const uid = (await pods().create(pod('fresh', { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }] }))).metadata.uid!;
      await until('fresh Running', async () => (await getPod('fresh')).status?.phase === 'Running');
      const mine = calls.filter(([, u]) => u === uid).map(([n]) => n);
      assert.equal(mine[0], 'runPodSandbox', `the first runtime call about the pod: ${mine.join(', ')}`);
      assert.equal(mine.filter((c) => c === 'runPodSandbox').length, 1);
    } finally {
      Object.assign(rt, saved);
    }
  });

  it('restarts a failing container with back-off and reports CrashLoopBackOff', async () => {
    await pods().create(pod('crash', { containers: [{ name: 'c', image: busybox, command: ['sh', '-c', 'echo dying; exit 1'] }] }));
    const s = await until('CrashLoopBackOff', async () => {
      const x = await status('crash');
      return x?.state?.waiting?.reason === 'CrashLoopBackOff' ? x : undefined;
    });
    assert.match(s.state!.waiting!.message!, /^back-off 10s restarting failed container=c pod=crash_default\([0-9a-f-]+\)$/);
    assert.equal(s.restartCount, 1);
    assert.equal(s.lastState?.terminated?.exitCode, 1);
    assert.equal(s.lastState?.terminated?.reason, 'Error');
    assert.equal(s.ready, false);
    assert.equal((await getPod('crash')).status?.phase, 'Running');
    const evs = await until('BackOff event', async () => {
      const e = await eventsFor('crash');
      return e.find((x) => x.reason === 'BackOff');
    });
    assert.match(evs.message, /^Back-off restarting failed container c in pod crash_default\(/);
    assert.equal(evs.type, 'Warning');
  });

  it('leaves a container that succeeded under OnFailure alone and marks the pod Succeeded; Never with a failure is Failed', async () => {
    await pods().create(pod('job-ok', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: busybox, command: ['sh', '-c', 'exit 0'] }] }));
    await pods().create(pod('job-bad', { restartPolicy: 'Never', containers: [{ name: 'c', image: busybox, command: ['sh', '-c', 'exit 3'] }] }));
    const ok = await until('job-ok Succeeded', async () => {
      const x = await getPod('job-ok');
      return x.status?.phase === 'Succeeded' ? x : undefined;
    });
    assert.equal(ok.status?.containerStatuses?.[0].state?.terminated?.reason, 'Completed');
    assert.equal(ok.status?.containerStatuses?.[0].restartCount, 0);
    assert.deepEqual(ok.status?.conditions?.filter((c) => c.type === 'Ready').map((c) => [c.status, c.reason]), [['False', 'PodCompleted']]);
    const bad = await until('job-bad Failed', async () => {
      const x = await getPod('job-bad');
      return x.status?.phase === 'Failed' ? x : undefined;
    });
    assert.equal(bad.status?.containerStatuses?.[0].state?.terminated?.exitCode, 3);
    assert.equal(bad.status?.containerStatuses?.[0].restartCount, 0);
  });

  it('restarts an OnFailure container that failed', async () => {
    await pods().create(pod('job-retry', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: busybox, command: ['sh', '-c', 'exit 1'] }] }));
    const s = await until('a restart', async () => {
      const x = await status('job-retry');
      return (x?.restartCount ?? 0) >= 1 ? x : undefined;
    });
    assert.equal(s.lastState?.terminated?.exitCode, 1);
    assert.equal((await getPod('job-retry')).status?.phase, 'Running');
  });

  it('runs init containers in order before the containers', async () => {
    await pods().create(pod('init', {
      initContainers: [
        { name: 'i1', image: busybox, command: ['sh', '-c', 'exit 0'] },
        { name: 'i2', image: busybox, command: ['sh', '-c', 'exit 0'] },
      ],
      containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }],
    }));
    const p = await until('init Running', async () => {
      const x = await getPod('init');
      return x.status?.phase === 'Running' && x.status.containerStatuses?.[0].state?.running ? x : undefined;
    });
    assert.deepEqual(p.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.reason, s.ready]), [['i1', 'Completed', true], ['i2', 'Completed', true]]);
    assert.equal(p.status?.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
    // i2 was created after i1 finished
    const c1 = await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.name': 'init', 'io.kubernetes.container.name': 'i1' } });
    const c2 = await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.name': 'init', 'io.kubernetes.container.name': 'i2' } });
    assert.ok(BigInt(c2[0].created_at) >= BigInt(c1[0].created_at));
  });

  it('runs a sidecar before the containers and stops it last', async () => {
    await pods().create(pod('sidecar', {
      initContainers: [{ name: 'proxy', image: busybox, restartPolicy: 'Always', command: ['sleep', '3600'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }],
      containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }],
    }));
    const p = await until('sidecar pod Ready', async () => {
      const x = await getPod('sidecar');
      return x.status?.conditions?.find((k) => k.type === 'Ready')?.status === 'True' ? x : undefined;
    });
    const proxy = p.status!.initContainerStatuses![0];
    assert.deepEqual([proxy.name, !!proxy.state?.running, proxy.started, proxy.ready], ['proxy', true, true, true]);
    const ids = await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.uid': p.metadata.uid! } });
    const created = Object.fromEntries(ids.map((x) => [x.labels['io.kubernetes.container.name'], BigInt(x.created_at)]));
    assert.ok(created.proxy <= created.c, 'the sidecar was started first');
    await pods().delete('sidecar');
    const kills = await until('both stopped', async () => {
      const e = (await eventsFor('sidecar')).filter((x) => x.reason === 'Killing');
      return e.length === 2 ? e : undefined;
    });
    assert.deepEqual(kills.sort((a, b) => a.firstTimestamp.localeCompare(b.firstTimestamp) || a.metadata.name!.localeCompare(b.metadata.name!)).map((e) => e.involvedObject.fieldPath), ['spec.containers{c}', 'spec.initContainers{proxy}']);
  });

  it('completes a Job-style pod with a sidecar when its container is done', async () => {
    await pods().create(pod('sidecar-job', {
      restartPolicy: 'Never',
      initContainers: [{ name: 'proxy', image: busybox, restartPolicy: 'Always', command: ['sleep', '3600'] }],
      containers: [{ name: 'c', image: busybox, command: ['sh', '-c', 'exit 0'] }],
    }));
    const p = await until('sidecar-job Succeeded', async () => {
      const x = await getPod('sidecar-job');
      return x.status?.phase === 'Succeeded' ? x : undefined;
    });
    assert.ok(p.status?.initContainerStatuses?.[0].state?.terminated, 'the sidecar was stopped');
  });

  it('kills a container whose liveness probe fails and starts it again', async () => {
    await pods().create(pod('live', { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], livenessProbe: { exec: { command: ['sh', '-c', 'echo sick; exit 1'] }, periodSeconds: 1, failureThreshold: 2 } }] }));
    const s = await until('a restart after liveness failure', async () => {
      const x = await status('live');
      return (x?.restartCount ?? 0) >= 1 ? x : undefined;
    });
    assert.equal(s.lastState?.terminated?.exitCode, 143);
    const evs = await until('the Killing event', async () => {
      const e = await eventsFor('live');
      return e.some((x) => x.reason === 'Killing') ? e : undefined;
    });
    const unhealthy = evs.find((e) => e.reason === 'Unhealthy');
    assert.equal(unhealthy?.message, 'Liveness probe failed: sick\n');
    assert.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container c failed liveness probe, will be restarted'), evs.map((e) => `${e.reason}: ${e.message}`).join('\n'));
  });

  it('keeps a pod out of Ready while its readiness probe fails', async () => {
    await pods().create(pod('unready', { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], readinessProbe: { exec: { command: ['false'] }, periodSeconds: 1 } }] }));
    const p = await until('unready Running', async () => {
      const x = await getPod('unready');
      return x.status?.phase === 'Running' && x.status.containerStatuses?.[0].started ? x : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const again = await getPod('unready');
    const ready = again.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'ContainersNotReady');
    assert.equal(ready?.message, 'containers with unready status: [c]');
    assert.equal(p.status?.containerStatuses?.[0].ready, false);
  });

  it('reports ErrImagePull and then ImagePullBackOff for an image that cannot be pulled', async () => {
    await pods().create(pod('noimage', { containers: [{ name: 'c', image: 'registry.rudder.test/missing:1', command: ['sleep', '1'] }] }));
    const pulls = await until('ImagePullBackOff', async () => {
      const x = await status('noimage');
      return x?.state?.waiting?.reason === 'ImagePullBackOff' || x?.state?.waiting?.reason === 'ErrImagePull' ? x : undefined;
    });
    assert.ok(['ErrImagePull', 'ImagePullBackOff'].includes(pulls.state!.waiting!.reason!));
    const evs = await until('Failed pull event', async () => {
      const e = await eventsFor('noimage');
      return e.some((x) => x.reason === 'Failed' && x.message === 'Error: ErrImagePull') ? e : undefined;
    });
    assert.ok(evs.some((e) => e.reason === 'Pulling' && e.message === 'Pulling image "registry.rudder.test/missing:1"'));
    assert.ok(evs.some((e) => e.reason === 'Failed' && e.message.startsWith('Failed to pull image "registry.rudder.test/missing:1": ')));
  });

  it('gives containers configMap and secret data as volumes and environment, and follows updates', async () => {
    await admin.resource('', 'configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { greeting: 'hello', color: 'blue' } } as KObject);
    await admin.resource('', 'secrets').namespace('default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { password: Buffer.from('s3cret').toString('base64') } } as KObject);
    await pods().create(pod('cfg', {
      volumes: [{ name: 'conf', configMap: { name: 'settings' } }, { name: 'sec', secret: { secretName: 'creds', defaultMode: 0o400 } }],
      containers: [{
        name: 'c', image: busybox, command: ['sleep', '3600'],
        env: [{ name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } } }, { name: 'MSG', value: '$(GREETING) world' }],
        envFrom: [{ secretRef: { name: 'creds' }, prefix: 'S_' }],
        volumeMounts: [{ name: 'conf', mountPath: '/etc/conf' }, { name: 'sec', mountPath: '/etc/sec' }],
      }],
    }));
    const p = await until('cfg Running', async () => {
      const x = await getPod('cfg');
      return x.status?.containerStatuses?.[0].state?.running ? x : undefined;
    });
    const uid = p.metadata.uid!;
    const base = join(dir, 'kubelet', 'pods', uid, 'volumes');
    assert.equal(readFileSync(join(base, 'kubernetes.io~configmap', 'conf', 'greeting'), 'utf8'), 'hello');
    assert.equal(readFileSync(join(base, 'kubernetes.io~secret', 'sec', 'password'), 'utf8'), 's3cret');
    // The kube-api-access volume the ServiceAccount admission added: a bound token, the CA, the namespace.
    const api = p.spec.volumes!.find((v) => v.name.startsWith('kube-api-access-'))!;
    const projected = join(base, 'kubernetes.io~projected', api.name);
    const token = readFileSync(join(projected, 'token'), 'utf8');
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sub: string; 'kubernetes.io': { pod: { name: string; uid: string } } };
    assert.equal(claims.sub, 'system:serviceaccount:default:default');
    assert.deepEqual(claims['kubernetes.io'].pod, { name: 'cfg', uid });
    assert.equal(readFileSync(join(projected, 'ca.crt'), 'utf8'), 'test CA\n');
    assert.equal(readFileSync(join(projected, 'namespace'), 'utf8'), 'default');
    const cid = p.status!.containerStatuses![0].containerID!.replace('simulated://', '');
    const env = (await runtime.execSync(cid, ['sh', '-c', 'echo $GREETING; echo $MSG; echo $S_password; echo $KUBERNETES_SERVICE_HOST'])).stdout.toString();
    assert.equal(env, `hello\nhello world\ns3cret\n10.43.0.1\n`);
    await admin.resource('', 'configmaps').namespace('default').patch('settings', 'merge', { data: { greeting: 'bonjour' } });
    await until('the configMap file updated', async () => readFileSync(join(base, 'kubernetes.io~configmap', 'conf', 'greeting'), 'utf8') === 'bonjour');
  });

  it('reports FailedMount for a missing configMap and starts the pod once it exists', async () => {
    await pods().create(pod('late', { volumes: [{ name: 'conf', configMap: { name: 'late-settings' } }], containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], volumeMounts: [{ name: 'conf', mountPath: '/conf' }] }] }));
    const ev = await until('FailedMount', async () => (await eventsFor('late')).find((e) => e.reason === 'FailedMount'));
    assert.equal(ev.message, 'MountVolume.SetUp failed for volume "conf" : configmap "late-settings" not found');
    assert.equal((await status('late'))?.state?.waiting?.reason, 'ContainerCreating');
    await admin.resource('', 'configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late-settings' }, data: { a: 'b' } } as KObject);
    await until('late Running', async () => (await status('late'))?.state?.running);
  });

  it('stops a deleted pod with its grace period and then removes it from the API and the runtime', async () => {
    await pods().create(pod('doomed', { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }] }));
    const p = await until('doomed Running', async () => {
      const x = await getPod('doomed');
      return x.status?.containerStatuses?.[0].state?.running ? x : undefined;
    });
    await pods().delete('doomed');
    await until('doomed gone', async () => {
      try {
        await getPod('doomed');
        return false;
      } catch (e) {
        return e instanceof StatusError && e.code === 404;
      }
    });
    await until('doomed containers removed', async () => (await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.uid': p.metadata.uid! } })).length === 0);
    assert.deepEqual(await runtime.listPodSandboxes({ label_selector: { 'io.kubernetes.pod.uid': p.metadata.uid! } }), []);
    const killing = await until('the Killing event', async () => (await eventsFor('doomed')).find((e) => e.reason === 'Killing'));
    assert.equal(killing?.message, 'Stopping container c');
  });

  it('adopts running containers after a restart: same container, restartCount 0, nothing created', async () => {
    await pods().create(pod('keeper', { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }] }));
    const before = await until('keeper Running', async () => {
      const x = await getPod('keeper');
      return x.status?.containerStatuses?.[0].state?.running ? x : undefined;
    });
    const uid = before.metadata.uid!;
    const id = before.status!.containerStatuses![0].containerID;
    await kubelet.stop();
    const containersBefore = (await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.uid': uid } })).map((c) => c.id).sort();
    kubelet = await start();
    await new Promise((r) => setTimeout(r, 800));
    await kubelet.idle();
    const after = await getPod('keeper');
    assert.equal(after.status?.containerStatuses?.[0].containerID, id);
    assert.equal(after.status?.containerStatuses?.[0].restartCount, 0);
    assert.ok(after.status?.containerStatuses?.[0].state?.running);
    const containersAfter = (await runtime.listContainers({ label_selector: { 'io.kubernetes.pod.uid': uid } })).map((c) => c.id).sort();
    assert.deepEqual(containersAfter, containersBefore, 'no container was created or removed');
    assert.equal(containersAfter.length, 1);
  });

  it('hands the pod CIDR the node gets to the runtime', async () => {
    await admin.resource('', 'nodes').patch(NODE, 'merge', { spec: { podCIDR: '10.42.3.0/24', podCIDRs: ['10.42.3.0/24'] } });
    await until('setPodCidr', async () => podCidrs.includes('10.42.3.0/24'));
  });

  it('runs postStart after the start and kills a container whose postStart fails', async () => {
    await pods().create(pod('hooked', { containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 1'] } } } }] }));
    const evs = await until('FailedPostStartHook', async () => {
      const e = await eventsFor('hooked');
      return e.some((x) => x.reason === 'FailedPostStartHook') && e.some((x) => x.reason === 'Killing') ? e : undefined;
    });
    assert.equal(evs.find((e) => e.reason === 'FailedPostStartHook')?.message, 'PostStartHook failed');
    assert.equal(evs.find((e) => e.reason === 'Killing')?.message, 'FailedPostStartHook');
    const s = await until('the restart after the hook', async () => {
      const x = await status('hooked');
      return x?.state?.waiting?.reason === 'PostStartHookError' || (x?.restartCount ?? 0) >= 1 ? x : undefined;
    });
    assert.ok(s);
  });

  it('runs preStop before stopping a deleted pod\'s container, within the grace period', async () => {
    await pods().create(pod('graceful', { terminationGracePeriodSeconds: 10, containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], lifecycle: { preStop: { exec: { command: ['sleep', '1.5'] } } } }] }));
    await until('graceful Running', async () => (await status('graceful'))?.state?.running);
    const t0 = Date.now();
    await pods().delete('graceful');
    await until('graceful gone', async () => {
      try {
        await getPod('graceful');
        return false;
      } catch (e) {
        return e instanceof StatusError && e.code === 404;
      }
    });
    assert.ok(Date.now() - t0 >= 1500, `the preStop hook ran before the stop (${Date.now() - t0} ms)`);
  });

  it('fails a pod past its activeDeadlineSeconds and stops it', async () => {
    await pods().create(pod('deadline', { activeDeadlineSeconds: 1, containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }] }));
    const p = await until('deadline Failed', async () => {
      const x = await getPod('deadline');
      return x.status?.phase === 'Failed' ? x : undefined;
    });
    assert.equal(p.status?.reason, 'DeadlineExceeded');
    assert.equal(p.status?.message, 'Pod was active on the node longer than the specified deadline');
    await until('its container stopped', async () => (await status('deadline'))?.state?.terminated);
    await until('the DeadlineExceeded event', async () => (await eventsFor('deadline')).some((e) => e.reason === 'DeadlineExceeded'));
  });

  it('runs pods on a hollow node without writing volumes', async () => {
    const hollowRuntime = new SimulatedRuntime({ podCidr: '10.89.0.0/24', images: ['registry.k8s.io/pause:3.10', busybox] });
    const root = join(dir, 'hollow');
    const hollow = await startKubelet(
      { nodeName: 'hollow-1', nodeIP: '192.0.2.11', rootDir: root, volumes: 'none', resolvConf: '', relistPeriodMs: 200, machine: { cpus: 8, memoryBytes: 32n * 1024n ** 3n } },
      { client: new Client(api.server.localTransport({ name: 'system:node:hollow-1', groups: ['system:nodes', 'system:authenticated'] }, 'kubelet')), runtime: hollowRuntime, log: () => {} },
    );
    try {
      await hollow.ready();
      await pods().create(pod('hollow-pod', { nodeName: 'hollow-1', volumes: [{ name: 'conf', configMap: { name: 'settings' } }], containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'], volumeMounts: [{ name: 'conf', mountPath: '/conf' }] }] }));
      await until('hollow-pod Running', async () => (await status('hollow-pod'))?.state?.running);
      const n = await admin.resource<Node>('', 'nodes').get('hollow-1');
      assert.equal(n.status?.capacity?.cpu, '8');
      assert.equal(n.status?.capacity?.memory, '32Gi');
      assert.ok(!existsSync(join(root, 'pods')), 'nothing written for the pod');
    } finally {
      await hollow.stop();
      await hollowRuntime.close();
    }
  });

  it('starts pods waiting for the pod network as soon as the node gets its pod CIDR and turns Ready', async () => {
    let networkUp = false;
    const rt = new SimulatedRuntime({
      podCidr: '10.90.0.0/24',
      images: ['registry.k8s.io/pause:3.10', busybox],
      fail: (op) => (op === 'runPodSandbox' && !networkUp ? 'failed to setup network for sandbox: cni plugin not initialized' : undefined),
    });
    const status0 = rt.status.bind(rt);
    rt.status = async () => (await status0()).map((c) => (c.type === 'NetworkReady' && !networkUp ? { ...c, status: false, reason: 'NetworkPluginNotReady', message: 'Network plugin returns error: cni plugin not initialized' } : c));
    const k = await startKubelet(
      { nodeName: 'late-net', nodeIP: '192.0.2.12', rootDir: join(dir, 'late-net'), resolvConf: '', relistPeriodMs: 200, nodeStatusUpdateFrequencyMs: 60_000 },
      { client: new Client(api.server.localTransport({ name: 'system:node:late-net', groups: ['system:nodes', 'system:authenticated'] }, 'kubelet')), runtime: rt, mounter: new NoTmpfsMounter(), log: () => {}, setPodCidr: () => (networkUp = true) },
    );
    try {
      await k.ready();
      const n = await admin.resource<Node>('', 'nodes').get('late-net');
      assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'KubeletNotReady');
      await pods().create(pod('early', { nodeName: 'late-net', containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }] }));
      await until('a sandbox failure', async () => (await eventsFor('early')).find((e) => e.reason === 'FailedCreatePodSandBox'));
      // Retries back off (1 s, 2 s, 4 s, …): the next one is now about 3.5 s away.
      await new Promise((r) => setTimeout(r, 3500));
      const t0 = Date.now();
      await admin.resource('', 'nodes').patch('late-net', 'merge', { spec: { podCIDR: '10.90.0.0/24' } });
      await until('early Running', async () => (await status('early'))?.state?.running, 2500);
      assert.ok(Date.now() - t0 < 2500, 'the pod did not wait for its back-off');
      await until('late-net Ready', async () => (await admin.resource<Node>('', 'nodes').get('late-net')).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
    } finally {
      await k.stop();
      await rt.close();
    }
  });

  it('stops and removes containers of pods the API no longer has', async () => {
    // a sandbox with a container, labelled for a pod that does not exist
    const sc = { metadata: { name: 'ghost', namespace: 'default', uid: 'ghost-uid', attempt: 0 }, labels: { 'io.kubernetes.pod.uid': 'ghost-uid', 'io.kubernetes.pod.name': 'ghost', 'io.kubernetes.pod.namespace': 'default' } };
    const sid = await runtime.runPodSandbox(sc);
    const cid = await runtime.createContainer(sid, { metadata: { name: 'c' }, image: { image: busybox }, command: ['sleep', '3600'], labels: { ...sc.labels, 'io.kubernetes.container.name': 'c' } }, sc);
    await runtime.startContainer(cid);
    await until('the orphan removed', async () => (await runtime.listContainers({ id: cid })).length === 0);
  });
});
