// The manifests of shared/seeds/003 (a Deployment, a Service and an Ingress) applied and read
// back. The article's Ingress is networking.k8s.io/v1beta1, which upstream removed in 1.22: kubectl
// must say so the way it does against upstream, and the v1 form must work.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../harness.ts';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment  # this is the deployment object
metadata:
  name: nginx-dep  # name of our deployment
spec:
  replicas: 5
  selector:
    matchLabels:
      app: server
  minReadySeconds: 10
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
      maxSurge: 1
  template:
    metadata:
      labels:
        app: server  # it will identify all replicas of the app with \`matchLabels\`
    spec:
      containers:
      - name: nginx
        image: library/nginx:1.14-alpine
        ports:
        - containerPort: 80
        readinessProbe: # check that our containers are ready
          httpGet: {path: /, port: 80}
          initialDelaySeconds: 5
          periodSeconds: 1
        livenessProbe: # check that our containers are alive
          httpGet: {path: /, port: 80}
          initialDelaySeconds: 5
          periodSeconds: 1
`;
const SERVICE = `apiVersion: v1
kind: Service  # this is the service object, easy, right?
metadata:
  name: nginx-service
spec:
  ports:
  - port: 8080
    targetPort: 80
  selector:
    app: server  # to find the right replicas for the app
`;
const INGRESS_V1BETA1 = `apiVersion: networking.k8s.io/v1beta1
kind: Ingress  # yep, the ingress is in the house
metadata:
  name: nginx-ingress
spec:
  backend:
    serviceName: nginx-service
    servicePort: 8080
`;
const INGRESS_V1 = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: nginx-ingress
spec:
  defaultBackend:
    service:
      name: nginx-service
      port:
        number: 8080
`;

let s: TestServer;
before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.stop();
});

test('the seed manifest as written: Deployment and Service are created, the v1beta1 Ingress is refused as upstream refuses it', async () => {
  const r = await s.kubectl(['create', '-f', '-'], { input: [DEPLOYMENT, SERVICE, INGRESS_V1BETA1].join('---\n') });
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /deployment\.apps\/nginx-dep created/);
  assert.match(r.stdout, /service\/nginx-service created/);
  assert.match(r.stderr, /no matches for kind "Ingress" in version "networking\.k8s\.io\/v1beta1"/);
  const v1beta1 = await s.request('GET', '/apis/networking.k8s.io/v1beta1');
  assert.equal(v1beta1.status, 404);
});

test('the v1 form of the Ingress is created and everything reads back', async () => {
  assert.equal((await s.k(['create', '-f', '-'], { input: INGRESS_V1 })).trim(), 'ingress.networking.k8s.io/nginx-ingress created');
  const dep = JSON.parse(await s.k(['get', 'deployment', 'nginx-dep', '-o', 'json']));
  assert.equal(dep.spec.replicas, 5);
  assert.equal(dep.spec.minReadySeconds, 10);
  assert.equal(dep.spec.strategy.rollingUpdate.maxSurge, 1);
  assert.equal(dep.spec.template.spec.containers[0].readinessProbe.httpGet.port, 80);
  const svc = JSON.parse(await s.k(['get', 'service', 'nginx-service', '-o', 'json']));
  assert.equal(svc.spec.type, 'ClusterIP');
  assert.equal(svc.spec.ports[0].targetPort, 80);
  assert.match(await s.k(['get', 'svc', 'nginx-service']), /^nginx-service\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+8080\/TCP\s+\d+s$/m);
  const ing = await s.k(['get', 'ingress']);
  assert.match(ing, /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\n/);
  assert.match(ing, /^nginx-ingress\s+<none>\s+\*\s+80\s+\d+s$/m);
});

test('the article\'s clean-up commands delete everything', async () => {
  await s.k(['delete', 'deployment', '--all']);
  await s.k(['delete', 'service', 'nginx-service']);
  await s.k(['delete', 'ingress', '--all']);
  assert.match((await s.kubectl(['get', 'deploy,ingress'])).stderr, /No resources found/);
});
