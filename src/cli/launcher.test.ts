// bin/rudder's compile-only pass before `rudder agent`: the agent's own process must find every
// module it runs in Node's compile cache, or it loads the TypeScript stripper and keeps it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const RUDDER = join(import.meta.dirname, '..', '..', 'bin', 'rudder');
const work = mkdtempSync(join(tmpdir(), 'rudder-launcher-test-'));
const cache = join(work, 'compile-cache');
after(() => rmSync(work, { recursive: true, force: true }));

// Prints, as the process exits, whether Node's TypeScript stripper (amaro) was loaded.
const REPORT_STRIPPER = join(work, 'report-stripper.mjs');
writeFileSync(REPORT_STRIPPER, "process.on('exit', () => process.stdout.write(`stripper=${process.moduleLoadList.some((m) => m.includes('amaro'))}\\n`));\n");

function rudder(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(RUDDER, args, { encoding: 'utf8', timeout: 60_000, env: { PATH: '/usr/bin:/bin', NODE_COMPILE_CACHE: cache, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the first rudder agent fills the compile cache before it starts, and its own process strips no TypeScript', () => {
  const first = rudder(['agent', '--help'], { NODE_OPTIONS: `--import=${REPORT_STRIPPER}` });
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /^Usage: rudder agent --server/m);
  assert.match(first.out, /^stripper=false$/m, 'the agent process found main.ts and the agent command compiled');
  assert.ok(readdirSync(cache).some((f) => f.startsWith('v24.')), 'the cache holds compiled modules');
  // Every module the agent loads later (its components) came from the pass too: a second pass
  // loading all of them needs no stripping.
  const all = rudder(['agent'], { RUDDER_COMPILE_ONLY: '1', NODE_OPTIONS: `--import=${REPORT_STRIPPER}` });
  assert.equal(all.code, 0, all.err);
  assert.equal(all.out.trim(), 'stripper=false');
});

test('a command that is not the agent gets no compile-only pass', () => {
  const r = rudder(['version'], { NODE_COMPILE_CACHE: join(work, 'version-cache') });
  assert.equal(r.code, 0, r.err);
  assert.ok(!readdirSync(join(work, 'version-cache')).some((f) => f.startsWith('agent-compiled')));
});

test('an agent start where the compile cache cannot be created still runs', () => {
  const r = rudder(['agent', '--help'], { NODE_COMPILE_CACHE: join(REPORT_STRIPPER, 'not-a-dir') });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^Usage: rudder agent --server/m);
});

test('the agent runs without V8\'s baseline and mid-tier compilers and with two malloc arenas; other commands keep the defaults', () => {
  const report = join(work, 'report-flags.mjs');
  writeFileSync(report, "process.on('exit', () => process.stdout.write(`flags=${process.execArgv.filter((a) => !a.startsWith('--disable-warning')).join(' ')} arenas=${process.env.MALLOC_ARENA_MAX}\\n`));\n");
  const agent = rudder(['agent', '--help'], { NODE_OPTIONS: `--import=${report}` });
  assert.equal(agent.code, 0, agent.err);
  assert.match(agent.out, /^flags=--no-sparkplug --no-maglev arenas=2$/m);
  const version = rudder(['version'], { NODE_OPTIONS: `--import=${report}` });
  assert.equal(version.code, 0, version.err);
  assert.match(version.out, /^flags= arenas=undefined$/m);
});
