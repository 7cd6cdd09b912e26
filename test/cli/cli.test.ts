// The rudder command line: a table of subcommands, --help everywhere, one-line errors for bad flags.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RUDDER } from '../harness.ts';

function run(...args: string[]) {
  const r = spawnSync(RUDDER, args, { encoding: 'utf8', timeout: 30_000, env: { PATH: '/usr/bin:/bin' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('rudder with no command lists the commands and exits non-zero', () => {
  const r = run();
  assert.equal(r.code, 1);
  assert.match(r.out, /^Usage: rudder COMMAND \[flags\]$/m);
  for (const c of ['server', 'controller-manager', 'kubectl', 'version']) assert.match(r.out, new RegExp(`^  ${c}\\s+\\S`, 'm'));
});

test('every command answers --help with its usage and flags', () => {
  for (const c of ['server', 'controller-manager', 'version']) {
    const r = run(c, '--help');
    assert.equal(r.code, 0, c);
    assert.match(r.out, new RegExp(`^Usage: rudder ${c}`, 'm'));
  }
  const s = run('server', '--help').out;
  for (const f of ['--data-dir', '--https-listen-port', '--datastore-endpoint', '--service-cidr', '--disable-agent', '--tls-san']) assert.ok(s.includes(f), f);
});

test('a bad flag is one line on stderr and exit code 2', () => {
  for (const [args, msg] of [
    [['server', '--no-such-flag'], /unknown flag: --no-such-flag/],
    [['server', '--https-listen-port', 'abc'], /invalid value "abc" for flag --https-listen-port: must be an integer/],
    [['server', '--service-cidr', '10.0.0.0/33'], /invalid value "10\.0\.0\.0\/33" for flag --service-cidr/],
    [['server', '--node-monitor-grace-period', 'soon'], /must be a duration/],
    [['server', '--datastore-endpoint'], /flag needs an argument: --datastore-endpoint/],
    [['controller-manager'], /required flag --kubeconfig not set/],
  ] as [string[], RegExp][]) {
    const r = run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.match(r.err, msg);
  }
});

test('an unknown command says so in one line', () => {
  const r = run('frobnicate');
  assert.equal(r.code, 2);
  assert.match(r.err.trim(), /^rudder: unknown command "frobnicate"; run "rudder --help" for the list$/);
});

test('rudder version names the Kubernetes API level', () => {
  const r = run('version');
  assert.equal(r.code, 0);
  assert.match(r.out, /^rudder version v\d+\.\d+\.\d+ \(Kubernetes v1\.33\.\d+\S*, Node\.js v24\./);
});

test('the launcher runs the project\'s Node 24 whatever node is on PATH', () => {
  // PATH above holds only /usr/bin:/bin, where node is the machine's older one (or none)
  assert.equal(run('version').code, 0);
});

test('an unusable datastore endpoint is a one-line error, not a half-started server, and leaves nothing behind', () => {
  const parent = mkdtempSync(join(tmpdir(), 'rudder-cli-test-'));
  try {
    const dataDir = join(parent, 'data');
    const r = run('server', '--data-dir', dataDir, '--datastore-endpoint', 'mysql://x', '--https-listen-port', '0', '--bind-address', '127.0.0.1', '--disable-agent');
    assert.equal(r.code, 1);
    assert.match(r.err.trim(), /^rudder server: unsupported datastore endpoint "mysql:\/\/x": expected sqlite:\/\/\/absolute\/path\.db or http\(s\):\/\/host:port/);
    assert.equal(existsSync(dataDir), false, 'the data dir was not made');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
