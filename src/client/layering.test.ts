// DESIGN.md §2: `client` imports `api` only (and node and npm libraries); `api` imports nothing
// of ours outside itself. Checked by reading the import statements.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const CLIENT = import.meta.dirname;
const SRC = resolve(CLIENT, '..');

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  // `import … from 'x'`, `export … from 'x'`, `import 'x'` and `import('x')`
  const re = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m; (m = re.exec(text)); ) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Where a relative import lands, as a path under src/ ("api/errors.ts"), or undefined for packages. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return relative(SRC, resolve(dirname(file), spec));
}

test('src/client imports only src/api, itself, node and npm packages', () => {
  const bad: string[] = [];
  for (const f of tsFiles(CLIENT)) {
    const isTest = f.endsWith('.test.ts');
    for (const spec of importsOf(f)) {
      const t = target(f, spec);
      if (t === undefined) continue;
      const ok = t.startsWith('api/') || t.startsWith('client/') || (isTest && t.startsWith('../test/'));
      if (!ok) bad.push(`${relative(SRC, f)} imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('nothing under src/client reaches src/storage, src/apiserver or src/cli', () => {
  const files = tsFiles(CLIENT);
  assert.ok(files.length > 5, 'the check reads the client sources');
  for (const f of files) {
    for (const spec of importsOf(f)) {
      const t = target(f, spec) ?? '';
      assert.ok(!/^(storage|apiserver|cli)\//.test(t), `${relative(SRC, f)} imports ${spec}`);
    }
  }
});

test('the Transport interface in src/api imports nothing outside src/api', () => {
  const f = join(SRC, 'api', 'transport.ts');
  const specs = importsOf(f);
  assert.ok(specs.length > 0);
  for (const spec of specs) {
    const t = target(f, spec);
    assert.ok(t === undefined ? spec.startsWith('node:') : t.startsWith('api/'), `api/transport.ts imports ${spec}`);
  }
});
