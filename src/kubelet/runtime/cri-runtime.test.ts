// The Runtime contract and the CRI specifics against a real containerd, started by the test inside a
// network namespace it creates (no route out), as root. Everything is removed afterwards.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runtimeContract } from './contract.ts';
import { CriRuntime } from './cri-runtime.ts';
import { containerLogPath, podLogDirectory, type PodSandboxConfig } from './runtime.ts';
import { startTestNode, TEST_IMAGES, type TestNode } from './testenv.ts';

runtimeContract('CRI (containerd)', async () => {
  const node = await startTestNode({ podCidr: '10.244.1.0/24' });
  const runtime = new CriRuntime(node.endpoint);
  return {
    runtime,
    logRoot: join(node.dir, 'pods'),
    podCidr: node.podCidr,
    cgroupRoot: node.cgroupRoot,
    busybox: TEST_IMAGES.busybox,
    cleanup: async () => {
      await runtime.close();
      await node.cleanup();
    },
  };
});

/** Runs a Node script inside the node's network namespace (where containerd's stream server listens). */
async function nodeInNetns(netnsPath: string, script: string): Promise<string> {
  const cwd = fileURLToPath(new URL('../../..', import.meta.url)); // bare imports resolve from the repo
  const { stdout } = await promisify(execFile)('nsenter', [`--net=${netnsPath}`, process.execPath, '--input-type=module', '-e', script], { timeout: 20_000, cwd });
  return stdout;
}

describe('CRI runtime on containerd', () => {
  let node: TestNode;
  let rt: CriRuntime;
  before(async () => {
    node = await startTestNode({ podCidr: '10.244.2.0/24' });
    rt = new CriRuntime(node.endpoint);
  });
  after(async () => {
    await rt?.close();
    await node?.cleanup();
  });

  const sandbox = (name: string, hostNetwork = false): PodSandboxConfig => {
    const uid = randomBytes(8).toString('hex');
    return {
      metadata: { name, uid, namespace: 'default', attempt: 0 },
      // A host-network sandbox has no UTS namespace of its own: containerd refuses a hostname for it.
      hostname: hostNetwork ? '' : name,
      log_directory: podLogDirectory(join(node.dir, 'pods'), 'default', name, uid),
      linux: {
        cgroup_parent: `${node.cgroupRoot}/pod${uid}`,
        security_context: { namespace_options: { network: hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' } },
      },
    };
  };

  it('passes environment values through unchanged (KeyValue.value is a string on the wire)', async () => {
    const sc = sandbox('env');
    const sid = await rt.runPodSandbox(sc);
    try {
      const value = 'a b=c \u00e9\u00e8 "quoted" $NOT_EXPANDED';
      const cid = await rt.createContainer(sid, {
        metadata: { name: 'c' }, image: { image: TEST_IMAGES.busybox }, command: ['sleep', '3600'],
        envs: [{ key: 'ODD', value }], log_path: containerLogPath('c', 0),
      }, sc);
      await rt.startContainer(cid);
      const r = await rt.execSync(cid, ['sh', '-c', 'echo "$ODD"'], 10);
      assert.equal(r.stdout.toString(), `${value}\n`);
    } finally {
      await rt.removePodSandbox(sid);
    }
  });

  it('runs each container in its own PID namespace when the configs leave namespace options out', async () => {
    const sc = sandbox('pids');
    delete sc.linux!.security_context;
    const sid = await rt.runPodSandbox(sc);
    try {
      const cid = await rt.createContainer(sid, { metadata: { name: 'c' }, image: { image: TEST_IMAGES.busybox }, command: ['sleep', '3600'] }, sc);
      await rt.startContainer(cid);
      assert.equal((await rt.execSync(cid, ['sh', '-c', 'cat /proc/1/comm; hostname'], 10)).stdout.toString(), 'sleep\npids\n');
    } finally {
      await rt.removePodSandbox(sid);
    }
  });

  it('runs a host-network sandbox, sent an empty hostname, in the node\'s network namespace', async () => {
    const sc = sandbox('hostnet', true);
    const sid = await rt.runPodSandbox(sc);
    try {
      const cid = await rt.createContainer(sid, { metadata: { name: 'c' }, image: { image: TEST_IMAGES.busybox }, command: ['sleep', '3600'] }, sc);
      await rt.startContainer(cid);
      // The node's namespace has the CNI bridge the other pods made; a pod namespace would only have lo and eth0.
      const links = (await rt.execSync(cid, ['ls', '/sys/class/net'], 10)).stdout.toString().split(/\s+/).filter(Boolean);
      assert.ok(links.includes('cni0'), `host links: ${links.join(' ')}`);
    } finally {
      await rt.removePodSandbox(sid);
    }
  });

  it('serves the test server\'s HTTP and gRPC health on the pod IP, reachable from inside the node', async () => {
    const sc = sandbox('server');
    const sid = await rt.runPodSandbox(sc);
    try {
      const cid = await rt.createContainer(sid, { metadata: { name: 's' }, image: { image: TEST_IMAGES.testserver }, args: ['serve', '--http-port', '8080', '--grpc-port', '9090'] }, sc);
      await rt.startContainer(cid);
      const ip = (await rt.podSandboxStatus(sid)).network!.ip;
      const out = await nodeInNetns(node.netnsPath, `
        const get = async (p) => { for (let i = 0; i < 100; i++) { try { const r = await fetch('http://${ip}:8080' + p); return r.status + ' ' + await r.text(); } catch { await new Promise(r => setTimeout(r, 50)); } } return 'unreachable'; };
        const grpc = await import('@grpc/grpc-js');
        const loader = await import('@grpc/proto-loader');
        const def = loader.fromJSON({ nested: { grpc: { nested: { health: { nested: { v1: { nested: {
          HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
          HealthCheckResponse: { fields: { status: { type: 'int32', id: 1 } } },
          Health: { methods: { Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' } } } } } } } } } } }, {});
        const Health = grpc.loadPackageDefinition(def).grpc.health.v1.Health;
        const client = new Health('${ip}:9090', grpc.credentials.createInsecure());
        const check = (service) => new Promise((r) => client.Check({ service }, { deadline: Date.now() + 5000 }, (e, res) => r(e ? 'code ' + e.code : 'status ' + res.status)));
        const http = [await get('/readyz'), await get('/set?ready=0'), await get('/readyz'), await get('/echo?msg=hi')];
        const health = [await check(''), await check('other')];
        await get('/set?grpc=0');
        health.push(await check(''));
        client.close();
        console.log(JSON.stringify({ http, health }));`);
      assert.deepEqual(JSON.parse(out), {
        http: ['200 ok', '200 live=1 ready=0 grpc=1\n', '503 not ready', '200 hi'],
        health: ['status 1', 'code 5', 'status 2'], // SERVING; NOT_FOUND for an unknown service; NOT_SERVING
      });
    } finally {
      await rt.removePodSandbox(sid);
    }
  });

  it('answers Exec with a stream URL that runs the command over WebSocket (v4.channel.k8s.io)', async () => {
    const sc = sandbox('stream');
    const sid = await rt.runPodSandbox(sc);
    try {
      const cid = await rt.createContainer(sid, { metadata: { name: 'c' }, image: { image: TEST_IMAGES.busybox }, command: ['sleep', '3600'] }, sc);
      await rt.startContainer(cid);
      const url = await rt.exec({ container_id: cid, cmd: ['sh', '-c', 'echo streamed; exit 7'], stdout: true, stderr: true });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/\S+$/);
      const out = await nodeInNetns(node.netnsPath, `
        const ws = new WebSocket(${JSON.stringify(url.replace(/^http/, 'ws'))}, ['v4.channel.k8s.io']);
        ws.binaryType = 'arraybuffer';
        const got = { 1: '', 2: '', 3: '' };
        ws.onmessage = (m) => { const b = Buffer.from(m.data); if (b.length) got[b[0]] += b.subarray(1).toString(); };
        ws.onclose = () => console.log(JSON.stringify({ protocol: ws.protocol, ...got }));
        ws.onerror = (e) => { console.log(JSON.stringify({ error: String(e.message) })); };`);
      const r = JSON.parse(out) as Record<string, string>;
      assert.equal(r.protocol, 'v4.channel.k8s.io');
      assert.equal(r[1], 'streamed\n');
      const status = JSON.parse(r[3]) as { status: string; reason: string; details: { causes: { reason: string; message: string }[] } };
      assert.equal(status.status, 'Failure');
      assert.deepEqual(status.details.causes.find((c) => c.reason === 'ExitCode')?.message, '7');
    } finally {
      await rt.removePodSandbox(sid);
    }
  });

  it('reports container stats and applies a memory limit', async () => {
    const sc = sandbox('stats');
    const sid = await rt.runPodSandbox(sc);
    try {
      const cid = await rt.createContainer(sid, {
        metadata: { name: 'c' }, image: { image: TEST_IMAGES.busybox }, command: ['sleep', '3600'],
        linux: { resources: { memory_limit_in_bytes: 64 * 1024 * 1024, cpu_shares: 256 } },
      }, sc);
      await rt.startContainer(cid);
      const stats = await rt.containerStats(cid);
      assert.equal(stats?.attributes?.id, cid);
      assert.ok(Number(stats?.memory?.working_set_bytes?.value) > 0, 'a running container uses memory');
      assert.deepEqual((await rt.listContainerStats({ pod_sandbox_id: sid })).map((s) => s.attributes?.id), [cid]);
      const limit = (await rt.execSync(cid, ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'], 10)).stdout.toString().trim();
      assert.equal(limit, String(64 * 1024 * 1024));
      await rt.updateContainerResources(cid, { memory_limit_in_bytes: 96 * 1024 * 1024 });
      const updated = (await rt.execSync(cid, ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'], 10)).stdout.toString().trim();
      assert.equal(updated, String(96 * 1024 * 1024));
    } finally {
      await rt.removePodSandbox(sid);
    }
  });
});
