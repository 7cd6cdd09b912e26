import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  Containerd, RuntimeSetupError, UNUSED_PLUGINS, containerdConfigToml, importImagesOnce, lastLoggedError, parseImportOutput,
  runtimePrerequisiteProblem, type ContainerdEvent, type ContainerdOptions,
} from './containerd.ts';
import { parseRegistries } from './registries.ts';
import { CriRuntime } from './cri-runtime.ts';
import { pidsWithArgs, startTestNode, testImageTarballs, TEST_IMAGES, type TestNode } from './testenv.ts';

const K3S_STYLE = `
mirrors:
  docker.io:
    endpoint:
      - "http://127.0.0.1:5000"
  "*":
    endpoint: ["http://127.0.0.1:5000"]
configs:
  "127.0.0.1:5000":
    auth:
      username: tester
      password: "p@ss\\"word"
    tls:
      insecure_skip_verify: true
`;

describe('containerd configuration', () => {
  it('is read by containerd itself with rudder\'s settings, mirrors and credentials in place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rudder-cfg-'));
    try {
      const cfg = join(dir, 'config.toml');
      writeFileSync(cfg, containerdConfigToml({ dir, cniConfDir: join(dir, 'net.d'), registries: parseRegistries(K3S_STYLE), sandboxImage: 'registry.k8s.io/pause:3.10' }));
      // `config dump` prints the configuration containerd parsed, defaults merged in.
      const dump = execFileSync('containerd', ['--config', cfg, 'config', 'dump'], { encoding: 'utf8' });
      const has = (line: string): void => assert.ok(dump.split('\n').some((l) => l.trim() === line), `config dump has ${line}`);
      has(`root = "${dir}/root"`);
      has(`state = "${dir}/state"`);
      has(`address = "${dir}/containerd.sock"`);
      has('sandbox_image = "registry.k8s.io/pause:3.10"');
      has('restrict_oom_score_adj = true');
      has('netns_mounts_under_state_dir = true');
      has('stream_server_address = "127.0.0.1"');
      has('stream_server_port = "0"');
      has('SystemdCgroup = false');
      has('bin_dir = "/usr/lib/cni"');
      has(`conf_dir = "${dir}/net.d"`);
      has('max_conf_num = 1');
      for (const p of UNUSED_PLUGINS) assert.match(dump, new RegExp(`disabled_plugins = \\[.*"${p.replace(/\./g, '\\.')}"`), `${p} is disabled`);
      has('endpoint = ["http://127.0.0.1:5000"]');
      has('username = "tester"');
      has('password = "p@ss\\"word"');
      has('insecure_skip_verify = true');
      assert.match(dump, /registry\.mirrors\."\*"\]/);
      assert.match(dump, /registry\.mirrors\."docker\.io"\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses registries files it cannot honour, naming the key', () => {
    assert.throws(() => parseRegistries('mirrors:\n  docker.io:\n    endpoint: ["http://x"]\n    rewrite:\n      "^a/(.*)": "b/$1"\n', 'r.yaml'), /^Error: r\.yaml: mirrors\.docker\.io\.rewrite: rewrite rules are not supported/);
    assert.throws(() => parseRegistries('mirror:\n  x: {}\n', 'r.yaml'), /r\.yaml: unknown key "mirror" \(expected mirrors, configs\)/);
    assert.throws(() => parseRegistries('mirrors:\n  x:\n    endpoint: ["ftp://h"]\n'), /mirrors\.x\.endpoint: "ftp:\/\/h" is not an http or https URL/);
    assert.throws(() => parseRegistries('configs:\n  h:\n    auth:\n      user: x\n'), /configs\.h\.auth: unknown key "user"/);
    assert.throws(() => parseRegistries('configs:\n  h:\n    tls:\n      insecure_skip_verify: "yes"\n'), /insecure_skip_verify: expected true or false/);
    assert.throws(() => parseRegistries(': :\n- [', 'r.yaml'), /^Error: r\.yaml: not valid YAML/);
    assert.deepEqual(parseRegistries(''), { mirrors: {}, configs: {} });
  });
});

describe('runtime prerequisites', () => {
  it('says in one line what is missing and how to install it', () => {
    assert.match(runtimePrerequisiteProblem({ uid: 1000 })!, /^running containers needs root: .*--simulated/);
    const empty = mkdtempSync(join(tmpdir(), 'rudder-path-'));
    try {
      assert.equal(runtimePrerequisiteProblem({ uid: 0, path: empty }), 'containerd is not installed: install with: apt-get install containerd runc containernetworking-plugins');
      for (const b of ['containerd', 'containerd-shim-runc-v2']) {
        writeFileSync(join(empty, b), '');
        chmodSync(join(empty, b), 0o755);
      }
      assert.equal(runtimePrerequisiteProblem({ uid: 0, path: empty }), 'runc is not installed: install with: apt-get install containerd runc containernetworking-plugins');
      writeFileSync(join(empty, 'runc'), '');
      assert.equal(
        runtimePrerequisiteProblem({ uid: 0, path: empty, cniBinDir: join(empty, 'cni') }),
        `the CNI plugin bridge is missing from ${join(empty, 'cni')}: install with: apt-get install containerd runc containernetworking-plugins`,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    assert.match(runtimePrerequisiteProblem({ uid: 0, netns: '/run/netns/rudder-no-such-ns' })!, /^network namespace \/run\/netns\/rudder-no-such-ns does not exist/);
  });

  it('reads containerd\'s last error and ctr\'s imported names from their output', () => {
    const log = [
      'time="2026-01-01T00:00:00Z" level=info msg="starting containerd" revision= version=1.6.20',
      'time="2026-01-01T00:00:01Z" level=fatal msg="failed to get listener for main endpoint" error="listen unix /x/containerd.sock: bind: address already in use"',
      'time="2026-01-01T00:00:01Z" level=error msg="failed to load cni during init"',
    ].join('\n');
    assert.equal(lastLoggedError(log), 'failed to get listener for main endpoint: listen unix /x/containerd.sock: bind: address already in use');
    assert.equal(lastLoggedError('level=info msg="ok"'), undefined);
    assert.equal(lastLoggedError(`${log}\ncontainerd: failed to get listener for main endpoint: is a directory\n`), 'failed to get listener for main endpoint: is a directory');
    assert.deepEqual(parseImportOutput('unpacking docker.io/library/busybox:1.36 (sha256:c6b5eb6406df67008293ca77a9be96e7e4c44ee2e397578d31caf787482fb369)...done\n'), ['docker.io/library/busybox:1.36']);
  });
});

describe('containerd supervision (real containerd, in a private network namespace)', () => {
  let node: TestNode;
  let rt: CriRuntime;
  let sandboxId: string;
  let containerId: string;
  const options = (): ContainerdOptions => ({ dir: node.containerd.paths.config.replace(/\/config\.toml$/, ''), cniConfDir: join(node.dir, 'cni', 'net.d'), netns: node.netnsPath });
  const running = async (): Promise<boolean> => (await rt.containerStatus(containerId)).state === 'CONTAINER_RUNNING';

  before(async () => {
    node = await startTestNode({ podCidr: '10.244.3.0/24' });
    rt = new CriRuntime(node.endpoint);
    const sc = { metadata: { name: 'survivor', uid: 'survivor-uid', namespace: 'default', attempt: 0 }, hostname: 'survivor', log_directory: join(node.dir, 'pods', 'survivor') };
    sandboxId = await rt.runPodSandbox(sc);
    containerId = await rt.createContainer(sandboxId, { metadata: { name: 'c' }, image: { image: TEST_IMAGES.busybox }, command: ['sleep', '3600'], log_path: 'c/0.log' }, sc);
    await rt.startContainer(containerId);
  });
  after(async () => {
    await rt?.close();
    await node?.cleanup();
  });

  it('a restarted agent adopts the running containerd; containers are untouched', async () => {
    const pid = node.containerd.pid!;
    node.containerd.release(); // the first agent goes away without stopping containerd
    // A second agent, killed -9 after it adopted: adoption leaves nothing to clean up either.
    const script = `import { Containerd } from './src/kubelet/runtime/containerd.ts';
      const c = new Containerd(${JSON.stringify(options())});
      console.log(await c.start(), c.pid);
      setInterval(() => {}, 1000);`;
    const agent = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => agent.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    agent.kill('SIGKILL');
    assert.equal(line, `adopted ${pid}`);
    const third = new Containerd(options());
    assert.equal(await third.start(), 'adopted');
    assert.equal(third.pid, pid);
    assert.ok(await running());
    third.release();
  });

  it('restarts containerd when it dies, and when its configuration changed; containers survive both', async () => {
    const events: ContainerdEvent[] = [];
    const c = new Containerd({ ...options(), logLevel: 'warn', onEvent: (e) => events.push(e) });
    const before = Number((await promisify(execFile)('cat', [c.paths.pidFile])).stdout);
    assert.equal(await c.start(), 'started', 'a changed configuration means a fresh containerd');
    assert.notEqual(c.pid, before);
    assert.ok(await running());

    const first = c.pid!;
    process.kill(first, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (!events.some((e) => e.type === 'started' && e.pid !== first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(events.map((e) => e.type), ['started', 'exited', 'started']);
    assert.notEqual(c.pid, first);
    assert.ok(await running());
    assert.equal((await rt.execSync(containerId, ['echo', 'still here'], 10)).stdout.toString(), 'still here\n');

    await c.stop();
    assert.ok(pidsWithArgs('-address', c.paths.socket).length > 0, 'the shim outlives containerd');
    const again = new Containerd({ ...options(), logLevel: 'warn' });
    assert.equal(await again.start(), 'started');
    assert.ok(await running(), 'the container kept running while containerd was down');
    again.release();
  });

  it('fails to start with containerd\'s own reason in one line', async () => {
    const dir = mkdtempSync('/tmp/rudder-t-bad-');
    try {
      mkdirSync(join(dir, 'containerd.sock', 'occupied'), { recursive: true });
      const c = new Containerd({ dir, cniConfDir: join(dir, 'net.d'), netns: node.netnsPath, startTimeoutMs: 15_000 });
      await assert.rejects(c.start(), (e) => {
        assert.ok(e instanceof RuntimeSetupError);
        assert.match(e.message, /^containerd exited during start-up: failed to get listener for main endpoint: is a directory \(log: .*containerd\.log\)$/);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports the tarballs of the images directory once each', async () => {
    const images = join(node.dir, 'agent-images');
    mkdirSync(images);
    const [, busybox] = testImageTarballs();
    copyFileSync(busybox, join(images, 'busybox.tar'));
    writeFileSync(join(images, 'notes.txt'), 'not an image');
    const record = join(node.dir, 'imported.json');
    const first = await importImagesOnce(node.containerd.paths.socket, images, record);
    assert.deepEqual(first, { imported: { 'busybox.tar': ['docker.io/library/busybox:1.36'] }, failed: {} });
    assert.deepEqual(await importImagesOnce(node.containerd.paths.socket, images, record), { imported: {}, failed: {} });
    utimesSync(join(images, 'busybox.tar'), new Date(), new Date(Date.now() + 5000));
    writeFileSync(join(images, 'broken.tar'), 'garbage');
    const third = await importImagesOnce(node.containerd.paths.socket, images, record);
    assert.deepEqual(third.imported, { 'busybox.tar': ['docker.io/library/busybox:1.36'] });
    assert.match(third.failed['broken.tar'], /^importing .*broken\.tar: /);
  });
});
