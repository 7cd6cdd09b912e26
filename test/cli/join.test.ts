// The joining commands as a user runs them: rudder token create|list|delete against a real server,
// rudder agent / sim / images flag errors in one line, and an agent refused in one line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, RUDDER, startServer, type TestServer } from '../harness.ts';

function run(...args: string[]) {
  const r = spawnSync(RUDDER, args, { encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Runs rudder without blocking the event loop (the test's server answers meanwhile). */
function runAsync(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(RUDDER, args, { env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

const oneLine = (s: string) => s.trim().split('\n').length === 1;
const HASH = 'a'.repeat(64);
const TOKEN = `K10${HASH}::abcdef.0123456789abcdef`;

describe('help', () => {
  it('rudder lists agent, sim, token and images', () => {
    const r = run();
    for (const c of ['agent', 'sim', 'token', 'images']) assert.match(r.out, new RegExp(`^  ${c}\\s+\\S`, 'm'));
  });

  it('each answers --help with its usage and flags', () => {
    const agent = run('agent', '--help');
    assert.equal(agent.code, 0);
    assert.match(agent.out, /^Usage: rudder agent --server https:\/\/HOST:PORT --token TOKEN \[flags\]$/m);
    for (const f of ['--server', '--token', '--data-dir', '--node-name', '--node-ip', '--kubelet-port', '--container-runtime-endpoint', '--cluster-dns', '--cluster-dns-processes', '--resolv-conf', '--registry-config', '--simulated']) {
      assert.ok(agent.out.includes(f), f);
    }
    assert.match(run('sim', '--help').out, /^Usage: rudder sim --server https:\/\/HOST:PORT --token TOKEN --nodes N \[flags\]$/m);
    const token = run('token', '--help');
    assert.match(token.out, /^Usage: rudder token create\|list\|delete \[flags\]$/m);
    assert.match(token.out, /--ttl DURATION\s+how long the token is valid \(0: it never expires\) \(default 24h\)/);
    assert.match(run('images', '--help').out, /^Usage: rudder images import \[--data-dir DIR\] FILE\.tar…$/m);
  });
});

describe('flag errors are one line and exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rudder-cli-join-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string[], RegExp][] = [
    [['agent'], /required flag --server not set/],
    [['agent', '--server', 'https://192.0.2.1:6443'], /required flag --token not set/],
    [['agent', '--server', 'http://192.0.2.1:6443', '--token', TOKEN], /invalid value "http:\/\/192\.0\.2\.1:6443" for flag --server: expected https:\/\/HOST:PORT/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', 'abcdef.0123456789abcdef'], /invalid join token: expected K10<ca-hash>::<id>\.<secret>, as printed by "rudder token create" on a server/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--node-ip', 'nine'], /invalid value "nine" for flag --node-ip: not an IP address/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--kubelet-port', '70000'], /invalid value "70000" for flag --kubelet-port: must be 1-65535/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--cluster-cidr', '10.42.0.0'], /invalid value "10\.42\.0\.0" for flag --cluster-cidr/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--cluster-dns-processes', '0'], /invalid value "0" for flag --cluster-dns-processes: must be 1-64/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--registry-config', '/nonexistent.yaml'], /--registry-config \/nonexistent\.yaml: no such file/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--node-name', 'Not_A_Name'], /invalid value "Not_A_Name" for flag --node-name/],
    [['agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--container-runtime-endpoint', '/run/containerd.sock'], /expected unix:\/\/\/path\/to\/socket/],
    [['sim', '--server', 'https://192.0.2.1:6443', '--token', TOKEN], /required flag --nodes not set/],
    [['sim', '--nodes', '3'], /give either --token \(with --server\) or --kubeconfig/],
    [['sim', '--token', TOKEN, '--nodes', '3'], /required flag --server not set/],
    [['token'], /missing subcommand: create, list or delete/],
    [['token', 'mint'], /unknown subcommand "mint": expected create, list or delete/],
    [['token', 'create', '--ttl', 'soon'], /invalid value "soon" for flag --ttl: must be a duration/],
    [['token', 'delete'], /expected one token \(or token id\) to delete/],
    [['images'], /missing subcommand: import/],
    [['images', 'import'], /expected one or more image tarballs/],
  ];
  for (const [args, msg] of cases) {
    it(`rudder ${args.join(' ')}`, () => {
      const r = run(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.ok(oneLine(r.err), `one line: ${r.err}`);
      assert.match(r.err, msg);
    });
  }

  it('a registries file that does not parse is named in one line', () => {
    const f = join(dir, 'registries.yaml');
    writeFileSync(f, 'mirrors: [1, 2]\n');
    const r = run('agent', '--server', 'https://192.0.2.1:6443', '--token', TOKEN, '--registry-config', f);
    assert.equal(r.code, 2);
    assert.ok(oneLine(r.err));
    assert.match(r.err, new RegExp(`${f.replace(/[.]/g, '\\.')}: mirrors`));
  });

  it('token create without a kubeconfig says where it looked', () => {
    const r = run('token', 'create', '--data-dir', join(dir, 'none'));
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), `rudder token: no kubeconfig at ${join(dir, 'none', 'kubeconfig.yaml')}: run this on a server machine, or pass --kubeconfig FILE`);
  });

  it('images import without a running agent says how to get the image in', () => {
    const f = join(dir, 'x.tar');
    writeFileSync(f, '');
    const r = run('images', 'import', '--data-dir', join(dir, 'agentless'), f);
    assert.equal(r.code, 1);
    assert.ok(oneLine(r.err));
    assert.match(r.err, /the agent's containerd for .* is not running: start the agent, or copy .*x\.tar into .*agent\/images\/ to import it at the next start/);
  });
});

describe('without root', () => {
  const asNobody = (...args: string[]) => {
    const r = spawnSync('runuser', ['-u', 'nobody', '--', 'env', 'HOME=/tmp', 'PATH=/usr/bin:/bin', RUDDER, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const dir = mkdtempSync(join(tmpdir(), 'rudder-cli-nobody-'));
  // nobody must reach the launcher: a checkout in a directory only root may enter (a scratch
  // clone from mktemp -d) gets o+x (enter, not list) on it and such ancestors for the test, put back after.
  const opened: { path: string; mode: number }[] = [];
  before(() => {
    for (let p = ROOT; ; p = dirname(p)) {
      const mode = statSync(p).mode & 0o7777;
      if (!(mode & 0o001)) {
        chmodSync(p, mode | 0o001);
        opened.push({ path: p, mode });
      }
      if (p === dirname(p)) break;
    }
  });
  after(() => {
    for (const o of opened) chmodSync(o.path, o.mode);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an agent that would run containers says in one line that it needs root, before contacting anything', () => {
    const r = asNobody('agent', '--server', 'https://127.0.0.1:1', '--token', TOKEN, '--data-dir', join(dir, 'a'), '--node-ip', '192.0.2.5');
    assert.equal(r.code, 1);
    assert.equal(r.err.trim(), 'rudder agent: running containers needs root: run the agent as root, or use --simulated, or point --container-runtime-endpoint at a running containerd');
  });

  it('--simulated needs no root (it goes on to contact the server)', () => {
    const r = asNobody('agent', '--server', 'https://127.0.0.1:1', '--token', TOKEN, '--simulated', '--data-dir', join(dir, 'b'), '--node-ip', '192.0.2.5');
    assert.equal(r.code, 1);
    assert.match(r.err.trim(), /^rudder agent: cannot reach the server at https:\/\/127\.0\.0\.1:1: ECONNREFUSED/);
  });
});

describe('tokens on a real server', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'rudder-cli-join-'));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const caHash = () => createHash('sha256').update(new X509Certificate(server.creds.ca).raw).digest('hex');

  it('token create prints a join token pinning the cluster CA and makes the bootstrap Secret', async () => {
    const r = await runAsync('token', 'create', '--kubeconfig', server.kubeconfig, '--ttl', '2h', '--description', 'for worker 7');
    assert.equal(r.code, 0, r.err);
    const m = /^K10([0-9a-f]{64})::([a-z0-9]{6})\.([a-z0-9]{16})\n$/.exec(r.out);
    assert.ok(m, r.out);
    assert.equal(m[1], caHash());
    const secret = JSON.parse(await server.k(['get', 'secret', '-n', 'kube-system', `bootstrap-token-${m[2]}`, '-o', 'json']));
    assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
    const data = Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.equal(data['token-id'], m[2]);
    assert.equal(data['token-secret'], m[3]);
    assert.equal(data['usage-bootstrap-authentication'], 'true');
    assert.equal(data['usage-bootstrap-signing'], 'true');
    assert.equal(data['auth-extra-groups'], 'system:bootstrappers:rudder:default-node-token');
    assert.equal(data.description, 'for worker 7');
    const left = Date.parse(data.expiration!) - Date.now();
    assert.ok(left > 7100_000 && left <= 7200_000, `expires in ${left} ms`);
    // and the permissions joining needs
    const crb = JSON.parse(await server.k(['get', 'clusterrolebinding', 'rudder:node-autoapprove-bootstrap', '-o', 'json']));
    assert.equal(crb.roleRef.name, 'system:certificates.k8s.io:certificatesigningrequests:nodeclient');
    assert.deepEqual(crb.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:bootstrappers:rudder:default-node-token' }]);
  });

  it('--ttl 0 makes a token that never expires; list shows it; delete revokes it', async () => {
    const r = await runAsync('token', 'create', '--kubeconfig', server.kubeconfig, '--ttl', '0');
    assert.equal(r.code, 0, r.err);
    const id = /::([a-z0-9]{6})\./.exec(r.out)![1]!;
    const secret = JSON.parse(await server.k(['get', 'secret', '-n', 'kube-system', `bootstrap-token-${id}`, '-o', 'json']));
    assert.equal(secret.data.expiration, undefined);
    const l = await runAsync('token', 'list', '--kubeconfig', server.kubeconfig);
    assert.equal(l.code, 0, l.err);
    assert.match(l.out, /^ID\s+TTL\s+EXPIRES\s+DESCRIPTION$/m);
    assert.match(l.out, new RegExp(`^${id}\\s+<forever>\\s+<never>\\s+rudder node join token$`, 'm'));
    const d = await runAsync('token', 'delete', '--kubeconfig', server.kubeconfig, r.out.trim());
    assert.equal(d.code, 0, d.err);
    assert.equal(d.out.trim(), `bootstrap token "${id}" deleted`);
    assert.equal((await server.kubectl(['get', 'secret', '-n', 'kube-system', `bootstrap-token-${id}`])).code, 1);
  });

  it('an agent with a wrong token is refused in one line, exits non-zero and gets no node', async () => {
    const token = `K10${caHash()}::abcdef.0000000000000000`;
    const r = await runAsync('agent', '--server', server.url, '--token', token, '--simulated', '--data-dir', join(dir, 'a'), '--node-name', 'refused-1', '--node-ip', '192.0.2.9');
    assert.equal(r.code, 1, JSON.stringify(r));
    assert.ok(oneLine(r.err), r.err);
    assert.match(r.err.trim(), new RegExp(`^rudder agent: the server at ${server.url.replace(/[.]/g, '\\.')} refused the join token abcdef: it is wrong, expired or revoked \\(make a new one with "rudder token create" on a server\\)$`));
    assert.equal((await server.kubectl(['get', 'node', 'refused-1'])).code, 1);
  });

  it('an agent whose token pins another CA never trusts the server', async () => {
    const r = await runAsync('agent', '--server', server.url, '--token', TOKEN, '--simulated', '--data-dir', join(dir, 'b'), '--node-name', 'refused-2', '--node-ip', '192.0.2.9');
    assert.equal(r.code, 1);
    assert.match(r.err, /rudder agent: the server at https:\/\/127\.0\.0\.1:\d+ presents a CA \(sha256 [0-9a-f]{16}…\) that is not the one the join token pins \(sha256 aaaaaaaaaaaaaaaa…\): wrong --server, or a token of another cluster/);
  });

  it('an agent that cannot reach its server says so', async () => {
    const r = await runAsync('agent', '--server', 'https://127.0.0.1:1', '--token', TOKEN, '--simulated', '--data-dir', join(dir, 'c'), '--node-ip', '192.0.2.9');
    assert.equal(r.code, 1);
    assert.match(r.err, /^rudder agent: cannot reach the server at https:\/\/127\.0\.0\.1:1: ECONNREFUSED/m);
  });
});
