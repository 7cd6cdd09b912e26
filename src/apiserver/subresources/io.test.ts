// The HTTP side of the subresource handlers' body reading and answering (the in-process side is
// exercised by subresources.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { Ctx, Req, Res } from '../http.ts';
import { parseRequestInfo } from '../requestinfo.ts';
import { readObject, reply } from './io.ts';

function httpCtx(body: string, headers: Record<string, string>): { ctx: Ctx; out: { status?: number; headers?: Record<string, unknown>; body?: string } } {
  const ee = new EventEmitter();
  const req = Object.assign(ee, { method: 'POST', url: '/', headers, resume: () => undefined }) as unknown as Req;
  const out: { status?: number; headers?: Record<string, unknown>; body?: string } = {};
  const res: Res = {
    statusCode: 200,
    headersSent: false,
    writableEnded: false,
    setHeader: () => undefined,
    writeHead: (s, h) => {
      out.status = s;
      out.headers = h;
    },
    write: () => true,
    end: (chunk) => {
      out.body = chunk === undefined ? '' : Buffer.from(chunk as string | Uint8Array).toString();
    },
    on: () => undefined,
    once: () => undefined,
  };
  const query = new URLSearchParams();
  const ctx: Ctx = { req, res, method: 'POST', path: '/api/v1/namespaces/a/pods/p/binding', query, info: parseRequestInfo('POST', '/api/v1/namespaces/a/pods/p/binding', query), warnings: [], started: 0 };
  setImmediate(() => {
    ee.emit('data', Buffer.from(body));
    ee.emit('end');
  });
  return { ctx, out };
}

const BINDING = { group: '', versions: ['v1'], kind: 'Binding' };

test('an HTTP body is decoded from JSON or YAML, with apiVersion and kind defaulted', async () => {
  const json = await readObject(httpCtx('{"metadata":{"name":"p"},"target":{"name":"n"}}', { 'content-type': 'application/json' }).ctx, BINDING);
  assert.deepEqual(json, { metadata: { name: 'p' }, target: { name: 'n' }, apiVersion: 'v1', kind: 'Binding' });
  const yaml = await readObject(httpCtx('apiVersion: v1\nkind: Binding\nmetadata: {name: p}\n', { 'content-type': 'application/yaml' }).ctx, BINDING);
  assert.equal(yaml.metadata.name, 'p');
});

test('a body of another kind or media type is refused as upstream does', async () => {
  await assert.rejects(readObject(httpCtx('{"apiVersion":"v1","kind":"Pod"}', { 'content-type': 'application/json' }).ctx, BINDING), {
    message: 'the API version in the data (v1) does not match the expected API version (v1)',
  });
  await assert.rejects(readObject(httpCtx('x', { 'content-type': 'text/plain' }).ctx, BINDING), (e: any) => e.code === 415);
});

test('answers are JSON unless YAML is asked for', () => {
  const a = httpCtx('', { accept: 'application/json' });
  reply(a.ctx, 201, { kind: 'Status', status: 'Success' });
  assert.equal(a.out.status, 201);
  assert.equal(a.out.headers?.['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(a.out.body!), { kind: 'Status', status: 'Success' });
  const y = httpCtx('', { accept: 'application/yaml' });
  reply(y.ctx, 201, { kind: 'Status' });
  assert.equal(y.out.headers?.['content-type'], 'application/yaml');
  assert.equal(y.out.body, 'kind: Status\n');
});
