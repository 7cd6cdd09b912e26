import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigMap, Container, Pod, Secret, Service } from './api-types.ts';
import { ContainerConfigError, containerResourceValue, expand, expandCommandAndArgs, makeEnvironment, serviceEnvMap, type EnvSources } from './env.ts';

const svc = (ns: string, name: string, ip: string, ports: Service['spec'] extends infer S ? (S extends { ports?: infer P } ? P : never) : never): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec: { clusterIP: ip, ports },
});

function pod(container: Container, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', uid: 'uid-1', labels: { app: 'web', tier: 'front' }, annotations: { note: 'x' } },
    spec: { nodeName: 'n1', serviceAccountName: 'robot', containers: [container], ...spec },
  };
}

function sources(o: Partial<EnvSources> = {}): EnvSources {
  return { configMap: () => undefined, secret: () => undefined, services: [], podIPs: ['10.1.0.7'], hostIPs: ['192.0.2.1'], nodeAllocatable: { cpu: '4', memory: '8Gi' }, ...o };
}

describe('expand ($(VAR) references, as upstream)', () => {
  const m = (n: string) => ({ A: 'alpha', B: 'beta' } as Record<string, string>)[n];
  const table: [string, string][] = [
    ['$(A)', 'alpha'],
    ['x-$(A)-$(B)-y', 'x-alpha-beta-y'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$alpha'],
    ['cost $5', 'cost $5'],
    ['ends with $', 'ends with $'],
    ['$(A', '$(A'],
    ['$()', '$()'],
  ];
  for (const [input, want] of table) it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => assert.equal(expand(input, m), want));
});

describe('service environment variables', () => {
  const services = [
    svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
    svc('shop', 'redis-master', '10.43.5.6', [{ port: 6379 }, { name: 'metrics', port: 9121, protocol: 'TCP' }]),
    svc('shop', 'headless', 'None', [{ port: 80 }]),
    svc('other', 'elsewhere', '10.43.9.9', [{ port: 80 }]),
  ];

  it('gives the namespace\'s services and the kubernetes service in docker-link form', () => {
    const m = serviceEnvMap(services, 'shop', true);
    assert.equal(m.get('REDIS_MASTER_SERVICE_HOST'), '10.43.5.6');
    assert.equal(m.get('REDIS_MASTER_SERVICE_PORT'), '6379');
    assert.equal(m.get('REDIS_MASTER_SERVICE_PORT_METRICS'), '9121');
    assert.equal(m.get('REDIS_MASTER_PORT'), 'tcp://10.43.5.6:6379');
    assert.equal(m.get('REDIS_MASTER_PORT_6379_TCP'), 'tcp://10.43.5.6:6379');
    assert.equal(m.get('REDIS_MASTER_PORT_6379_TCP_PROTO'), 'tcp');
    assert.equal(m.get('REDIS_MASTER_PORT_6379_TCP_PORT'), '6379');
    assert.equal(m.get('REDIS_MASTER_PORT_6379_TCP_ADDR'), '10.43.5.6');
    assert.equal(m.get('REDIS_MASTER_PORT_9121_TCP'), 'tcp://10.43.5.6:9121');
    assert.equal(m.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
    assert.equal(m.get('KUBERNETES_SERVICE_PORT'), '443');
    assert.equal(m.get('KUBERNETES_SERVICE_PORT_HTTPS'), '443');
    assert.equal(m.get('KUBERNETES_PORT'), 'tcp://10.43.0.1:443');
    assert.ok(![...m.keys()].some((k) => k.startsWith('HEADLESS_') || k.startsWith('ELSEWHERE_')), 'headless and other namespaces give nothing');
  });

  it('with enableServiceLinks false only the kubernetes service remains', () => {
    const m = serviceEnvMap(services, 'shop', false);
    assert.deepEqual([...m.keys()].filter((k) => !k.startsWith('KUBERNETES_')), []);
    assert.equal(m.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
  });
});

describe('makeEnvironment', () => {
  const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: { MODE: 'prod', 'log.level': 'debug', 'BAD=KEY': 'x' } };
  const sec: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: Buffer.from('hunter2').toString('base64') } };

  it('resolves values, references, fields, resources, configMaps and secrets, in order', () => {
    const c: Container = {
      name: 'app',
      resources: { limits: { memory: '256Mi' }, requests: { cpu: '250m' } },
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }],
      env: [
        { name: 'GREETING', value: 'hello' },
        { name: 'MESSAGE', value: '$(GREETING) from $(POD_NAME)' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'LATE', value: '$(POD_NAME)' },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'CPU_REQ_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'CFG_MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
        { name: 'OPTIONAL', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
        { name: 'SVC', value: '$(KUBERNETES_SERVICE_HOST)' },
      ],
    };
    const r = makeEnvironment(pod(c), c, sources({
      configMap: (n) => (n === 'cfg' ? cm : undefined),
      secret: (n) => (n === 'db' ? sec : undefined),
      services: [svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443 }])],
    }));
    const env = Object.fromEntries(r.env.map((e) => [e.name, e.value]));
    assert.equal(env.GREETING, 'hello');
    assert.equal(env.MESSAGE, 'hello from $(POD_NAME)', 'a reference to a later variable stays as written');
    assert.equal(env.LATE, 'web-1');
    assert.equal(env.NS, 'shop');
    assert.equal(env.APP, 'web');
    assert.equal(env.POD_IP, '10.1.0.7');
    assert.equal(env.HOST_IP, '192.0.2.1');
    assert.equal(env.SA, 'robot');
    assert.equal(env.MEM_MI, '256');
    assert.equal(env.CPU_LIMIT, '4', 'no CPU limit: the node\'s allocatable');
    assert.equal(env.CPU_REQ_M, '250');
    assert.equal(env.PASSWORD, 'hunter2');
    assert.equal(env.CFG_MODE, 'prod');
    assert.equal(env['CFG_log.level'], 'debug');
    assert.ok(!('OPTIONAL' in env));
    assert.equal(env.SVC, '10.43.0.1');
    assert.equal(env.KUBERNETES_SERVICE_HOST, '10.43.0.1');
    assert.deepEqual(r.skipped, [{ kind: 'configMap', name: 'cfg', keys: ['BAD=KEY'] }]);
    // envFrom first, then env in order, service variables last
    const names = r.env.map((e) => e.name);
    assert.ok(names.indexOf('CFG_MODE') < names.indexOf('GREETING'));
    assert.ok(names.indexOf('PASSWORD') < names.indexOf('KUBERNETES_SERVICE_HOST'));
  });

  it('a container variable wins over a service variable of the same name', () => {
    const c: Container = { name: 'app', env: [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }] };
    const r = makeEnvironment(pod(c), c, sources({ services: [svc('default', 'kubernetes', '10.43.0.1', [{ port: 443 }])] }));
    assert.deepEqual(r.env.filter((e) => e.name === 'KUBERNETES_SERVICE_HOST'), [{ name: 'KUBERNETES_SERVICE_HOST', value: 'mine' }]);
  });

  const errors: [string, Container, string][] = [
    ['a missing configMap', { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }] }, 'configmap "gone" not found'],
    ['a missing secret in envFrom', { name: 'c', envFrom: [{ secretRef: { name: 'gone' } }] }, 'secret "gone" not found'],
    ['a missing key', { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } }] }, "couldn't find key user in Secret shop/db"],
    ['an unsupported field', { name: 'c', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.hostname' } } }] }, 'unsupported fieldPath: spec.hostname'],
  ];
  for (const [what, c, msg] of errors) {
    it(`fails with upstream's message for ${what}`, () => {
      assert.throws(() => makeEnvironment(pod(c), c, sources({ secret: (n) => (n === 'db' ? sec : undefined) })), (e) => e instanceof ContainerConfigError && e.message === msg);
    });
  }

  it('expands command and args from the final environment', () => {
    const c: Container = { name: 'c', command: ['echo', '$(A)'], args: ['$(B)', '$$(A)', '$(NOPE)'] };
    assert.deepEqual(expandCommandAndArgs(c, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }]), { command: ['echo', '1'], args: ['2', '$(A)', '$(NOPE)'] });
  });

  it('rounds resource values up in units of the divisor', () => {
    const c: Container = { name: 'c', resources: { limits: { cpu: '1500m', memory: '100M' } } };
    assert.equal(containerResourceValue(c, 'limits.cpu', undefined, {}), '2');
    assert.equal(containerResourceValue(c, 'limits.cpu', '1m', {}), '1500');
    assert.equal(containerResourceValue(c, 'limits.memory', '1Mi', {}), '96');
  });
});
