import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultObject, prepareForCreate } from './index.ts';
import { imageTag } from './core.ts';
import { readOpenApiOracle } from '../oracle.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const v1 = (kind: string) => ({ group: '', version: 'v1', kind });

test('pods get upstream defaults for spec, containers, probes and volumes', () => {
  const pod: Json = {
    metadata: { name: 'p', namespace: 'd' },
    spec: {
      containers: [
        {
          name: 'c',
          image: 'nginx',
          ports: [{ containerPort: 80 }],
          livenessProbe: { httpGet: { port: 80 } },
          resources: { limits: { cpu: '500m', memory: '1Gi' } },
          env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        },
      ],
      volumes: [{ name: 'a' }, { name: 'b', secret: { secretName: 's' } }, { name: 'c', configMap: { name: 'm' } }, { name: 'h', hostPath: { path: '/x' } }],
    },
  };
  defaultObject(v1('Pod'), pod);
  const s = pod.spec;
  assert.equal(s.restartPolicy, 'Always');
  assert.equal(s.dnsPolicy, 'ClusterFirst');
  assert.equal(s.schedulerName, 'default-scheduler');
  assert.equal(s.terminationGracePeriodSeconds, 30);
  assert.deepEqual(s.securityContext, {});
  assert.equal(s.enableServiceLinks, true);
  const c = s.containers[0];
  assert.equal(c.terminationMessagePath, '/dev/termination-log');
  assert.equal(c.terminationMessagePolicy, 'File');
  assert.equal(c.imagePullPolicy, 'Always');
  assert.equal(c.ports[0].protocol, 'TCP');
  assert.deepEqual(c.livenessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(c.resources.requests, { cpu: '500m', memory: '1Gi' });
  assert.equal(c.env[0].valueFrom.fieldRef.apiVersion, 'v1');
  assert.deepEqual(s.volumes[0], { name: 'a', emptyDir: {} });
  assert.equal(s.volumes[1].secret.defaultMode, 420);
  assert.equal(s.volumes[2].configMap.defaultMode, 420);
  assert.equal(s.volumes[3].hostPath.type, '');
});

test('image pull policy follows the image tag as upstream', () => {
  const cases: [string, string][] = [
    ['nginx', 'latest'], ['nginx:latest', 'latest'], ['nginx:1.25', '1.25'], ['registry.local:5000/app', 'latest'],
    ['registry.local:5000/app:v2', 'v2'], ['nginx@sha256:' + 'a'.repeat(64), ''], ['Nginx', ''],
  ];
  for (const [image, tag] of cases) assert.equal(imageTag(image), tag, image);
  const pod: Json = { spec: { containers: [{ name: 'a', image: 'nginx:1.25' }, { name: 'b', image: 'busybox' }] } };
  defaultObject(v1('Pod'), pod);
  assert.deepEqual(pod.spec.containers.map((c: Json) => c.imagePullPolicy), ['IfNotPresent', 'Always']);
});

test('resource lists are rounded up to milli precision; other quantities are not', () => {
  const pod: Json = {
    spec: {
      containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '1n', memory: '1.5Gi' } } }],
      volumes: [{ name: 'v', emptyDir: { sizeLimit: '1000m' } }],
    },
  };
  defaultObject(v1('Pod'), pod);
  assert.deepEqual(pod.spec.containers[0].resources.requests, { cpu: '1m', memory: '1536Mi' });
  assert.equal(pod.spec.volumes[0].emptyDir.sizeLimit, '1');
});

test('services default type, affinity, ports and a single-stack IPv4 family', () => {
  const svc: Json = { metadata: { name: 's' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }, { port: 443, targetPort: 'https' }] } };
  defaultObject(v1('Service'), svc);
  assert.deepEqual(svc.spec, {
    selector: { app: 'x' },
    ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }, { port: 443, targetPort: 'https', protocol: 'TCP' }],
    sessionAffinity: 'None',
    type: 'ClusterIP',
    internalTrafficPolicy: 'Cluster',
    ipFamilyPolicy: 'SingleStack',
    ipFamilies: ['IPv4'],
  });
  const lb: Json = { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } };
  defaultObject(v1('Service'), lb);
  assert.equal(lb.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
  const headless: Json = { spec: { clusterIP: 'None', ports: [{ port: 80 }] } };
  defaultObject(v1('Service'), headless);
  assert.deepEqual([headless.spec.clusterIPs, headless.spec.ipFamilyPolicy, headless.spec.ipFamilies], [['None'], 'RequireDualStack', ['IPv4', 'IPv6']]);
  const sticky: Json = { spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } };
  defaultObject(v1('Service'), sticky);
  assert.deepEqual(sticky.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
});

test('secrets default to Opaque and fold stringData into data', () => {
  const s: Json = { metadata: { name: 's' }, data: { a: 'b2xk' }, stringData: { a: 'new', b: 'x' } };
  defaultObject(v1('Secret'), s);
  assert.deepEqual(s, { metadata: { name: 's' }, type: 'Opaque', data: { a: Buffer.from('new').toString('base64'), b: 'eA==' } });
});

test('namespaces get the name label and Active phase; create adds the kubernetes finalizer', () => {
  const ns: Json = { metadata: { name: 'team' } } as Json;
  defaultObject(v1('Namespace'), ns);
  assert.deepEqual(ns, { metadata: { name: 'team', labels: { 'kubernetes.io/metadata.name': 'team' } }, status: { phase: 'Active' } });
  prepareForCreate(v1('Namespace'), ns);
  assert.deepEqual((ns as { spec?: unknown }).spec, { finalizers: ['kubernetes'] });
});

test('volumes and claims: reclaim policy, volume mode, phases', () => {
  const pv: Json = { spec: { capacity: { storage: '1Gi' } } };
  defaultObject(v1('PersistentVolume'), pv);
  assert.deepEqual([pv.spec.persistentVolumeReclaimPolicy, pv.spec.volumeMode, pv.status.phase], ['Retain', 'Filesystem', 'Pending']);
  const pvc: Json = { spec: {} };
  defaultObject(v1('PersistentVolumeClaim'), pvc);
  assert.deepEqual([pvc.spec.volumeMode, pvc.status.phase], ['Filesystem', 'Pending']);
});

test('limit ranges default container limits and requests from max/min', () => {
  const lr: Json = { spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { memory: '64Mi' } }] } };
  defaultObject(v1('LimitRange'), lr);
  assert.deepEqual(lr.spec.limits[0].default, { cpu: '2' });
  assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '2', memory: '64Mi' });
});

test('replication controllers take selector and labels from the template', () => {
  const rc: Json = { metadata: { name: 'r' }, spec: { template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
  defaultObject(v1('ReplicationController'), rc);
  assert.deepEqual([rc.spec.selector, rc.metadata.labels, rc.spec.replicas], [{ app: 'a' }, { app: 'a' }, 1]);
});

// Oracle: every field the defaulters add exists in the upstream OpenAPI description of its type.
const openapi = readOpenApiOracle().definitions;
function unknownFields(v: Json, schema: Json, path: string, out: string[]): void {
  if (schema?.$ref) return unknownFields(v, openapi[schema.$ref.replace('#/definitions/', '')], path, out);
  if (Array.isArray(v)) return v.forEach((x, i) => unknownFields(x, schema?.items, `${path}[${i}]`, out));
  if (v === null || typeof v !== 'object' || !schema) return;
  if (schema.additionalProperties && !schema.properties) {
    for (const [k, x] of Object.entries(v)) unknownFields(x, schema.additionalProperties, `${path}[${k}]`, out);
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    if (!schema.properties || !(k in schema.properties)) out.push(`${path}.${k}`);
    else unknownFields(x, schema.properties[k], `${path}.${k}`, out);
  }
}

test('defaulted objects only hold fields upstream declares (OpenAPI oracle)', () => {
  const probe: string[] = [];
  unknownFields({ spec: { restartPolicyy: 'x', containers: [{ nam: 'c' }] } }, openapi['io.k8s.api.core.v1.Pod'], 'Pod', probe);
  assert.deepEqual(probe, ['Pod.spec.restartPolicyy', 'Pod.spec.containers[0].nam'], 'the oracle itself finds unknown fields');
  const cases: [string, string, Json][] = [
    ['Pod', 'io.k8s.api.core.v1.Pod', {
      spec: {
        containers: [{ name: 'c', image: 'x', readinessProbe: { tcpSocket: { port: 1 } }, lifecycle: { preStop: { httpGet: { port: 1 } } } }],
        volumes: [{ name: 'a', rbd: { monitors: ['m'], image: 'i' } }, { name: 'b', iscsi: { targetPortal: 't', iqn: 'iqn.x', lun: 0 } }, { name: 'c', azureDisk: { diskName: 'd', diskURI: 'u' } }, { name: 'd', scaleIO: { gateway: 'g', system: 's', secretRef: { name: 'x' } } }, { name: 'e', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } }],
      },
    }],
    ['Service', 'io.k8s.api.core.v1.Service', { spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } }],
    ['PersistentVolume', 'io.k8s.api.core.v1.PersistentVolume', { spec: { hostPath: { path: '/x' } } }],
    ['Namespace', 'io.k8s.api.core.v1.Namespace', { metadata: { name: 'n' } }],
    ['LimitRange', 'io.k8s.api.core.v1.LimitRange', { spec: { limits: [{ type: 'Container', max: { cpu: '1' } }] } }],
  ];
  for (const [kind, def, obj] of cases) {
    defaultObject(v1(kind), obj);
    const out: string[] = [];
    unknownFields(obj, openapi[def], kind, out);
    assert.deepEqual(out, [], kind);
  }
});
