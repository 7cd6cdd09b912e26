// For tests: the upstream OpenAPI description of the Kubernetes API that serves as a test oracle
// (shared/data; its README says how it may be used). CI has it beside the checkout; a clone of a
// local checkout (a CI run from a scratch clone) finds it beside the checkout it was cloned from.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

const FILE = join('shared', 'data', 'kubernetes-1.36-openapi-v2.json');

/** The oracle document, parsed; throws saying where it was looked for when it is nowhere. */
export function readOpenApiOracle(): any {
  const root = resolve(import.meta.dirname, '..', '..');
  const places = [join(root, '..', FILE)];
  try {
    const origin = execFileSync('git', ['-C', root, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const path = origin.startsWith('file://') ? origin.slice('file://'.length) : origin;
    if (isAbsolute(path)) places.push(join(path, '..', FILE));
  } catch {
    // not a git checkout, or no origin: beside the checkout is the only place
  }
  const found = places.find((p) => existsSync(p));
  if (!found) throw new Error(`the upstream OpenAPI oracle is not at ${places.join(' nor ')}: clone the project beside shared/`);
  return JSON.parse(readFileSync(found, 'utf8'));
}
