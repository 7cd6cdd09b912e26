// kubectl logs, exec, cp, attach and port-forward end to end, as root: real containerd in a network
// namespace (src/kubelet/runtime/testenv.ts), pods started directly through the Runtime, the
// kubelet's HTTPS server in front of it, a real `rudder server` holding the Node and Pod objects,
// the API server's streaming handlers (through test/e2e/streaming-front.ts until the server wires
// them itself), and the real kubectl 1.33 and 1.32 — over WebSocket and over SPDY.
//
// The kubelet server runs in the root namespace, where the API server reaches it; containerd's
// stream server listens on 127.0.0.1 inside the node's namespace, so the kubelet server reaches it
// through a relay process started inside that namespace (src/kubelet/server/netns-connector.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Pod } from '../../src/kubelet/api-types.ts';
import { CriRuntime } from '../../src/kubelet/runtime/cri-runtime.ts';
import { containerLogPath, podLogDirectory, type PodSandboxConfig } from '../../src/kubelet/runtime/runtime.ts';
import { startTestNode, TEST_IMAGES, type TestNode } from '../../src/kubelet/runtime/testenv.ts';
import { testCa } from '../../src/kubelet/server/certs.ts';
import { netnsConnector, type NetnsConnector } from '../../src/kubelet/server/netns-connector.ts';
import { startKubeletServer, type KubeletServer } from '../../src/kubelet/server/server.ts';
import { kubectlVersion, startServer, type TestServer } from '../harness.ts';
import { startStreamingFront, type StreamingFront } from './streaming-front.ts';

const NODE = 'stream-node';
const K133 = kubectlVersion(33);
const K132 = kubectlVersion(32);

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl streaming end to end (real containerd)', () => {
  let node: TestNode;
  let rt: CriRuntime;
  let relay: NetnsConnector;
  let kubelet: KubeletServer;
  let server: TestServer;
  let front: StreamingFront;
  let dir: string;
  let home: string;
  let lease: NodeJS.Timeout | undefined;
  const pods = new Map<string, Pod>();
  /** What the kubelet server logged: which path each stream took (bridged, tunnelled, proxied). */
  const kubeletLog: string[] = [];

  /** kubectl against the cluster; env adds e.g. the SPDY fallback switches. */
  const kubectl = (args: string[], o: { bin?: string; input?: string; env?: Record<string, string>; timeoutMs?: number } = {}) =>
    new Promise<RunResult>((resolve) => {
      const p = spawn(o.bin ?? K133, ['--cache-dir', join(home, 'cache'), ...args], {
        env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: front.kubeconfig, ...(o.env ?? {}) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let so = '';
      let se = '';
      p.stdout.on('data', (c) => (so += c));
      p.stderr.on('data', (c) => (se += c));
      const t = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 60_000);
      p.on('close', (code) => {
        clearTimeout(t);
        resolve({ code: code ?? -1, stdout: so, stderr: se });
      });
      // A program that exits without reading its input closes the pipe first (EPIPE): its exit code says how it went.
      p.stdin.on('error', () => {});
      p.stdin.end(o.input ?? '');
    });

  const api = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const r = await server.request(method, path, { body, headers: contentType ? { 'content-type': contentType } : undefined });
    if (r.status >= 300 && !(method === 'POST' && r.status === 409)) throw new Error(`${method} ${path}: ${r.status} ${r.text()}`);
    return r.status < 300 ? r.json() : undefined;
  };

  interface ContainerSpec {
    name: string;
    image: string;
    command?: string[];
    args?: string[];
    stdin?: boolean;
    stdinOnce?: boolean;
    tty?: boolean;
  }

  /** Creates the Pod object, runs its sandbox and containers, and reports them Running. */
  const runPod = async (name: string, containers: ContainerSpec[], meta: { annotations?: Record<string, string>; labels?: Record<string, string>; ports?: number[] } = {}) => {
    const created = (await api('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', annotations: meta.annotations, labels: meta.labels },
      spec: {
        nodeName: NODE,
        containers: containers.map((c, i) => ({ name: c.name, image: c.image, stdin: c.stdin, stdinOnce: c.stdinOnce, tty: c.tty, ...(i === 0 && meta.ports ? { ports: meta.ports.map((containerPort) => ({ containerPort })) } : {}) })),
      },
    })) as Pod;
    const uid = created.metadata.uid!;
    const labels = { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': uid };
    const sc: PodSandboxConfig = {
      metadata: { name, uid, namespace: 'default', attempt: 0 },
      hostname: name,
      log_directory: podLogDirectory(join(node.dir, 'pods'), 'default', name, uid),
      labels,
      linux: { cgroup_parent: `${node.cgroupRoot}/pod${uid}`, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const sid = await rt.runPodSandbox(sc);
    const ids: Record<string, string> = {};
    for (const c of containers) {
      const cid = await rt.createContainer(
        sid,
        {
          metadata: { name: c.name, attempt: 0 },
          image: { image: c.image },
          command: c.command,
          args: c.args,
          stdin: c.stdin,
          stdin_once: c.stdinOnce,
          tty: c.tty,
          labels: { ...labels, 'io.kubernetes.container.name': c.name },
          log_path: containerLogPath(c.name, 0),
        },
        sc,
      );
      await rt.startContainer(cid);
      ids[c.name] = cid;
    }
    const ip = (await rt.podSandboxStatus(sid)).network?.ip ?? '';
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const pod = (await api(
      'PATCH',
      `/api/v1/namespaces/default/pods/${name}/status`,
      {
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          hostIP: '127.0.0.1',
          startTime: now,
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
          containerStatuses: containers.map((c) => ({
            name: c.name,
            ready: true,
            started: true,
            restartCount: 0,
            image: c.image,
            imageID: c.image,
            containerID: `containerd://${ids[c.name]}`,
            state: { running: { startedAt: now } },
          })),
        },
      },
      'application/merge-patch+json',
    )) as Pod;
    pods.set(name, pod);
    return { pod, sid, sc, ids, ip };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rudder-stream-e2e-'));
    home = join(dir, 'home');
    node = await startTestNode({ podCidr: '10.244.9.0/24' });
    rt = new CriRuntime(node.endpoint);
    relay = await netnsConnector(node.netnsPath);
    const ca = await testCa('kubelet-test-ca');
    const serving = await ca.servingCert(['127.0.0.1']);
    const apiserverClient = await ca.clientCert('kube-apiserver-kubelet-client', ['system:masters']);
    kubelet = await startKubeletServer({
      nodeName: NODE,
      runtime: rt,
      pods: { pod: (ns, n) => (ns === 'default' ? pods.get(n) : undefined), pods: () => [...pods.values()] },
      tls: serving,
      clientCA: ca.cert,
      allowedUsers: ['kube-apiserver-kubelet-client'],
      address: '127.0.0.1',
      port: 0,
      connectStreamServer: relay.connect,
      log: (m) => kubeletLog.push(m),
    });
    server = await startServer();
    front = await startStreamingFront(server, { cert: apiserverClient.cert, key: apiserverClient.key, ca: ca.cert }, dir);
    const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } } });
    await api(
      'PATCH',
      `/api/v1/nodes/${NODE}/status`,
      {
        status: {
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: NODE }],
          daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'test', lastHeartbeatTime: now(), lastTransitionTime: now() }],
        },
      },
      'application/merge-patch+json',
    );
    // Keep the node's Lease fresh so the node lifecycle controller leaves the test pods alone.
    const renew = async () => {
      const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: NODE, namespace: 'kube-node-lease' }, spec: { holderIdentity: NODE, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace('Z', '000Z') } };
      const r = await server.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`, { body });
      if (r.status === 404) await server.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', { body });
    };
    await renew();
    lease = setInterval(() => void renew().catch(() => {}), 10_000);
    await api('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  });

  after(async () => {
    if (lease) clearInterval(lease);
    const t0 = Date.now();
    const step = async (what: string, f: () => unknown) => {
      await f();
      if (process.env.E2E_DEBUG) console.error(`after: ${what} done at ${Date.now() - t0} ms`);
    };
    await step('front', () => front?.close());
    await step('server', () => server?.stop());
    await step('kubelet', () => kubelet?.close());
    await step('relay', () => relay?.close());
    await step('runtime', () => rt?.close());
    await step('node', () => node?.cleanup());
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl logs prints stdout and stderr in order, --tail, --timestamps, and --limit-bytes', async () => {
    await runPod('logger', [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sh', '-c', 'echo line 1; echo line 2; sleep 0.2; echo oops >&2; sleep 0.2; echo line 3; sleep 3600'] }]);
    let out = '';
    for (let i = 0; i < 50 && out.split('\n').length < 5; i++) {
      out = (await kubectl(['logs', 'logger'])).stdout;
      if (out.split('\n').length < 5) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(out, 'line 1\nline 2\noops\nline 3\n');
    assert.equal((await kubectl(['logs', 'logger', '--tail=2'])).stdout, 'oops\nline 3\n');
    const ts = (await kubectl(['logs', 'logger', '--timestamps', '--tail=1'])).stdout;
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 3\n$/);
    assert.equal((await kubectl(['logs', 'logger', '--limit-bytes=9'])).stdout, 'line 1\nli');
    assert.equal((await kubectl(['logs', 'logger', '--since=1h'])).stdout, out);
  });

  it('kubectl logs -f streams new lines as the container writes them', async () => {
    await runPod('ticker', [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done'] }]);
    const lines = await new Promise<string[]>((resolve, reject) => {
      const p = spawn(K133, ['--cache-dir', join(home, 'cache'), 'logs', '-f', 'ticker'], { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: front.kubeconfig } });
      let out = '';
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`kubectl logs -f saw only: ${out}`));
      }, 20_000);
      p.stdout.on('data', (c) => {
        out += c;
        const ls = out.split('\n').filter(Boolean);
        if (ls.length >= 8) {
          clearTimeout(t);
          p.kill();
          resolve(ls);
        }
      });
    });
    assert.deepEqual(lines.slice(0, 8), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `tick ${i}`));
  });

  it('kubectl logs --previous reads the last terminated instance; a missing one is upstream\'s error', async () => {
    const { pod, sid, sc } = await runPod('restarter', [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sh', '-c', 'echo second run; sleep 3600'] }]);
    assert.equal((await kubectl(['logs', 'restarter', '--previous'])).stderr.trim(), 'Error from server (BadRequest): previous terminated container "main" in pod "restarter" not found');
    // An earlier instance (attempt 0 of another log file) that ran and exited.
    const first = await rt.createContainer(
      sid,
      { metadata: { name: 'main', attempt: 9 }, image: { image: TEST_IMAGES.busybox }, command: ['sh', '-c', 'echo first run'], labels: { 'io.kubernetes.container.name': 'main', 'io.kubernetes.pod.uid': pod.metadata.uid! }, log_path: containerLogPath('main', 9) },
      sc,
    );
    await rt.startContainer(first);
    for (let i = 0; i < 100 && (await rt.containerStatus(first)).state !== 'CONTAINER_EXITED'; i++) await new Promise((r) => setTimeout(r, 50));
    const cs = pod.status!.containerStatuses![0]!;
    pods.set('restarter', { ...pod, status: { ...pod.status, containerStatuses: [{ ...cs, restartCount: 1, lastState: { terminated: { exitCode: 0, reason: 'Completed', containerID: `containerd://${first}` } } as never }] } });
    assert.equal((await kubectl(['logs', 'restarter', '--previous'])).stdout, 'first run\n');
    assert.equal((await kubectl(['logs', 'restarter'])).stdout, 'second run\n');
  });

  it('kubectl logs on a container still waiting answers with the kubelet\'s reason', async () => {
    const { pod } = await runPod('waiting', [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sleep', '3600'] }]);
    const cs = pod.status!.containerStatuses![0]!;
    pods.set('waiting', { ...pod, status: { ...pod.status, containerStatuses: [{ ...cs, containerID: undefined, state: { waiting: { reason: 'ContainerCreating' } } as never }] } });
    const r = await kubectl(['logs', 'waiting']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error from server (BadRequest): container "main" in pod "waiting" is waiting to start: ContainerCreating');
  });

  it('the log of a pod with several containers needs a container name, in upstream\'s words', async () => {
    await runPod(
      'duo',
      [
        { name: 'a', image: TEST_IMAGES.busybox, command: ['sh', '-c', 'echo from a; sleep 3600'] },
        { name: 'b', image: TEST_IMAGES.busybox, command: ['sh', '-c', 'echo from b; sleep 3600'] },
      ],
      { annotations: { 'kubectl.kubernetes.io/default-container': 'b' } },
    );
    const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const p = spawn(K133, ['--cache-dir', join(home, 'cache'), 'get', '--raw', '/api/v1/namespaces/default/pods/duo/log'], { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: front.kubeconfig } });
      let se = '';
      p.stderr.on('data', (c) => (se += c));
      p.on('close', (code) => resolve({ status: code ?? -1, body: se }));
      p.on('error', reject);
    });
    assert.equal(raw.status, 1);
    assert.match(raw.body, /a container name must be specified for pod duo, choose one of: \[a b\]/);
    let b = '';
    for (let i = 0; i < 50 && !b; i++) {
      b = (await kubectl(['logs', 'duo', '-c', 'b'])).stdout;
      if (!b) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(b, 'from b\n');
    // kubectl itself honours the default-container annotation (the server, as upstream's, does not).
    assert.equal((await kubectl(['logs', 'duo'])).stdout, 'from b\n');
    assert.equal((await kubectl(['logs', 'duo', '-c', 'a'])).stdout, 'from a\n');
  });

  for (const [label, bin, env, path] of [
    ['kubectl 1.33 over WebSocket', K133, {}, 'v5.channel.k8s.io WebSocket bridged to SPDY v4.channel.k8s.io'],
    ['kubectl 1.32 over WebSocket', K132, {}, 'v5.channel.k8s.io WebSocket bridged to SPDY v4.channel.k8s.io'],
    ['kubectl 1.33 over SPDY', K133, { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }, 'SPDY/3.1 proxied to the runtime'],
  ] as const) {
    it(`${label}: exec returns output and exit codes, -i passes stdin through to EOF`, async () => {
      const name = `exec-${randomBytes(3).toString('hex')}`;
      await runPod(name, [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sleep', '3600'] }]);
      const ok = await kubectl(['exec', name, '--', 'sh', '-c', 'echo out; echo err >&2'], { bin, env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'out\n');
      assert.equal(ok.stderr, 'err\n');
      const fail = await kubectl(['exec', name, '--', 'sh', '-c', 'exit 7'], { bin, env });
      assert.equal(fail.code, 7);
      assert.equal(fail.stderr.trim(), 'command terminated with exit code 7');
      const input = 'first line\nsecond line\n'.repeat(2000);
      const cat = await kubectl(['exec', '-i', name, '--', 'sh', '-c', 'wc -l; cat >/tmp/in; md5sum </tmp/in'], { bin, env, input });
      assert.equal(cat.code, 0, cat.stderr);
      assert.match(cat.stdout, /^\s*4000\n/);
      const missing = await kubectl(['exec', name, '-c', 'nope', '--', 'true'], { bin, env });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /container nope is not valid for pod/);
      // Every exec of this pod took the path the protocol calls for.
      const seen = kubeletLog.filter((l) => l.startsWith(`exec default/${name}/`));
      assert.equal(seen.length, 3);
      for (const l of seen) assert.ok(l.endsWith(path), l);
    });
  }

  for (const [label, env] of [
    ['over WebSocket', {}],
    ['over SPDY', { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }],
  ] as const) {
    it(`kubectl exec -it ${label}: a terminal of the client's size, exit code through`, async () => {
      const name = `tty-${randomBytes(3).toString('hex')}`;
      await runPod(name, [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sleep', '3600'] }]);
      // script(1) gives kubectl a pseudo-terminal of 33 rows and 91 columns, so it sends that size
      // (on the resize stream, which may trail the command's start: hence the pause).
      const inner = `stty rows 33 cols 91; ${K133} --cache-dir ${join(home, 'cache')} exec -it ${name} -- sh -c 'tty; sleep 1; stty size; exit 4'`;
      const r = await new Promise<RunResult>((resolve) => {
        const p = spawn('script', ['-q', '-e', '-c', inner, '/dev/null'], { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: front.kubeconfig, TERM: 'xterm', ...env } });
        let so = '';
        let se = '';
        p.stdout.on('data', (c) => (so += c));
        p.stderr.on('data', (c) => (se += c));
        const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
        p.on('close', (code) => {
          clearTimeout(t);
          resolve({ code: code ?? -1, stdout: so, stderr: se });
        });
      });
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stdout, /\/dev\/pts\/\d+\r\n33 91\r\n/);
    });
  }

  it('kubectl cp copies a file into the container and back out', async () => {
    await runPod('copier', [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sleep', '3600'] }]);
    const src = join(dir, 'payload.txt');
    const content = `payload ${randomBytes(8).toString('hex')}\n`.repeat(5000);
    writeFileSync(src, content);
    const up = await kubectl(['cp', src, 'default/copier:/tmp/payload.txt']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await kubectl(['exec', 'copier', '--', 'wc', '-c', '/tmp/payload.txt'])).stdout.trim(), `${content.length} /tmp/payload.txt`);
    const back = join(dir, 'back.txt');
    const down = await kubectl(['cp', 'default/copier:/tmp/payload.txt', back]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(back, 'utf8'), content);
  });

  it('kubectl attach -i feeds the container\'s stdin and streams its output', async () => {
    await runPod('attached', [{ name: 'main', image: TEST_IMAGES.busybox, command: ['sh', '-c', 'while read l; do echo got:$l; done; echo bye'], stdin: true, stdinOnce: true }]);
    const r = await kubectl(['attach', '-i', 'attached'], { input: 'alpha\nbeta\n', timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /got:alpha\ngot:beta\nbye\n/);
  });

  it('port-forward to a service and to a deployment reaches a pod they select, on the target port', async () => {
    await runPod('pf-target', [{ name: 'srv', image: TEST_IMAGES.testserver, args: ['serve', '--http-port', '8080'] }], { labels: { app: 'pf-target' }, ports: [8080] });
    await api('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'pf-svc' }, spec: { selector: { app: 'pf-target' }, ports: [{ port: 80, targetPort: 8080 }] } });
    await api('POST', '/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'pf-deploy' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'pf-target' } }, template: { metadata: { labels: { app: 'pf-target' } }, spec: { containers: [{ name: 'srv', image: TEST_IMAGES.testserver }] } } },
    });
    for (const [target, remote] of [['svc/pf-svc', '80'], ['deployment/pf-deploy', '8080']] as const) {
      const p = spawn(K133, ['--cache-dir', join(home, 'cache'), 'port-forward', target, `:${remote}`], { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: front.kubeconfig } });
      let out = '';
      p.stdout.on('data', (c) => (out += c));
      p.stderr.on('data', (c) => (out += c));
      try {
        const port = await new Promise<number>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`port-forward ${target} did not start: ${out}`)), 20_000);
          const check = () => {
            // kubectl forwards to the pod's port the service's targetPort names.
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
            if (m) {
              clearTimeout(t);
              resolve(Number(m[1]));
            }
          };
          p.stdout.on('data', check);
          p.stderr.on('data', check);
        });
        let answer = '';
        for (let i = 0; i < 50 && !answer.startsWith('200'); i++) {
          answer = await new Promise<string>((resolve) => {
            const r = httpGet({ host: '127.0.0.1', port, path: `/echo?msg=${target.split('/')[0]}`, agent: false, timeout: 10_000 }, (res) => {
              let b = '';
              res.on('data', (c) => (b += c));
              res.on('end', () => resolve(`${res.statusCode} ${b}`));
            });
            r.on('timeout', () => r.destroy(new Error('timed out')));
            r.on('error', (e) => resolve(e.message));
          });
          if (!answer.startsWith('200')) await new Promise((r) => setTimeout(r, 200));
        }
        assert.equal(answer, `200 ${target.split('/')[0]}`, out);
      } finally {
        p.kill();
      }
    }
  });

  for (const [label, bin, env, path] of [
    ['kubectl 1.33 over WebSocket', K133, {}, 'SPDY/3.1+portforward.k8s.io WebSocket tunnel to the runtime\'s SPDY'],
    ['kubectl 1.32 over WebSocket', K132, {}, 'SPDY/3.1+portforward.k8s.io WebSocket tunnel to the runtime\'s SPDY'],
    ['kubectl 1.33 over SPDY', K133, { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, 'SPDY/3.1 proxied to the runtime'],
  ] as const) {
    it(`${label}: port-forward carries HTTP requests to the pod's port`, async () => {
      const name = `pf-${randomBytes(3).toString('hex')}`;
      await runPod(name, [{ name: 'srv', image: TEST_IMAGES.testserver, args: ['serve', '--http-port', '8080'] }]);
      const p = spawn(bin, ['--cache-dir', join(home, 'cache'), 'port-forward', `pod/${name}`, ':8080'], { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: front.kubeconfig, ...env } });
      let pfOut = '';
      p.stdout.on('data', (c) => (pfOut += c));
      p.stderr.on('data', (c) => (pfOut += c));
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          const t = setTimeout(() => reject(new Error(`port-forward did not start: ${out}`)), 20_000);
          const onData = (c: Buffer) => {
            out += c;
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
            if (m) {
              clearTimeout(t);
              resolve(Number(m[1]));
            }
          };
          p.stdout.on('data', onData);
          p.stderr.on('data', onData);
        });
        const get = (path: string) =>
          new Promise<string>((resolve, reject) => {
            const r = httpGet({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
              let b = '';
              res.on('data', (c) => (b += c));
              res.on('end', () => resolve(`${res.statusCode} ${b}`));
            });
            r.on('timeout', () => r.destroy(new Error(`GET ${path} through port-forward timed out`)));
            r.on('error', reject);
          });
        // The server may need a moment to listen; retry the first request.
        let first = '';
        for (let i = 0; i < 50; i++) {
          first = await get('/echo?msg=hello').catch((e: Error) => e.message);
          if (first.startsWith('200')) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.equal(first, '200 hello', pfOut);
        assert.equal(await get('/echo?msg=again'), '200 again');
        const [a, b] = await Promise.all([get('/echo?msg=one'), get('/echo?msg=two')]);
        assert.deepEqual([a, b], ['200 one', '200 two']);
        assert.deepEqual(kubeletLog.filter((l) => l.startsWith(`portforward default/${name}:`)), [`portforward default/${name}: ${path}`]);
      } finally {
        p.kill();
      }
    });
  }
});
