// kubectl's writing commands against a real `rudder server`: generators (protobuf bodies),
// label/annotate, each patch type, scale, client-side and server-side apply, replace, describe,
// diff, explain, and kubectl 1.32 for version skew.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEtcd, type EtcdCluster } from '../../src/storage/etcd/testing.ts';
import { startServer, kubectlVersion, type TestServer } from '../harness.ts';

const DEPLOY = (replicas: number, image: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: ${image}
        ports:
        - containerPort: 80
${extra}`;

for (const backend of ['sqlite', 'etcd'] as const) describe(`kubectl writes on ${backend}`, () => {
  let s: TestServer;
  let etcd: EtcdCluster | undefined;
  before(async () => {
    if (backend === 'etcd') etcd = await startEtcd();
    s = await startServer(etcd ? { datastoreEndpoint: etcd.endpoints.join(',') } : {});
  });
  after(async () => {
    await s?.stop();
    await etcd?.stop();
  });

  test('create generators send protobuf and the objects read back', async () => {
    assert.equal((await s.k(['create', 'namespace', 'gen'])).trim(), 'namespace/gen created');
    assert.equal((await s.k(['create', 'configmap', 'cfg', '-n', 'gen', '--from-literal=a=1', '--from-literal=b=two'])).trim(), 'configmap/cfg created');
    assert.equal((await s.k(['create', 'secret', 'generic', 'sec', '-n', 'gen', '--from-literal=password=s3cr3t'])).trim(), 'secret/sec created');
    assert.equal((await s.k(['create', 'serviceaccount', 'robot', '-n', 'gen'])).trim(), 'serviceaccount/robot created');
    assert.equal((await s.k(['create', 'deployment', 'hello-world', '-n', 'gen', '--image=registry.k8s.io/echoserver:1.4'])).trim(), 'deployment.apps/hello-world created');
    assert.equal((await s.k(['create', 'job', 'once', '-n', 'gen', '--image=busybox', '--', 'true'])).trim(), 'job.batch/once created');
    assert.equal((await s.k(['create', 'service', 'clusterip', 'front', '-n', 'gen', '--tcp=80:8080'])).trim(), 'service/front created');
    const cfg = JSON.parse(await s.k(['get', 'cm', 'cfg', '-n', 'gen', '-o', 'json']));
    assert.deepEqual(cfg.data, { a: '1', b: 'two' });
    const sec = JSON.parse(await s.k(['get', 'secret', 'sec', '-n', 'gen', '-o', 'json']));
    assert.equal(Buffer.from(sec.data.password, 'base64').toString(), 's3cr3t');
    assert.equal(sec.type, 'Opaque');
    const dep = JSON.parse(await s.k(['get', 'deploy', 'hello-world', '-n', 'gen', '-o', 'json']));
    assert.equal(dep.spec.template.spec.containers[0].image, 'registry.k8s.io/echoserver:1.4');
    assert.equal(dep.spec.replicas, 1);
    assert.equal(dep.spec.strategy.type, 'RollingUpdate');
    assert.equal(dep.metadata.generation, 1);
    const svc = JSON.parse(await s.k(['get', 'svc', 'front', '-n', 'gen', '-o', 'json']));
    assert.match(svc.spec.clusterIP, /^10\.43\.\d+\.\d+$/);
    assert.equal(svc.spec.ports[0].targetPort, 8080);
    const table = await s.k(['get', 'deploy', '-n', 'gen']);
    assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
    assert.match(table, /^hello-world\s+0\/1\s+[01]\s+0\s+\d+s$/m);
  });

  test('what admission and the server add to a created object is owned by nobody, as upstream', async () => {
    await s.k(['create', 'namespace', 'own']);
    await s.k(['create', 'serviceaccount', 'default', '-n', 'own']).catch(() => undefined);
    await s.k(['run', 'p', '-n', 'own', '--image=busybox', '--restart=Never', '--', 'sleep', '1']);
    const pod = JSON.parse(await s.k(['get', 'pod', 'p', '-n', 'own', '-o', 'json', '--show-managed-fields']));
    assert.ok(
      pod.spec.volumes.some((v: { name: string }) => v.name.startsWith('kube-api-access-')),
      'the ServiceAccount admission added the token volume',
    );
    assert.ok(pod.spec.tolerations?.length > 0, 'the DefaultTolerationSeconds admission added tolerations');
    const mine = pod.metadata.managedFields.find((m: any) => m.manager === 'kubectl-run').fieldsV1['f:spec'];
    assert.ok(mine['f:containers']['k:{"name":"p"}']['f:image'], 'the request\'s fields are its manager\'s');
    assert.ok(mine['f:restartPolicy'], 'so are the defaults filled into the request');
    assert.equal(mine['f:volumes'], undefined);
    assert.equal(mine['f:tolerations'], undefined);
    await s.k(['create', 'service', 'clusterip', 'own-svc', '-n', 'own', '--tcp=80:8080']);
    const svc = JSON.parse(await s.k(['get', 'svc', 'own-svc', '-n', 'own', '-o', 'json', '--show-managed-fields']));
    assert.match(svc.spec.clusterIP, /^10\.43\./);
    const svcMine = svc.metadata.managedFields.find((m: any) => m.manager === 'kubectl-create').fieldsV1['f:spec'];
    assert.ok(svcMine['f:ports']);
    assert.equal(svcMine['f:clusterIP'], undefined, 'the allocated address is the server\'s');
    await s.k(['delete', 'namespace', 'own', '--wait=false']);
  });

  test('label and annotate, including overwrite and removal', async () => {
    await s.k(['create', 'configmap', 'lab', '--from-literal=x=y']);
    await s.k(['label', 'cm', 'lab', 'tier=web', 'env=prod']);
    await s.k(['annotate', 'cm', 'lab', 'note=first']);
    let o = JSON.parse(await s.k(['get', 'cm', 'lab', '-o', 'json']));
    assert.deepEqual(o.metadata.labels, { tier: 'web', env: 'prod' });
    assert.equal(o.metadata.annotations.note, 'first');
    const noOverwrite = await s.kubectl(['label', 'cm', 'lab', 'tier=db']);
    assert.notEqual(noOverwrite.code, 0);
    assert.match(noOverwrite.stderr, /'tier' already has a value \(web\), and --overwrite is false/);
    await s.k(['label', 'cm', 'lab', 'tier=db', '--overwrite']);
    await s.k(['label', 'cm', 'lab', 'env-']);
    o = JSON.parse(await s.k(['get', 'cm', 'lab', '-o', 'json']));
    assert.deepEqual(o.metadata.labels, { tier: 'db' });
  });

  test('patch with each patch type', async () => {
    await s.k(['create', '-f', '-'], { input: DEPLOY(2, 'nginx:1.14') });
    await s.k(['patch', 'deploy', 'web', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    await s.k(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.16"}]']);
    // strategic merge: containers merge by name, so a new env on nginx keeps its image
    await s.k(['patch', 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"A","value":"1"}]}]}}}}']);
    const o = JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(o.spec.replicas, 3);
    assert.equal(o.spec.template.spec.containers.length, 1);
    assert.equal(o.spec.template.spec.containers[0].image, 'nginx:1.16');
    assert.deepEqual(o.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }]);
    assert.equal(o.metadata.generation, 4);
    const bad = await s.kubectl(['patch', 'deploy', 'web', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":7}]']);
    assert.notEqual(bad.code, 0);
    await s.k(['delete', 'deploy', 'web']);
  });

  test('scale through the scale subresource, with --current-replicas', async () => {
    await s.k(['create', '-f', '-'], { input: DEPLOY(1, 'nginx') });
    assert.equal((await s.k(['scale', 'deploy/web', '--replicas=10'])).trim(), 'deployment.apps/web scaled');
    const sc = (await s.request('GET', '/apis/apps/v1/namespaces/default/deployments/web/scale')).json();
    assert.equal(sc.kind, 'Scale');
    assert.equal(sc.spec.replicas, 10);
    const wrong = await s.kubectl(['scale', 'deploy/web', '--current-replicas=3', '--replicas=5']);
    assert.notEqual(wrong.code, 0);
    await s.k(['scale', 'deploy/web', '--current-replicas=10', '--replicas=5']);
    assert.equal(JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json'])).spec.replicas, 5);
    await s.k(['delete', 'deploy', 'web']);
  });

  test('client-side apply: create, unchanged re-apply, changed field, removed field', async () => {
    const withEnv = DEPLOY(2, 'nginx:1.14', '        env:\n        - {name: MODE, value: fast}\n');
    assert.equal((await s.k(['apply', '-f', '-'], { input: withEnv })).trim(), 'deployment.apps/web created');
    assert.equal((await s.k(['apply', '-f', '-'], { input: withEnv })).trim(), 'deployment.apps/web unchanged');
    assert.equal((await s.k(['apply', '-f', '-'], { input: DEPLOY(2, 'nginx:1.16', '        env:\n        - {name: MODE, value: fast}\n') })).trim(), 'deployment.apps/web configured');
    await s.k(['apply', '-f', '-'], { input: DEPLOY(2, 'nginx:1.16') });
    const o = JSON.parse(await s.k(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(o.spec.template.spec.containers[0].image, 'nginx:1.16');
    assert.equal(o.spec.template.spec.containers[0].env, undefined, 'removed field is gone');
    assert.ok(o.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    await s.k(['delete', 'deploy', 'web']);
  });

  test('server-side apply: ownership, removed fields, conflicts and --force-conflicts', async () => {
    const cm = (data: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data });
    assert.equal((await s.k(['apply', '--server-side', '-f', '-'], { input: cm({ a: '1', b: '2' }) })).trim(), 'configmap/ssa serverside-applied');
    let o = JSON.parse(await s.k(['get', 'cm', 'ssa', '-o', 'json', '--show-managed-fields']));
    const mf = o.metadata.managedFields.find((m: any) => m.manager === 'kubectl');
    assert.equal(mf.operation, 'Apply');
    assert.deepEqual(mf.fieldsV1, { 'f:data': { 'f:a': {}, 'f:b': {} } });
    await s.k(['apply', '--server-side', '-f', '-'], { input: cm({ a: '1' }) });
    o = JSON.parse(await s.k(['get', 'cm', 'ssa', '-o', 'json']));
    assert.deepEqual(o.data, { a: '1' }, 'a field the manager stopped applying is removed');
    const other = await s.kubectl(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: cm({ a: '9' }) });
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.data\.a/);
    // an Update manager is named with its API version, as upstream prints it
    await s.k(['patch', 'cm', 'ssa', '--type=merge', '-p', '{"data":{"c":"3"}}']);
    const third = await s.kubectl(['apply', '--server-side', '-f', '-'], { input: cm({ a: '1', c: '4' }) });
    assert.match(third.stderr, /conflict with "kubectl-patch" using v1: \.data\.c/);
    await s.k(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], { input: cm({ a: '9' }) });
    o = JSON.parse(await s.k(['get', 'cm', 'ssa', '-o', 'json']));
    assert.equal(o.data.a, '9');
  });

  test('describe reads an object and its events', async () => {
    await s.k(['create', 'configmap', 'described', '--from-literal=k=v']);
    const cm = JSON.parse(await s.k(['get', 'cm', 'described', '-o', 'json']));
    await s.request('POST', '/api/v1/namespaces/default/events', {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'described.1' },
        involvedObject: { kind: 'ConfigMap', namespace: 'default', name: 'described', uid: cm.metadata.uid, apiVersion: 'v1' },
        reason: 'Tested',
        message: 'a test event',
        type: 'Normal',
        source: { component: 'tester' },
        firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        count: 1,
      },
    });
    const out = await s.k(['describe', 'configmap', 'described']);
    assert.match(out, /^Name:\s+described$/m);
    assert.match(out, /^Namespace:\s+default$/m);
    assert.match(out, /Normal\s+Tested\s+\S+\s+tester\s+a test event/);
  });

  test('diff shows a pending change and exits 1', async () => {
    await s.k(['apply', '-f', '-'], { input: DEPLOY(1, 'nginx:1.14') });
    const r = await s.kubectl(['diff', '-f', '-'], { input: DEPLOY(1, 'nginx:1.18') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^-\s+- image: nginx:1\.14$/m);
    assert.match(r.stdout, /^\+\s+- image: nginx:1\.18$/m);
    const same = await s.kubectl(['diff', '-f', '-'], { input: DEPLOY(1, 'nginx:1.14') });
    assert.equal(same.code, 0, same.stdout + same.stderr);
    await s.k(['delete', 'deploy', 'web']);
  });

  test('explain shows fields and types from the served OpenAPI', async () => {
    const out = await s.k(['explain', 'deployment.spec.strategy']);
    assert.match(out, /KIND:\s+Deployment/);
    assert.match(out, /FIELD:\s+strategy <DeploymentStrategy>/);
    assert.match(out, /rollingUpdate\s+<RollingUpdateDeployment>/);
    assert.match(out, /type\s+<string>/);
  });

  test('kubectl 1.32 (version skew) creates, lists, patches and deletes', async () => {
    const k132 = kubectlVersion(32);
    const out = await s.k(['create', 'configmap', 'skew', '--from-literal=a=b'], { binary: k132 });
    assert.equal(out.trim(), 'configmap/skew created');
    await s.k(['label', 'cm', 'skew', 'v=132'], { binary: k132 });
    assert.match(await s.k(['get', 'cm', '-l', 'v=132'], { binary: k132 }), /^skew\s+1\s+/m);
    await s.k(['apply', '-f', '-'], { input: DEPLOY(1, 'nginx'), binary: k132 });
    assert.match(await s.k(['get', 'deploy', 'web'], { binary: k132 }), /^web\s+0\/1/m);
    await s.k(['delete', 'cm', 'skew'], { binary: k132 });
    await s.k(['delete', 'deploy', 'web'], { binary: k132 });
  });
});
