// The contract every Runtime implementation passes (run by cri-runtime.test.ts against a real
// containerd and by simulated.test.ts): what the kubelet's pod workers rely on, observed through the
// Runtime interface only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseIPv4Cidr } from './cni.ts';
import {
  containerLogPath, isNotFound, isRuntimeError, parseCriLogLine, podLogDirectory,
  type ContainerConfig, type ContainerState, type PodSandboxConfig, type Runtime,
} from './runtime.ts';

export interface ContractEnv {
  runtime: Runtime;
  /** Where pod log directories go. */
  logRoot: string;
  /** The pod CIDR sandboxes get their IPs from. */
  podCidr: string;
  /** A cgroup parent for sandboxes (the real runtime's tests use one they remove). */
  cgroupRoot?: string;
  busybox: string;
  cleanup(): Promise<void>;
}

function inCidr(ip: string, cidr: string): boolean {
  const { base, prefix } = parseIPv4Cidr(cidr);
  const [a, b, c, d] = ip.split('.').map(Number);
  const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  return n >>> (32 - prefix) === base >>> (32 - prefix);
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function runtimeContract(name: string, setup: () => Promise<ContractEnv>): void {
  describe(`Runtime contract: ${name}`, () => {
    let env: ContractEnv;
    let rt: Runtime;
    before(async () => {
      env = await setup();
      rt = env.runtime;
    });
    after(async () => {
      await env?.cleanup();
    });

    const sandboxConfig = (podName: string, labels: Record<string, string> = {}): PodSandboxConfig => {
      const uid = randomBytes(8).toString('hex');
      return {
        metadata: { name: podName, uid, namespace: 'default', attempt: 0 },
        hostname: podName,
        log_directory: podLogDirectory(env.logRoot, 'default', podName, uid),
        labels: { 'io.kubernetes.pod.name': podName, ...labels },
        linux: {
          cgroup_parent: env.cgroupRoot ? `${env.cgroupRoot}/pod${uid}` : '',
          security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
        },
      };
    };
    const containerConfig = (cname: string, command: string[], envs: Record<string, string> = {}): ContainerConfig => ({
      metadata: { name: cname, attempt: 0 },
      image: { image: env.busybox },
      command,
      envs: Object.entries(envs).map(([key, value]) => ({ key, value })),
      labels: { 'io.kubernetes.container.name': cname },
      log_path: containerLogPath(cname, 0),
    });
    const stateOf = async (id: string): Promise<ContainerState> => (await rt.containerStatus(id)).state;

    it('runs a sandbox with a container, execs in it, stops and removes both', async () => {
      const sc = sandboxConfig('web', { app: 'web' });
      const sid = await rt.runPodSandbox(sc);
      const ss = await rt.podSandboxStatus(sid);
      assert.equal(ss.state, 'SANDBOX_READY');
      assert.equal(ss.metadata?.name, 'web');
      assert.equal(ss.metadata?.uid, sc.metadata.uid);
      assert.ok(ss.network?.ip && inCidr(ss.network.ip, env.podCidr), `pod IP ${ss.network?.ip} is in ${env.podCidr}`);
      assert.deepEqual((await rt.listPodSandboxes({ label_selector: { app: 'web' } })).map((s) => s.id), [sid]);

      assert.ok(await rt.imageStatus(env.busybox), 'the test image is present');
      const cid = await rt.createContainer(sid, containerConfig('main', ['sh', '-c', 'echo started $GREETING; sleep 3600'], { GREETING: 'hello world' }), sc);
      assert.equal(await stateOf(cid), 'CONTAINER_CREATED');
      await rt.startContainer(cid);
      assert.equal(await stateOf(cid), 'CONTAINER_RUNNING');
      const listed = await rt.listContainers({ pod_sandbox_id: sid });
      assert.deepEqual(listed.map((c) => [c.id, c.metadata?.name, c.state, c.labels['io.kubernetes.container.name']]), [[cid, 'main', 'CONTAINER_RUNNING', 'main']]);

      const r = await rt.execSync(cid, ['sh', '-c', 'echo out $GREETING; echo err >&2; exit 3'], 10);
      assert.equal(r.stdout.toString(), 'out hello world\n');
      assert.equal(r.stderr.toString(), 'err\n');
      assert.equal(r.exitCode, 3);
      assert.equal((await rt.execSync(cid, ['true'], 10)).exitCode, 0);

      const status = await rt.containerStatus(cid);
      assert.equal(status.log_path, `${sc.log_directory}/main/0.log`);

      await rt.stopContainer(cid, 2);
      assert.equal(await stateOf(cid), 'CONTAINER_EXITED');
      await assert.rejects(rt.execSync(cid, ['true'], 5), (e) => isRuntimeError(e) && !isNotFound(e));

      await rt.stopPodSandbox(sid);
      assert.equal((await rt.podSandboxStatus(sid)).state, 'SANDBOX_NOTREADY');
      await rt.stopPodSandbox(sid); // repeatable
      await rt.removeContainer(cid);
      await rt.removePodSandbox(sid);
      await assert.rejects(rt.podSandboxStatus(sid), isNotFound);
      await assert.rejects(rt.containerStatus(cid), isNotFound);
      assert.deepEqual(await rt.listContainers({ pod_sandbox_id: sid }), []);
      assert.deepEqual(await rt.listPodSandboxes({ id: sid }), []);
    });

    it('writes what a container prints to its CRI log file', async () => {
      const sc = sandboxConfig('logger');
      const sid = await rt.runPodSandbox(sc);
      try {
        const cid = await rt.createContainer(sid, containerConfig('talk', ['sh', '-c', 'echo one; echo two >&2; sleep 3600']), sc);
        await rt.startContainer(cid);
        const path = (await rt.containerStatus(cid)).log_path;
        const lines = await until('two log lines', async () => {
          let text = '';
          try {
            text = readFileSync(path, 'utf8');
          } catch {
            return undefined;
          }
          const ls = text.split('\n').filter(Boolean).map(parseCriLogLine);
          return ls.length >= 2 ? ls : undefined;
        });
        const sorted = lines.map((l) => [l?.stream, l?.partial, l?.text]).sort();
        assert.deepEqual(sorted, [['stderr', false, 'two'], ['stdout', false, 'one']]);
        assert.ok(lines.every((l) => l && !Number.isNaN(Date.parse(l.time))), 'every line starts with a timestamp');
      } finally {
        await rt.removePodSandbox(sid);
      }
    });

    it('reports a container that exits with its exit code and reason', async () => {
      const sc = sandboxConfig('job');
      const sid = await rt.runPodSandbox(sc);
      try {
        const failing = await rt.createContainer(sid, containerConfig('fails', ['sh', '-c', 'echo bye; exit 3']), sc);
        const passing = await rt.createContainer(sid, containerConfig('passes', ['sh', '-c', 'exit 0']), sc);
        await rt.startContainer(failing);
        await rt.startContainer(passing);
        const f = await until('the failing container to exit', async () => {
          const s = await rt.containerStatus(failing);
          return s.state === 'CONTAINER_EXITED' ? s : undefined;
        });
        assert.equal(f.exit_code, 3);
        assert.equal(f.reason, 'Error');
        // Not finished ≥ started: containerd stamps started_at after the task starts, and a process
        // that exits at once can carry an earlier exit time.
        assert.ok(BigInt(f.finished_at) >= BigInt(f.created_at) && BigInt(f.started_at) >= BigInt(f.created_at));
        const p = await until('the passing container to exit', async () => {
          const s = await rt.containerStatus(passing);
          return s.state === 'CONTAINER_EXITED' ? s : undefined;
        });
        assert.equal(p.exit_code, 0);
        assert.equal(p.reason, 'Completed');
        await assert.rejects(rt.startContainer(failing), (e) => isRuntimeError(e, 'Unknown'), 'an exited container cannot be started again');
      } finally {
        await rt.removePodSandbox(sid);
      }
    });

    it('refuses a second container of the same name and attempt in a sandbox', async () => {
      const sc = sandboxConfig('twins');
      const sid = await rt.runPodSandbox(sc);
      try {
        await rt.createContainer(sid, containerConfig('c', ['sleep', '3600']), sc);
        await assert.rejects(rt.createContainer(sid, containerConfig('c', ['sleep', '3600']), sc), (e) => isRuntimeError(e) && /reserve/.test(e.message));
      } finally {
        await rt.removePodSandbox(sid);
      }
    });

    it('removing a ready sandbox stops and removes its containers', async () => {
      const sc = sandboxConfig('doomed');
      const sid = await rt.runPodSandbox(sc);
      const cid = await rt.createContainer(sid, containerConfig('c', ['sleep', '3600']), sc);
      await rt.startContainer(cid);
      await rt.removePodSandbox(sid);
      await assert.rejects(rt.containerStatus(cid), isNotFound);
      await assert.rejects(rt.podSandboxStatus(sid), isNotFound);
    });

    it('fails with NotFound for unknown sandboxes, containers and images, and removes unknown ids quietly', async () => {
      const ghost = randomBytes(32).toString('hex');
      await assert.rejects(rt.containerStatus(ghost), isNotFound);
      await assert.rejects(rt.startContainer(ghost), isNotFound);
      await assert.rejects(rt.stopContainer(ghost, 1), isNotFound);
      await assert.rejects(rt.execSync(ghost, ['true'], 1), isNotFound);
      await assert.rejects(rt.podSandboxStatus(ghost), isNotFound);
      await assert.rejects(rt.stopPodSandbox(ghost), isNotFound);
      await rt.removeContainer(ghost);
      await rt.removePodSandbox(ghost);
      assert.equal(await rt.imageStatus('registry.rudder.test/absent:1'), null);
      const sc = sandboxConfig('noimage');
      const sid = await rt.runPodSandbox(sc);
      try {
        const cfg = { ...containerConfig('c', ['true']), image: { image: 'registry.rudder.test/absent:1' } };
        await assert.rejects(rt.createContainer(sid, cfg, sc), isNotFound);
        await assert.rejects(rt.createContainer(ghost, containerConfig('c', ['true']), sc), isNotFound);
      } finally {
        await rt.removePodSandbox(sid);
      }
    });

    it('a failed pull is a RuntimeError naming the image', async () => {
      await assert.rejects(rt.pullImage('registry.invalid/nothere:1'), (e) => isRuntimeError(e) && e.op === 'pullImage' && e.message.includes('registry.invalid/nothere:1'));
    });

    it('an exec that outlives its timeout fails with DeadlineExceeded', async () => {
      const sc = sandboxConfig('slow');
      const sid = await rt.runPodSandbox(sc);
      try {
        const cid = await rt.createContainer(sid, containerConfig('c', ['sleep', '3600']), sc);
        await rt.startContainer(cid);
        await assert.rejects(rt.execSync(cid, ['sleep', '5'], 1), (e) => isRuntimeError(e, 'DeadlineExceeded'));
      } finally {
        await rt.removePodSandbox(sid);
      }
    });

    it('says the runtime and its network are ready', async () => {
      const conditions = await rt.status();
      assert.deepEqual(conditions.filter((c) => c.status).map((c) => c.type).sort(), ['NetworkReady', 'RuntimeReady']);
      assert.equal((await rt.version()).runtime_api_version, 'v1');
    });
  });
}
