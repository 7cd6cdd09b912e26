// The OpenAPI endpoints' HTTP behaviour, after upstream's kube-openapi handlers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { negotiateV2, openapiV2, openapiV3Doc, openapiV3Root, parseAccept, serveOpenAPI } from './index.ts';

const KUBECTL_V2_ACCEPT = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

describe('GET /openapi/v2', () => {
  it('answers kubectl\'s protobuf request with the gnostic document', () => {
    const r = serveOpenAPI({ path: '/openapi/v2', accept: KUBECTL_V2_ACCEPT })!;
    assert.equal(r.status, 200);
    assert.equal(r.headers['Content-Type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    assert.equal(r.headers.Vary, 'Accept');
    assert.ok(r.body!.equals(openapiV2('protobuf').body));
  });

  it('answers JSON to application/json and to any type, and 406 to types it cannot serve', () => {
    for (const accept of ['application/json', '*/*', undefined, 'application/*', 'text/html, application/json;q=0.5']) {
      const r = serveOpenAPI({ path: '/openapi/v2', accept })!;
      assert.equal(r.status, 200, String(accept));
      assert.equal(r.headers['Content-Type'], 'application/json');
      assert.equal(JSON.parse(r.body!.toString()).swagger, '2.0');
    }
    assert.equal(serveOpenAPI({ path: '/openapi/v2', accept: 'text/html' })!.status, 406);
  });

  it('prefers what the client weights highest', () => {
    assert.equal(negotiateV2(`application/json;q=0.5, ${KUBECTL_V2_ACCEPT}`), 'protobuf');
    assert.equal(negotiateV2(`${KUBECTL_V2_ACCEPT};q=0.1, application/json`), 'json');
    assert.deepEqual(
      parseAccept('*/*;q=0.9, application/*, application/json').map((c) => `${c.type}/${c.subtype}`),
      ['application/json', 'application/*', '*/*'],
    );
  });

  it('answers 304 without a body when the client has the current version', () => {
    const etag = openapiV2('json').etag;
    assert.match(etag, /^"[0-9A-F]{128}"$/);
    const r = serveOpenAPI({ path: '/openapi/v2', accept: 'application/json', ifNoneMatch: etag })!;
    assert.equal(r.status, 304);
    assert.equal(r.body, undefined);
    assert.equal(r.headers.ETag, etag);
    assert.equal(serveOpenAPI({ path: '/openapi/v2', accept: 'application/json', ifNoneMatch: '"stale"' })!.status, 200);
  });
});

describe('GET /openapi/v3', () => {
  it('lists the documents as JSON whatever the client accepts', () => {
    const r = serveOpenAPI({ path: '/openapi/v3', accept: 'application/json, */*' })!;
    assert.equal(r.status, 200);
    assert.equal(r.headers['Content-Type'], 'application/json');
    assert.ok(r.body!.equals(openapiV3Root().body));
    assert.equal(r.headers.ETag, openapiV3Root().etag);
    const paths = JSON.parse(r.body!.toString()).paths;
    assert.match(paths['api/v1'].serverRelativeURL, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
    assert.match(paths['apis/apps/v1'].serverRelativeURL, /^\/openapi\/v3\/apis\/apps\/v1\?hash=/);
  });

  it('serves a document at the listed URL as immutable', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const doc = openapiV3Doc('apis/apps/v1')!;
    const r = serveOpenAPI({ path: '/openapi/v3/apis/apps/v1', query: `?hash=${doc.hash}`, accept: 'application/json', now })!;
    assert.equal(r.status, 200);
    assert.ok(r.body!.equals(doc.body));
    assert.equal(r.headers['Cache-Control'], 'public, immutable');
    assert.equal(r.headers.Expires, 'Fri, 01 Jan 2027 00:00:00 GMT');
    assert.equal(r.headers.ETag, doc.etag);
  });

  it('redirects a stale hash to the current URL, and serves a document without hash uncached', () => {
    const doc = openapiV3Doc('api/v1')!;
    const stale = serveOpenAPI({ path: '/openapi/v3/api/v1', query: 'hash=0123', accept: 'application/json' })!;
    assert.equal(stale.status, 301);
    assert.equal(stale.headers.Location, `/openapi/v3/api/v1?hash=${doc.hash}`);
    const plain = serveOpenAPI({ path: '/openapi/v3/api/v1', accept: 'application/json' })!;
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['Cache-Control'], undefined);
  });

  it('answers 406 to a protobuf-only request and nothing (404) for documents it does not have', () => {
    assert.equal(serveOpenAPI({ path: '/openapi/v3/api/v1', accept: 'application/com.github.proto-openapi.spec.v3.v1.0+protobuf' })!.status, 406);
    assert.equal(serveOpenAPI({ path: '/openapi/v3/apis/example.com/v1', accept: 'application/json' }), undefined);
    assert.equal(serveOpenAPI({ path: '/openapi/v4', accept: 'application/json' }), undefined);
  });
});
