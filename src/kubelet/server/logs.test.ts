import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatCriLogLine } from '../runtime/runtime.ts';
import { LogQueryError, fixedNanoTimestamp, parseCriEntry, parsePodLogQuery, readContainerLog, tailStartOffset, type LogReadOptions } from './logs.ts';

const dir = mkdtempSync(join(tmpdir(), 'rudder-logs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content: string) => {
  const p = join(dir, `${n++}.log`);
  writeFileSync(p, content);
  return p;
};

const L = (t: string, stream: 'stdout' | 'stderr', text: string, partial = false) => formatCriLogLine(t, stream, text, partial);

/** Reads a log with options; `running` false unless given. */
async function read(path: string, o: Partial<LogReadOptions>, running: () => Promise<boolean> = async () => false, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  await readContainerLog(path, { follow: false, timestamps: false, ...o }, { write: async (c) => void chunks.push(c), signal: signal ?? new AbortController().signal }, running);
  return Buffer.concat(chunks).toString();
}

const sample = [
  L('2024-05-01T10:00:00.1Z', 'stdout', 'one'),
  L('2024-05-01T10:00:01.123456789Z', 'stderr', 'two'),
  L('2024-05-01T10:00:02Z', 'stdout', 'par', true),
  L('2024-05-01T10:00:02.5Z', 'stdout', 'tial'),
  L('2024-05-01T10:00:03Z', 'stdout', 'four'),
].join('');

describe('CRI log files', () => {
  it('print stdout and stderr in file order, joining partial lines', async () => {
    assert.equal(await read(file(sample), {}), 'one\ntwo\npartial\nfour\n');
  });

  it('--timestamps prefixes each new line with its time, nine fraction digits, not the continuation of a partial one', async () => {
    assert.equal(
      await read(file(sample), { timestamps: true }),
      '2024-05-01T10:00:00.100000000Z one\n2024-05-01T10:00:01.123456789Z two\n2024-05-01T10:00:02.000000000Z partial\n2024-05-01T10:00:03.000000000Z four\n',
    );
    assert.equal(fixedNanoTimestamp('2024-05-01T10:00:00+02:00'), '2024-05-01T10:00:00.000000000+02:00');
    assert.equal(fixedNanoTimestamp('2024-05-01T10:00:00.5+00:00'), '2024-05-01T10:00:00.500000000Z');
  });

  it('--tail counts physical lines from the end; an unterminated last line is not one', async () => {
    assert.equal(await read(file(sample), { tailLines: 1 }), 'four\n');
    assert.equal(await read(file(sample), { tailLines: 2 }), 'tial\nfour\n');
    assert.equal(await read(file(sample), { tailLines: 0 }), '');
    assert.equal(await read(file(sample), { tailLines: 100 }), 'one\ntwo\npartial\nfour\n');
    const p = file(sample + '2024-05-01T10:00:04Z stdout F unterminated');
    const fh = await open(p);
    assert.equal(await tailStartOffset(fh, 1), Buffer.byteLength(sample) - Buffer.byteLength(L('2024-05-01T10:00:03Z', 'stdout', 'four')));
    await fh.close();
  });

  it('--since drops older lines; --limit-bytes cuts the output', async () => {
    const since = BigInt(Date.parse('2024-05-01T10:00:01.2Z')) * 1_000_000n;
    assert.equal(await read(file(sample), { sinceNanos: since }), 'partial\nfour\n');
    assert.equal(await read(file(sample), { limitBytes: 6 }), 'one\ntw');
    assert.equal(await read(file(sample), { limitBytes: 6, timestamps: true }), '2024-0');
  });

  it('skip lines that are not CRI log lines', async () => {
    assert.equal(parseCriEntry(Buffer.from('garbage')), undefined);
    assert.equal(parseCriEntry(Buffer.from('2024-05-01T10:00:00Z stdin F x')), undefined);
    assert.equal(await read(file(`not a log line\n${L('2024-05-01T10:00:00Z', 'stdout', 'ok')}`), {}), 'ok\n');
    // An empty line is written as a bare tag.
    assert.equal(await read(file('2024-05-01T10:00:00Z stdout F\n'), {}), '\n');
  });

  it('-f waits for new lines and stops once the container is no longer running', async () => {
    const p = file(L('2024-05-01T10:00:00Z', 'stdout', 'first'));
    let running = true;
    const out: string[] = [];
    const done = readContainerLog(p, { follow: true, timestamps: false }, { write: async (c) => void out.push(c.toString()), signal: new AbortController().signal }, async () => running);
    while (out.join('') !== 'first\n') await new Promise((r) => setTimeout(r, 10));
    appendFileSync(p, L('2024-05-01T10:00:01Z', 'stdout', 'second'));
    while (out.join('') !== 'first\nsecond\n') await new Promise((r) => setTimeout(r, 10));
    // Half a line is held back until its newline arrives.
    appendFileSync(p, '2024-05-01T10:00:02Z stdout F thi');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(out.join(''), 'first\nsecond\n');
    appendFileSync(p, 'rd\n');
    running = false;
    await done;
    assert.equal(out.join(''), 'first\nsecond\nthird\n');
  });

  it('-f follows the file through rotation: the rest of the old file, then the new one from its start', async () => {
    const p = file(L('2024-05-01T10:00:00Z', 'stdout', 'before rotation'));
    let running = true;
    const out: string[] = [];
    const done = readContainerLog(p, { follow: true, timestamps: false }, { write: async (c) => void out.push(c.toString()), signal: new AbortController().signal }, async () => running);
    while (!out.join('').includes('before rotation')) await new Promise((r) => setTimeout(r, 10));
    appendFileSync(p, L('2024-05-01T10:00:01Z', 'stdout', 'last of old file'));
    renameSync(p, `${p}.20240501-100001`);
    writeFileSync(p, L('2024-05-01T10:00:02Z', 'stdout', 'first of new file'));
    while (!out.join('').includes('first of new file')) await new Promise((r) => setTimeout(r, 10));
    running = false;
    await done;
    assert.equal(out.join(''), 'before rotation\nlast of old file\nfirst of new file\n');
  });

  it('-f starts over when the file is truncated in place', async () => {
    const p = file(L('2024-05-01T10:00:00Z', 'stdout', 'a long line before truncation'));
    let running = true;
    const out: string[] = [];
    const done = readContainerLog(p, { follow: true, timestamps: false }, { write: async (c) => void out.push(c.toString()), signal: new AbortController().signal }, async () => running);
    while (!out.join('').includes('truncation')) await new Promise((r) => setTimeout(r, 10));
    truncateSync(p, 0);
    appendFileSync(p, L('2024-05-01T10:00:01Z', 'stdout', 'after'));
    while (!out.join('').includes('after')) await new Promise((r) => setTimeout(r, 10));
    running = false;
    await done;
    assert.equal(out.join(''), 'a long line before truncation\nafter\n');
  });

  it('-f ends when the reader goes away', async () => {
    const p = file(L('2024-05-01T10:00:00Z', 'stdout', 'x'));
    const ac = new AbortController();
    const done = read(p, { follow: true }, async () => true, ac.signal);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    assert.equal(await done, 'x\n');
  });
});

describe('the kubelet\'s containerLogs query', () => {
  const now = new Date('2024-05-01T10:00:00Z');
  it('reads PodLogOptions, the legacy tail and tail=all', () => {
    const q = parsePodLogQuery(new URLSearchParams('follow=true&previous=1&timestamps=true&tailLines=5&limitBytes=10&sinceSeconds=60'), now);
    assert.deepEqual(q, { follow: true, previous: true, timestamps: true, tailLines: 5, limitBytes: 10, sinceNanos: BigInt(Date.parse('2024-05-01T09:59:00Z')) * 1_000_000n });
    assert.equal(parsePodLogQuery(new URLSearchParams('tail=3'), now).tailLines, 3);
    assert.equal(parsePodLogQuery(new URLSearchParams('tailLines=3&tail=all'), now).tailLines, undefined);
    assert.equal(parsePodLogQuery(new URLSearchParams('sinceTime=2024-05-01T09:00:00Z'), now).sinceNanos, BigInt(Date.parse('2024-05-01T09:00:00Z')) * 1_000_000n);
  });

  it('answers undecodable values 400 and invalid ones 422, in the kubelet\'s words', () => {
    const err = (qs: string) => {
      try {
        parsePodLogQuery(new URLSearchParams(qs), now);
      } catch (e) {
        assert.ok(e instanceof LogQueryError);
        return `${e.statusCode} ${e.message}`;
      }
      return 'no error';
    };
    assert.equal(err('tailLines=x'), '400 {"message": "Unable to decode query."}');
    assert.equal(err('follow=maybe'), '400 {"message": "Unable to decode query."}');
    assert.equal(err('tailLines=-1'), '422 {"message": "Invalid request."}');
    assert.equal(err('limitBytes=0'), '422 {"message": "Invalid request."}');
    assert.equal(err('sinceSeconds=0'), '422 {"message": "Invalid request."}');
    assert.equal(err('sinceSeconds=5&sinceTime=2024-05-01T09:00:00Z'), '422 {"message": "Invalid request."}');
  });
});
