// API semantics a client relies on, over raw HTTPS against a real `rudder server`: service address
// allocation, status and scale subresources, graceful deletion, propagation policies,
// deletecollection, dry runs, preconditions, multi-version kinds and resourceVersion rules.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { eventually, startServer, type TestServer } from '../harness.ts';

let s: TestServer;
before(async () => {
  // API semantics alone: no controllers acting on the objects these tests write.
  s = await startServer({ extraArgs: ['--service-cidr', '10.96.0.0/24', '--service-node-port-range', '30000-30010', '--disable-controller-manager'] });
  // what the service-account controller would do: pods need the namespace's default ServiceAccount
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } } });
});
after(async () => {
  await s?.stop();
});

const svc = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } });

describe('Service addresses', () => {
  test('ClusterIPs come from --service-cidr and NodePorts from --service-node-port-range', async () => {
    const r = await s.request('POST', '/api/v1/namespaces/default/services', { body: svc('np', { type: 'NodePort', selector: { app: 'x' } }) });
    assert.equal(r.status, 201, r.text());
    const o = r.json();
    assert.match(o.spec.clusterIP, /^10\.96\.0\.\d+$/);
    assert.notEqual(o.spec.clusterIP, '10.96.0.1', 'the first address is the kubernetes Service\'s');
    assert.ok(o.spec.ports[0].nodePort >= 30000 && o.spec.ports[0].nodePort <= 30010);
    assert.equal(o.spec.ports[0].targetPort, 80);
  });

  test('a requested ClusterIP outside the range or already taken is refused with upstream\'s message', async () => {
    const out = await s.request('POST', '/api/v1/namespaces/default/services', { body: svc('outside', { clusterIP: '10.0.0.5' }) });
    assert.equal(out.status, 422);
    assert.match(out.json().message, /failed to allocate IP 10\.0\.0\.5: provided IP is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/24/);
    const taken = await s.request('POST', '/api/v1/namespaces/default/services', { body: svc('taken', { clusterIP: '10.96.0.1' }) });
    assert.equal(taken.status, 422);
    assert.match(taken.json().message, /failed to allocate IP 10\.96\.0\.1: provided IP is already allocated/);
    const port = await s.request('POST', '/api/v1/namespaces/default/services', { body: svc('badport', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }) });
    assert.equal(port.status, 422);
    assert.match(port.json().message, /spec\.ports\[0\]\.nodePort: Invalid value: 31000: provided port is not in the valid range\. The range of valid ports is 30000-30010/);
  });

  test('an update that leaves out the ClusterIP and NodePort keeps them', async () => {
    const cur = (await s.request('GET', '/api/v1/namespaces/default/services/np')).json();
    const put = await s.request('PUT', '/api/v1/namespaces/default/services/np', {
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'np', resourceVersion: cur.metadata.resourceVersion }, spec: { type: 'NodePort', selector: { app: 'y' }, ports: [{ port: 80 }] } },
    });
    assert.equal(put.status, 200, put.text());
    assert.equal(put.json().spec.clusterIP, cur.spec.clusterIP);
    assert.equal(put.json().spec.ports[0].nodePort, cur.spec.ports[0].nodePort);
  });

  test('a deleted Service\'s NodePort can be allocated again', async () => {
    const created: number[] = [];
    // fill the rest of the 11-port range
    for (let i = 0; ; i++) {
      const r = await s.request('POST', '/api/v1/namespaces/default/services', { body: svc(`fill-${i}`, { type: 'NodePort' }) });
      if (r.status !== 201) {
        assert.equal(r.status, 422);
        break;
      }
      created.push(r.json().spec.ports[0].nodePort);
      assert.ok(i < 20);
    }
    assert.equal((await s.request('DELETE', '/api/v1/namespaces/default/services/fill-0')).status, 200);
    await eventually(async () => (await s.request('POST', '/api/v1/namespaces/default/services', { body: svc('reuse', { type: 'NodePort' }) })).status === 201, 5000, 'port reuse');
  });
});

describe('subresources', () => {
  const deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'sub' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'sub' } }, template: { metadata: { labels: { app: 'sub' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  };
  const base = '/apis/apps/v1/namespaces/default/deployments';

  test('status is written only through the status subresource, and spec only through the main resource', async () => {
    assert.equal((await s.request('POST', base, { body: deploy })).status, 201);
    const cur = (await s.request('GET', `${base}/sub`)).json();
    // a status write through the main resource is ignored
    const main = await s.request('PUT', `${base}/sub`, { body: { ...cur, status: { replicas: 9 } } });
    assert.equal(main.status, 200);
    assert.equal(main.json().status.replicas, undefined);
    assert.equal(main.json().metadata.generation, 1, 'a status-only change does not move generation');
    // the status subresource changes status and ignores spec
    const now = (await s.request('GET', `${base}/sub`)).json();
    const st = await s.request('PUT', `${base}/sub/status`, { body: { ...now, spec: { ...now.spec, replicas: 7 }, status: { replicas: 2, observedGeneration: 1 } } });
    assert.equal(st.status, 200, st.text());
    assert.equal(st.json().status.replicas, 2);
    assert.equal(st.json().spec.replicas, 2);
    assert.deepEqual(Object.keys(st.json()), ['apiVersion', 'kind', 'metadata', 'spec', 'status'], 'members in the order upstream writes them');
    const sp = await s.request('PATCH', `${base}/sub/status`, { body: { status: { replicas: 3 } }, headers: { 'content-type': 'application/strategic-merge-patch+json' } });
    assert.equal(sp.status, 200, sp.text());
    assert.deepEqual(Object.keys(sp.json()), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    assert.deepEqual(sp.json().spec, st.json().spec, 'a status patch leaves spec as stored');
    const again = await s.request('PATCH', `${base}/sub/status`, { body: { status: { replicas: 3 } }, headers: { 'content-type': 'application/strategic-merge-patch+json' } });
    assert.equal(again.json().metadata.resourceVersion, sp.json().metadata.resourceVersion, 'a status patch that changes nothing writes nothing');
    const fix = await s.request('PATCH', `${base}/sub/status`, { body: { status: { replicas: 2 } }, headers: { 'content-type': 'application/strategic-merge-patch+json' } });
    assert.equal(fix.status, 200);
    // a spec change moves generation
    const patched = await s.request('PATCH', `${base}/sub`, { body: { spec: { replicas: 3 } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patched.json().metadata.generation, 2);
    assert.equal(patched.json().status.replicas, 2, 'status survives a spec write');
  });

  test('the scale subresource reads and writes replicas with the label selector', async () => {
    const sc = (await s.request('GET', `${base}/sub/scale`)).json();
    assert.deepEqual({ kind: sc.kind, apiVersion: sc.apiVersion, replicas: sc.spec.replicas }, { kind: 'Scale', apiVersion: 'autoscaling/v1', replicas: 3 });
    const put = await s.request('PUT', `${base}/sub/scale`, { body: { ...sc, spec: { replicas: 4 } } });
    assert.equal(put.status, 200, put.text());
    assert.equal((await s.request('GET', `${base}/sub`)).json().spec.replicas, 4);
    const stale = await s.request('PUT', `${base}/sub/scale`, { body: { ...sc, spec: { replicas: 5 } } });
    assert.equal(stale.status, 409, 'a Scale carrying an old resourceVersion conflicts');
    const neg = await s.request('PATCH', `${base}/sub/scale`, { body: { spec: { replicas: -1 } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(neg.status, 422);
  });
});

describe('deletion', () => {
  const pod = (name: string, nodeName?: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...extra },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'nginx' }] },
  });

  test('a pod bound to a node is deleted gracefully; one without a node goes at once', async () => {
    await s.request('POST', '/api/v1/namespaces/default/pods', { body: pod('bound', 'node-a') });
    await s.request('POST', '/api/v1/namespaces/default/pods', { body: pod('unbound') });
    const d1 = await s.request('DELETE', '/api/v1/namespaces/default/pods/bound');
    assert.equal(d1.status, 200);
    assert.ok(d1.json().metadata.deletionTimestamp);
    assert.equal(d1.json().metadata.deletionGracePeriodSeconds, 30);
    assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/bound')).status, 200, 'still there while its grace period runs');
    const d2 = await s.request('DELETE', '/api/v1/namespaces/default/pods/unbound');
    assert.equal(d2.status, 200);
    assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/unbound')).status, 404);
    // a second delete with grace period 0 finishes it (what the kubelet does when containers stopped)
    const force = await s.request('DELETE', '/api/v1/namespaces/default/pods/bound', { body: { gracePeriodSeconds: 0 } });
    assert.equal(force.status, 200);
    assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/bound')).status, 404);
  });

  test('Foreground and Orphan propagation are recorded as finalizers for the garbage collector', async () => {
    const mk = (name: string) => s.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } } });
    await mk('fg');
    await mk('orph');
    const fg = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/fg', { body: { propagationPolicy: 'Foreground' } });
    assert.deepEqual(fg.json().metadata.finalizers, ['foregroundDeletion']);
    const or = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/orph?propagationPolicy=Orphan');
    assert.deepEqual(or.json().metadata.finalizers, ['orphan']);
    const bad = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/orph', { body: { propagationPolicy: 'Sideways' } });
    assert.equal(bad.status, 422);
  });

  test('preconditions on uid and resourceVersion', async () => {
    const c = (await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pre' } } })).json();
    const wrong = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/pre', { body: { preconditions: { uid: 'not-it' } } });
    assert.equal(wrong.status, 409);
    assert.match(wrong.json().message, /Precondition failed: UID in precondition: not-it, UID in object meta: /);
    const ok = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/pre', { body: { preconditions: { uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion } } });
    assert.equal(ok.status, 200);
  });

  test('deletecollection deletes what the selector picks and nothing else', async () => {
    for (const [n, t] of [['dc1', 'a'], ['dc2', 'a'], ['dc3', 'b']]) {
      await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, labels: { dc: t } } } });
    }
    const r = await s.request('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=dc%3Da');
    assert.equal(r.status, 200);
    const left = (await s.request('GET', '/api/v1/namespaces/default/configmaps?labelSelector=dc')).json().items.map((i: any) => i.metadata.name);
    assert.deepEqual(left, ['dc3']);
  });

  test('the built-in namespaces cannot be deleted', async () => {
    const r = await s.request('DELETE', '/api/v1/namespaces/kube-system');
    assert.equal(r.status, 403);
    assert.equal(r.json().message, 'namespaces "kube-system" is forbidden: this namespace may not be deleted');
  });
});

describe('encodings', () => {
  test('a YAML body creates an object and Accept: application/yaml answers in YAML', async () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  greeting: hello\n';
    const r = await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: yaml, headers: { 'content-type': 'application/yaml', accept: 'application/yaml' } });
    assert.equal(r.status, 201);
    assert.match(String(r.headers['content-type']), /^application\/yaml/);
    assert.match(r.text(), /^kind: ConfigMap$/m);
    assert.match(r.text(), /^ {2}greeting: hello$/m);
  });

  test('protobuf in and out: a client-go style request and answer', async () => {
    const { encode, decode } = await import('../../src/api/protobuf/codec.ts');
    const body = Buffer.from(encode({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-pb' }, data: { k: 'v' } }));
    const r = await s.request('POST', '/api/v1/namespaces/default/configmaps', { body, headers: { 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/vnd.kubernetes.protobuf' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers['content-type'], 'application/vnd.kubernetes.protobuf');
    const back = decode(r.body).object as any;
    assert.equal(back.metadata.name, 'from-pb');
    assert.deepEqual(back.data, { k: 'v' });
    const list = await s.request('GET', '/api/v1/namespaces/default/configmaps', { headers: { accept: 'application/vnd.kubernetes.protobuf' } });
    const l = decode(list.body).object as any;
    assert.equal(l.kind, 'ConfigMapList');
    assert.ok(l.items.some((i: any) => i.metadata.name === 'from-pb'));
  });
});

describe('dry runs and versions', () => {
  test('dryRun=All on update, patch and delete changes nothing', async () => {
    const c = (await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry2' }, data: { a: '1' } } })).json();
    const put = await s.request('PUT', '/api/v1/namespaces/default/configmaps/dry2?dryRun=All', { body: { ...c, data: { a: '2' } } });
    assert.equal(put.json().data.a, '2');
    const patch = await s.request('PATCH', '/api/v1/namespaces/default/configmaps/dry2?dryRun=All', { body: { data: { a: '3' } }, headers: { 'content-type': 'application/merge-patch+json' } });
    assert.equal(patch.json().data.a, '3');
    const del = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/dry2?dryRun=All');
    assert.equal(del.status, 200);
    const now = (await s.request('GET', '/api/v1/namespaces/default/configmaps/dry2')).json();
    assert.deepEqual(now.data, { a: '1' });
    assert.equal(now.metadata.resourceVersion, c.metadata.resourceVersion);
    const bad = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/dry2?dryRun=Some');
    assert.equal(bad.status, 400);
  });

  test('a HorizontalPodAutoscaler is one object served as autoscaling/v2 and autoscaling/v1', async () => {
    const v1 = {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'hpa' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'sub' }, minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 60 },
    };
    const c = await s.request('POST', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', { body: v1 });
    assert.equal(c.status, 201, c.text());
    const v2 = (await s.request('GET', '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/hpa')).json();
    assert.equal(v2.apiVersion, 'autoscaling/v2');
    assert.equal(v2.spec.metrics[0].resource.name, 'cpu');
    assert.equal(v2.spec.metrics[0].resource.target.averageUtilization, 60);
    const back = (await s.request('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/hpa')).json();
    assert.equal(back.spec.targetCPUUtilizationPercentage, 60);
  });

  test('core/v1 Events are served as events.k8s.io/v1 Events too', async () => {
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'ev1' },
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
      reason: 'Started',
      message: 'Started container c',
      type: 'Normal',
      source: { component: 'kubelet', host: 'node-a' },
      count: 3,
    };
    assert.equal((await s.request('POST', '/api/v1/namespaces/default/events', { body: ev })).status, 201);
    const e2 = (await s.request('GET', '/apis/events.k8s.io/v1/namespaces/default/events/ev1')).json();
    assert.equal(e2.apiVersion, 'events.k8s.io/v1');
    assert.equal(e2.note, 'Started container c');
    assert.equal(e2.regarding.name, 'p');
    assert.equal(e2.deprecatedCount, 3);
    const l = (await s.request('GET', '/apis/events.k8s.io/v1/namespaces/default/events')).json();
    assert.equal(l.kind, 'EventList');
    assert.ok(l.items.some((i: any) => i.metadata.name === 'ev1'));
  });

  test('a list at a resourceVersion newer than the store times out as upstream (504 Too large resource version)', async () => {
    const rv = Number((await s.request('GET', '/api/v1/namespaces')).json().metadata.resourceVersion);
    const r = await s.request('GET', `/api/v1/namespaces?resourceVersion=${rv + 1000}&resourceVersionMatch=NotOlderThan`);
    assert.equal(r.status, 504);
    assert.match(r.json().message, /Too large resource version/);
  });

  test('an exact list at an older revision sees the older state', async () => {
    const c = (await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hist' }, data: { v: 'old' } } })).json();
    await s.request('PATCH', '/api/v1/namespaces/default/configmaps/hist', { body: { data: { v: 'new' } }, headers: { 'content-type': 'application/merge-patch+json' } });
    const r = (await s.request('GET', `/api/v1/namespaces/default/configmaps?resourceVersion=${c.metadata.resourceVersion}&resourceVersionMatch=Exact&fieldSelector=metadata.name%3Dhist`)).json();
    assert.equal(r.metadata.resourceVersion, c.metadata.resourceVersion);
    assert.deepEqual(r.items.map((i: any) => i.data.v), ['old']);
  });
});

describe('watch streams', () => {
  /** One watch over its own HTTP/2 session, as the admin; collects the raw bytes until `until` says so. */
  function watchBytes(path: string, accept: string, until: (b: Buffer) => boolean): { done: Promise<Buffer>; ready: Promise<void> } {
    const session = connect(s.url, { ca: s.creds.ca, cert: s.creds.cert, key: s.creds.key });
    const req = session.request({ ':method': 'GET', ':path': path, accept });
    const chunks: Buffer[] = [];
    const ready = new Promise<void>((resolve, reject) => {
      req.on('response', (h) => (h[':status'] === 200 ? resolve() : reject(new Error(`watch: ${h[':status']}`))));
      req.on('error', reject);
    });
    const done = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch ${accept}: not complete after 10 s: ${Buffer.concat(chunks).length} bytes`)), 10_000);
      req.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (until(all)) {
          clearTimeout(timer);
          req.close();
          session.close();
          resolve(all);
        }
      });
      req.on('error', reject);
    });
    return { done, ready };
  }

  /** Splits a protobuf watch stream into its frames (each a 4-byte big-endian length and its event). */
  function frames(b: Buffer): Buffer[] {
    const out: Buffer[] = [];
    for (let at = 0; at + 4 <= b.length; ) {
      const n = b.readUInt32BE(at);
      if (at + 4 + n > b.length) break;
      out.push(b.subarray(at, at + 4 + n));
      at += 4 + n;
    }
    return out;
  }

  test('JSON and protobuf watchers of one resource each get every event once, in order, with the same objects', async () => {
    const { decodeWatchEvent } = await import('../../src/api/protobuf/codec.ts');
    await s.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watched' } } });
    const path = '/api/v1/namespaces/watched/configmaps?watch=true';
    const lines = (b: Buffer) => b.toString().split('\n').slice(0, -1).filter(Boolean); // whole lines only: a chunk may end inside an event
    const json = [0, 1, 2].map(() => watchBytes(path, 'application/json', (b) => lines(b).length >= 5));
    const pb = [0, 1].map(() => watchBytes(path, 'application/vnd.kubernetes.protobuf;stream=watch', (b) => frames(b).length >= 5));
    await Promise.all([...json, ...pb].map((w) => w.ready));
    for (const i of [1, 2, 3]) {
      assert.equal((await s.request('POST', '/api/v1/namespaces/watched/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `w${i}` }, data: { i: String(i) } } })).status, 201);
    }
    assert.equal((await s.request('PATCH', '/api/v1/namespaces/watched/configmaps/w2', { body: { data: { i: 'two' } }, headers: { 'content-type': 'application/merge-patch+json' } })).status, 200);
    assert.equal((await s.request('DELETE', '/api/v1/namespaces/watched/configmaps/w1')).status, 200);
    const expected = ['ADDED w1 1', 'ADDED w2 2', 'ADDED w3 3', 'MODIFIED w2 two', 'DELETED w1 1'];
    const seen: unknown[][] = [];
    for (const w of json) {
      const evs = lines(await w.done).map((l) => JSON.parse(l));
      assert.deepEqual(evs.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.data.i}`), expected);
      seen.push(evs.map((e) => e.object));
    }
    for (const w of pb) {
      const evs = frames(await w.done).map((f) => decodeWatchEvent(f));
      assert.deepEqual(evs.map((e: any) => `${e.type} ${e.object.metadata.name} ${e.object.data.i}`), expected);
      assert.deepEqual(evs.map((e: any) => e.object.metadata.resourceVersion), (seen[0] as any[]).map((o) => o.metadata.resourceVersion));
    }
    assert.deepEqual(seen[1], seen[0]);
    assert.deepEqual(seen[2], seen[0]);
  });

  /** One JSON watch over HTTP/1.1 (chunked), collecting the raw bytes until `until` says so; both fail after 10 s. */
  function watchBytesHttp1(path: string, until: (b: Buffer) => boolean): { done: Promise<Buffer>; ready: Promise<void> } {
    const u = new URL(s.url);
    const chunks: Buffer[] = [];
    let answered!: () => void;
    let failReady!: (e: Error) => void;
    const ready = new Promise<void>((ok, fail) => ((answered = ok), (failReady = fail)));
    const done = new Promise<Buffer>((resolve, reject) => {
      const req = httpsRequest({ host: u.hostname, port: u.port, path, ca: s.creds.ca, cert: s.creds.cert, key: s.creds.key, headers: { accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200 || res.httpVersion !== '1.1') return failReady(new Error(`watch: ${res.statusCode} over HTTP/${res.httpVersion}`));
        answered();
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          const all = Buffer.concat(chunks);
          if (until(all)) {
            clearTimeout(timer);
            req.destroy();
            resolve(all);
          }
        });
      });
      const timer = setTimeout(() => {
        const e = new Error(`HTTP/1.1 watch: not complete after 10 s: ${Buffer.concat(chunks).length} bytes`);
        failReady(e);
        reject(e);
        req.destroy();
      }, 10_000);
      req.on('error', (e) => (failReady(e), reject(e)));
      req.end();
    });
    done.catch(() => undefined); // reported through ready or when awaited
    return { done, ready };
  }

  test('an HTTP/1.1 watch is answered before there is any event to send', async () => {
    assert.equal((await s.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quiet' } } })).status, 201);
    const w = watchBytesHttp1('/api/v1/namespaces/quiet/configmaps?watch=true', (b) => b.toString().includes('\n'));
    await w.ready;
    assert.equal((await s.request('POST', '/api/v1/namespaces/quiet/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'first' } } })).status, 201);
    const ev = JSON.parse((await w.done).toString().split('\n')[0]!);
    assert.equal(`${ev.type} ${ev.object.metadata.name}`, 'ADDED first');
  });

  test('a watch whose client stops reading is cut off after 5 s more than 16 MiB behind, and the other watchers go on', async () => {
    assert.equal((await s.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stalled' } } })).status, 201);
    const path = '/api/v1/namespaces/stalled/configmaps?watch=true';
    const N = 20; // ~900 KB each: ~18 MB of events, more than the 16 MiB a watcher may fall behind
    // Counts lines as they come (watchBytes would join ~21 MB again on every chunk).
    const readingSession = connect(s.url, { ca: s.creds.ca, cert: s.creds.cert, key: s.creds.key });
    const readingReq = readingSession.request({ ':method': 'GET', ':path': path, accept: 'application/json' });
    const reading = {
      ready: new Promise<void>((resolve, reject) => {
        readingReq.on('response', (h) => (h[':status'] === 200 ? resolve() : reject(new Error(`watch: ${h[':status']}`))));
        readingReq.on('error', reject);
      }),
      done: new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let lines = 0;
        const timer = setTimeout(() => reject(new Error(`reading watch: ${lines} of ${N} events after 30 s`)), 30_000);
        readingReq.on('close', () => reject(new Error(`reading watch closed (code ${readingReq.rstCode}) after ${lines} of ${N} events`)));
        readingReq.on('data', (c: Buffer) => {
          chunks.push(c);
          for (let at = c.indexOf(10); at >= 0; at = c.indexOf(10, at + 1)) lines++;
          if (lines >= N) {
            clearTimeout(timer);
            readingSession.close();
            resolve(Buffer.concat(chunks));
          }
        });
      }),
    };
    const session = connect(s.url, { ca: s.creds.ca, cert: s.creds.cert, key: s.creds.key });
    const stuck = session.request({ ':method': 'GET', ':path': path, accept: 'application/json' });
    await new Promise<void>((resolve, reject) => {
      stuck.on('response', (h) => (h[':status'] === 200 ? resolve() : reject(new Error(`watch: ${h[':status']}`))));
      stuck.on('error', reject);
    });
    stuck.pause(); // reads nothing from here on: its flow-control window closes after 64 KiB
    const reset = new Promise<number>((resolve) => stuck.on('close', () => resolve(stuck.rstCode ?? -1)));
    stuck.on('error', () => undefined); // the reset also surfaces as an error
    await reading.ready;
    for (let i = 0; i < N; i++) {
      const r = await s.request('POST', '/api/v1/namespaces/stalled/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big${i}` }, data: { pad: 'x'.repeat(900_000) } } });
      assert.equal(r.status, 201, r.text());
    }
    const all = (await reading.done).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l).object.metadata.name);
    assert.deepEqual(all, Array.from({ length: N }, (_, i) => `big${i}`));
    const code = await Promise.race([reset, new Promise<string>((r) => setTimeout(r, 15_000, 'still open after 15 s'))]);
    assert.equal(code, 8, 'the stuck watch was reset with CANCEL');
    session.destroy();
    // the server goes on serving, that watch's events included
    assert.equal((await s.request('GET', '/api/v1/namespaces/stalled/configmaps/big0')).status, 200);
  });

  test('writes committed together reach every watcher (HTTP/2 and HTTP/1.1, JSON and protobuf) as whole events, in revision order', async () => {
    const { decodeWatchEvent } = await import('../../src/api/protobuf/codec.ts');
    assert.equal((await s.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'together' } } })).status, 201);
    const path = '/api/v1/namespaces/together/configmaps?watch=true';
    const N = 24;
    const lines = (b: Buffer) => b.toString().split('\n').slice(0, -1).filter(Boolean); // whole lines only: a chunk may end inside an event
    const h2json = watchBytes(path, 'application/json', (b) => lines(b).length >= N);
    const h2pb = watchBytes(path, 'application/vnd.kubernetes.protobuf;stream=watch', (b) => frames(b).length >= N);
    const h1json = watchBytesHttp1(path, (b) => lines(b).length >= N);
    await Promise.all([h2json.ready, h2pb.ready, h1json.ready]);
    // Sent at once: the server commits them in a few group commits, several to a commit.
    const created = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        s.request('POST', '/api/v1/namespaces/together/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `t${i}` }, data: { pad: 'x'.repeat(2000 + i) } } }),
      ),
    );
    for (const r of created) assert.equal(r.status, 201, r.text());
    const byRevision = created.map((r) => r.json()).sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    const want = byRevision.map((o) => `ADDED ${o.metadata.name} ${o.metadata.resourceVersion} ${o.data.pad.length}`);
    for (const w of [h2json, h1json]) {
      const evs = lines(await w.done).map((l) => JSON.parse(l));
      assert.deepEqual(evs.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion} ${e.object.data.pad.length}`), want);
    }
    const evs = frames(await h2pb.done).map((f) => decodeWatchEvent(f));
    assert.deepEqual(evs.map((e: any) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion} ${e.object.data.pad.length}`), want);
  });
});
