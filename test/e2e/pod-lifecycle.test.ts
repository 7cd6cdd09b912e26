// The kubelet's pod lifecycle on a real node (as root; cluster.ts): probes restarting and
// un-readying containers, back-off, a memory limit enforced by the kernel and reported as
// OOMKilled, configMap and secret volumes and env inside a container, and a Job whose pod fails
// once and then succeeds — what a user sees through kubectl, checked against upstream's wording.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type E2ECluster, type E2ENode } from './cluster.ts';
import { condition, containerLog, eventsOf, httpGetIn, isReady, pods, until, waitPod, waitPods, type PodJson } from './kube.ts';

const TESTSERVER = 'registry.rudder.test/testserver:1';
const BUSYBOX = 'docker.io/library/busybox:1.36';

const ms = (t: string | undefined) => Date.parse(t ?? '');

describe('pod lifecycle on a real node', () => {
  let c: E2ECluster;
  let n1: E2ENode;
  const apply = (obj: unknown) => c.k(['apply', '-f', '-'], { input: JSON.stringify(obj) });

  before(async () => {
    c = await startCluster();
    n1 = await c.addNode('n1');
    await c.waitReady('n1');
  });
  after(async () => {
    await c?.destroy();
  });

  it('a failing liveness probe restarts the container with growing back-off (Unhealthy, Killing, BackOff; restartCount grows)', async () => {
    // The server answers /healthz for 2 s after each start, then 500: every instance is killed.
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'liveness', namespace: 'default' },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: 'testserver',
            image: TESTSERVER,
            args: ['serve', '--live-for', '2'],
            livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      },
    });
    const starts = new Set<string>();
    let sawCrashLoop = false;
    const pod = await waitPod(
      c,
      'liveness',
      (p) => {
        const s = p.status.containerStatuses?.[0];
        if (s?.state.running?.startedAt) starts.add(s.state.running.startedAt);
        if (s?.state.waiting?.reason === 'CrashLoopBackOff') sawCrashLoop = true;
        return (s?.restartCount ?? 0) >= 3 && !!s?.state.running;
      },
      90_000,
    );
    const s = pod.status.containerStatuses![0]!;
    assert.ok(sawCrashLoop, 'the container waits in CrashLoopBackOff between restarts');
    // The last instance ended by the kubelet's kill after the probe failed (SIGTERM: exit 0 from the server).
    assert.equal(s.lastState.terminated?.reason, 'Completed');
    // Back-off as upstream's: a liveness kill restarts at once twice (the back-off starts counting at
    // the first exited instance it sees); the third restart waits the initial 10 s.
    assert.ok(ms(s.state.running!.startedAt) - ms(s.lastState.terminated!.finishedAt) >= 9_000, JSON.stringify(s));
    const events = await eventsOf(c, 'liveness');
    const reasons = events.map((e) => e.reason);
    for (const r of ['Scheduled', 'Pulled', 'Created', 'Started', 'Unhealthy', 'Killing', 'BackOff']) assert.ok(reasons.includes(r), `${r} in ${reasons.join(', ')}`);
    const unhealthy = events.find((e) => e.reason === 'Unhealthy')!;
    assert.equal(unhealthy.type, 'Warning');
    assert.equal(unhealthy.message, 'Liveness probe failed: HTTP probe failed with statuscode: 500');
    assert.equal(unhealthy.involvedObject.fieldPath, 'spec.containers{testserver}');
    assert.equal(events.find((e) => e.reason === 'Killing')!.message, 'Container testserver failed liveness probe, will be restarted');
    const backoff = events.find((e) => e.reason === 'BackOff')!;
    assert.equal(backoff.type, 'Warning');
    assert.equal(backoff.message, `Back-off restarting failed container testserver in pod liveness_default(${pod.metadata.uid})`);
    // Pulled once per instance: the image is present after the first pull.
    assert.match(events.filter((e) => e.reason === 'Pulled').at(-1)!.message, /^Container image "registry\.rudder\.test\/testserver:1" already present on machine/);
    const row = (await c.k(['get', 'pod', 'liveness', '--no-headers'])).trim();
    assert.match(row, /^liveness\s+\d\/1\s+\S+\s+[3-9] \(\d+s ago\)\s+\d+s$/);
    await c.k(['delete', 'pod', 'liveness', '--wait=false']);
  });

  it('a failing readiness probe keeps the pod out of Ready and its IP out of the Service endpoints, without a restart', async () => {
    const labels = { app: 'ready-demo' };
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ready-demo', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'testserver', image: TESTSERVER, ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 } }],
          },
        },
      },
    });
    await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ready-demo', namespace: 'default' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } });
    const ps = await waitPods(c, 'app=ready-demo', (ps) => ps.length === 2 && ps.every(isReady));
    const endpoints = async () => {
      const ep = JSON.parse(await c.k(['get', 'endpoints', 'ready-demo', '-o', 'json']));
      const ips = (k: string) => (ep.subsets ?? []).flatMap((x: Record<string, { ip: string }[]>) => (x[k] ?? []).map((a) => a.ip)).sort();
      return { ready: ips('addresses') as string[], notReady: ips('notReadyAddresses') as string[] };
    };
    const all = ps.map((p) => p.status.podIP!).sort();
    await until('both pods in the endpoints', 30_000, async () => ((await endpoints()).ready.join() === all.join() ? true : undefined));

    const [sick, well] = ps as [PodJson, PodJson];
    assert.equal((await httpGetIn(n1.ns, `http://${sick.status.podIP}:8080/set?ready=0`)).status, 200);
    const unready = await waitPod(c, sick.metadata.name, (p) => condition(p, 'Ready') === 'False', 30_000);
    assert.equal(condition(unready, 'ContainersReady'), 'False');
    assert.equal(unready.status.phase, 'Running');
    assert.equal(unready.status.containerStatuses![0]!.ready, false);
    assert.equal(unready.status.containerStatuses![0]!.restartCount, 0);
    assert.ok(unready.status.containerStatuses![0]!.state.running);
    assert.match(await c.k(['get', 'pod', sick.metadata.name, '--no-headers']), /^\S+\s+0\/1\s+Running\s+0\s/);
    await until('the unready pod moved to notReadyAddresses', 30_000, async () => {
      const ep = await endpoints();
      return ep.ready.join() === well.status.podIP && ep.notReady.join() === sick.status.podIP ? true : undefined;
    });
    const unhealthy = (await eventsOf(c, sick.metadata.name)).find((e) => e.reason === 'Unhealthy');
    assert.equal(unhealthy?.message, 'Readiness probe failed: HTTP probe failed with statuscode: 503');
    // The other pod never left.
    assert.ok(isReady((await pods(c, 'app=ready-demo')).find((p) => p.metadata.name === well.metadata.name)!));

    // Ready again: back in the endpoints.
    await httpGetIn(n1.ns, `http://${sick.status.podIP}:8080/set?ready=1`);
    await waitPod(c, sick.metadata.name, isReady, 30_000);
    await until('both pods back in the endpoints', 30_000, async () => ((await endpoints()).ready.join() === all.join() ? true : undefined));
    await c.k(['delete', 'service', 'ready-demo']);
    await c.k(['delete', 'deployment', 'ready-demo']);
  });

  it('a container over its memory limit is OOM-killed and reported as OOMKilled', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'oom', namespace: 'default' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'hog', image: TESTSERVER, args: ['alloc', '128'], resources: { limits: { memory: '32Mi' } } }],
      },
    });
    const pod = await waitPod(c, 'oom', (p) => p.status.containerStatuses?.[0]?.lastState.terminated?.reason === 'OOMKilled', 90_000);
    const s = pod.status.containerStatuses![0]!;
    assert.equal(s.lastState.terminated!.exitCode, 137);
    assert.ok(s.restartCount >= 1);
    // A memory limit alone: the request defaults to it, but without cpu the pod is not Guaranteed.
    assert.equal(pod.status.qosClass, 'Burstable');
    const described = await c.k(['describe', 'pod', 'oom']);
    assert.match(described, /Last State:\s+Terminated\n\s+Reason:\s+OOMKilled\n\s+Exit Code:\s+137/);
    assert.match(described, /Limits:\n\s+memory:\s+32Mi\n\s+Requests:\n\s+memory:\s+32Mi/);
    await c.k(['delete', 'pod', 'oom', '--wait=false']);
  });

  it('configMap and secret volumes and env are visible inside the container; an updated configMap reaches the mounted file', async () => {
    await c.k(['create', 'configmap', 'app-config', '--from-literal=greeting=hello from a configmap', '--from-literal=LEVEL=debug']);
    await c.k(['create', 'secret', 'generic', 'app-secret', '--from-literal=password=s3cr3t', '--from-literal=TOKEN=abc123']);
    const script = [
      'echo "file greeting=$(cat /etc/config/greeting)"',
      'echo "file password=$(cat /etc/secret/password)"',
      'echo "env GREETING=$GREETING PASSWORD=$PASSWORD LEVEL=$LEVEL TOKEN=$TOKEN POD=$POD_NAME IP=$POD_IP LIMIT=$MEM_LIMIT"',
      'echo "secret mount: $(grep " /etc/secret " /proc/mounts | cut -d" " -f3)"',
      'echo "secret mode: $(stat -L -c %a /etc/secret/password)"',
      'while true; do echo "now greeting=$(cat /etc/config/greeting)"; sleep 1; done',
    ].join('\n');
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'config-reader', namespace: 'default' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'reader',
            image: BUSYBOX,
            command: ['sh', '-c', script],
            env: [
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'greeting' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            ],
            envFrom: [{ configMapRef: { name: 'app-config' } }, { secretRef: { name: 'app-secret' } }],
            resources: { limits: { memory: '64Mi' } },
            volumeMounts: [
              { name: 'config', mountPath: '/etc/config' },
              { name: 'secret', mountPath: '/etc/secret', readOnly: true },
            ],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: 'app-config' } },
          { name: 'secret', secret: { secretName: 'app-secret', defaultMode: 0o400 } },
        ],
      },
    });
    const pod = await waitPod(c, 'config-reader', (p) => !!p.status.containerStatuses?.[0]?.state.running);
    const log = await until('the container printed what it sees', 30_000, async () => {
      const l = containerLog(n1, pod, 'reader');
      return /now greeting=/.test(l) ? l : undefined;
    });
    assert.match(log, /^file greeting=hello from a configmap$/m);
    assert.match(log, /^file password=s3cr3t$/m);
    assert.match(log, new RegExp(`^env GREETING=hello from a configmap PASSWORD=s3cr3t LEVEL=debug TOKEN=abc123 POD=config-reader IP=${pod.status.podIP!.replace(/\./g, '\\.')} LIMIT=64$`, 'm'));
    assert.match(log, /^secret mount: tmpfs$/m, 'secrets live in memory only');
    assert.match(log, /^secret mode: 400$/m);

    await c.k(['create', 'configmap', 'app-config', '--from-literal=greeting=updated', '--from-literal=LEVEL=debug', '--dry-run=client', '-o', 'json']).then((j) => c.k(['replace', '-f', '-'], { input: j }));
    await until('the mounted configMap file changed', 90_000, async () => (/^now greeting=updated$/m.test(containerLog(n1, pod, 'reader')) ? true : undefined), () => containerLog(n1, pod, 'reader').split('\n').slice(-3).join('\n'), 1000);
    await c.k(['delete', 'pod', 'config-reader', '--wait=false']);
  });

  it('a Job whose pod exits 1 and then 0 (restartPolicy OnFailure) completes', async () => {
    const script = 'if [ -e /work/failed-once ]; then echo second try; exit 0; fi; touch /work/failed-once; echo first try; exit 1';
    await apply({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'flaky', namespace: 'default' },
      spec: {
        backoffLimit: 4,
        template: {
          spec: {
            restartPolicy: 'OnFailure',
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'task', image: BUSYBOX, command: ['sh', '-c', script], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
            volumes: [{ name: 'work', emptyDir: {} }],
          },
        },
      },
    });
    await until('the Job completes', 90_000, async () => {
      const job = JSON.parse(await c.k(['get', 'job', 'flaky', '-o', 'json']));
      return (job.status?.conditions ?? []).some((x: { type: string; status: string }) => x.type === 'Complete' && x.status === 'True') ? true : undefined;
    });
    const job = JSON.parse(await c.k(['get', 'job', 'flaky', '-o', 'json']));
    assert.equal(job.status.succeeded, 1);
    assert.equal(job.status.failed ?? 0, 0, 'one pod, restarted in place');
    assert.match(await c.k(['get', 'job', 'flaky', '--no-headers']), /^flaky\s+Complete\s+1\/1\s/);
    const [pod] = await pods(c, 'job-name=flaky');
    assert.ok(pod);
    assert.equal(pod.status.phase, 'Succeeded');
    const s = pod.status.containerStatuses![0]!;
    assert.equal(s.restartCount, 1);
    assert.equal(s.lastState.terminated?.exitCode, 1);
    assert.equal(s.lastState.terminated?.reason, 'Error');
    assert.equal(s.state.terminated?.exitCode, 0);
    assert.equal(s.state.terminated?.reason, 'Completed');
    assert.equal(containerLog(n1, pod, 'task', 0), 'first try\n');
    assert.equal(containerLog(n1, pod, 'task', 1), 'second try\n');
    await c.k(['delete', 'job', 'flaky', '--cascade=foreground', '--wait=false']);
  });
});
