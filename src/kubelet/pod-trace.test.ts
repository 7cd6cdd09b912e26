// The start-up trace a benchmark asks for with --pod-startup-trace: every mark reaches the file as
// one JSON line naming the pod, its uid, the stage and when; without the option nothing is written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileTracer, NO_TRACE, tracerFor } from './pod-trace.ts';

const pod = { metadata: { namespace: 'ns', name: 'web', uid: 'u-1' } };

describe('pod start-up trace', () => {
  it('writes each mark as a JSON line with the pod, stage, detail and a time since the epoch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rudder-trace-'));
    try {
      const file = join(dir, 't.jsonl');
      const before = Date.now();
      const tr = fileTracer(file, 10);
      tr.mark(pod, 'sync');
      tr.mark(pod, 'status-sent', 'Running');
      await new Promise((r) => setTimeout(r, 100));
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map(({ t: _t, ...rest }) => rest), [
        { pod: 'ns/web', uid: 'u-1', stage: 'sync' },
        { pod: 'ns/web', uid: 'u-1', stage: 'status-sent', detail: 'Running' },
      ]);
      for (const l of lines) assert.ok(l.t >= before - 1 && l.t <= Date.now() + 1, `time ${l.t} is now`);
      assert.ok(lines[1].t >= lines[0].t);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is off without a trace file configured, and on with one', async () => {
    assert.equal(tracerFor(undefined), NO_TRACE);
    const dir = mkdtempSync(join(tmpdir(), 'rudder-trace-'));
    try {
      const file = join(dir, 't.jsonl');
      const tr = tracerFor(file);
      tr.mark(pod, 'informer');
      await new Promise((r) => setTimeout(r, 400));
      assert.ok(existsSync(file));
      assert.match(readFileSync(file, 'utf8'), /"stage":"informer"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
