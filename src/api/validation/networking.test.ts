import { test } from 'node:test';
import assert from 'node:assert/strict';
import './networking.ts';
import { parseCIDR } from './ipnet.ts';
import { validateCreate, validateUpdate, validateStatusUpdate } from './index.ts';
import { defaultObject } from '../defaults/index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const gvk = (kind: string) => ({ group: 'networking.k8s.io', version: 'v1', kind });

function defaulted(kind: string, obj: Obj): Obj {
  const o = structuredClone(obj);
  defaultObject(gvk(kind), o);
  return o;
}
const create = (kind: string, obj: Obj) => validateCreate(gvk(kind), defaulted(kind, obj)).map(fieldErrorString);
const update = (kind: string, obj: Obj, old: Obj) => validateUpdate(gvk(kind), defaulted(kind, obj), defaulted(kind, old)).map(fieldErrorString);

const DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

const backend = { service: { name: 'web', port: { number: 80 } } };
const ing = {
  metadata: { name: 'web', namespace: 'default', resourceVersion: '1' },
  spec: {
    ingressClassName: 'nginx',
    rules: [{ host: 'example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }],
    tls: [{ hosts: ['example.com', '*.example.com'], secretName: 'tls' }],
  },
};
const withPath = (p: Obj) => ({ ...ing, spec: { rules: [{ host: 'example.com', http: { paths: [{ backend, ...p }] } }] } });
const withBackend = (b: Obj) => withPath({ path: '/', pathType: 'Prefix', backend: b });

test('valid Ingresses pass', () => {
  assert.deepEqual(create('Ingress', ing), []);
  assert.deepEqual(create('Ingress', { ...ing, spec: { defaultBackend: { service: { name: 'web', port: { name: 'http' } } } } }), []);
  assert.deepEqual(create('Ingress', withBackend({ resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } })), []);
  assert.deepEqual(create('Ingress', withPath({ pathType: 'ImplementationSpecific' })), []);
  assert.deepEqual(create('Ingress', { ...ing, spec: { rules: [{ host: '*.example.com', http: { paths: [{ path: '/a', pathType: 'Exact', backend }] } }] } }), []);
});

test('Ingress rules, paths and path types', () => {
  const cases: Array<[Obj, string[]]> = [
    [{ ...ing, spec: {} }, ['spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified']],
    [{ ...ing, spec: { rules: [] } }, ['spec: Invalid value: []networking.IngressRule{}: either `defaultBackend` or `rules` must be specified']],
    [withPath({ path: '/' }), ['spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified']],
    [withPath({ path: '/', pathType: 'Regex' }), ['spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"']],
    [withPath({ path: 'foo', pathType: 'Prefix' }), ['spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path']],
    [withPath({ path: 'foo', pathType: 'ImplementationSpecific' }), ['spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path']],
    [
      withPath({ path: '/a//b/..', pathType: 'Exact' }),
      ["spec.rules[0].http.paths[0].path: Invalid value: \"/a//b/..\": must not contain '//'", "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b/..\": cannot end with '/..'"],
    ],
    [{ ...ing, spec: { rules: [{ host: 'example.com', http: { paths: [] } }] } }, ['spec.rules[0].http.paths: Required value']],
    [{ ...ing, spec: { rules: [{ host: '10.0.0.1' }] } }, ['spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address']],
    [
      { ...ing, spec: { rules: [{ host: 'a.*.com' }] } },
      [
        "spec.rules[0].host: Invalid value: \"a.*.com\": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    ],
  ];
  for (const [obj, want] of cases) assert.deepEqual(create('Ingress', obj), want, JSON.stringify(obj.spec));
});

test('Ingress backends: exactly one of service and resource, port name or number', () => {
  const p = 'spec.rules[0].http.paths[0].backend';
  const cases: Array<[Obj, string[]]> = [
    [{}, [`${p}: Invalid value: "": resource or service backend is required`]],
    [{ ...backend, resource: { kind: 'K', name: 'n' } }, [`${p}: Invalid value: "": cannot set both resource and service backends`]],
    [{ service: { name: 'web', port: {} } }, [`${p}: Required value: port name or number is required`]],
    [{ service: { name: 'web', port: { name: 'http', number: 80 } } }, [`${p}: Invalid value: "": cannot set both port name & port number`]],
    [{ service: { name: 'web', port: { number: 70000 } } }, [`${p}.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive`]],
    [{ service: { port: { number: 80 } } }, [`${p}.service.name: Required value`]],
    [{ service: { name: '1web', port: { number: 80 } } }, [`${p}.service.name: Invalid value: "1web": ${DNS1035}`]],
    [{ resource: { name: 'x' } }, [`${p}.resource.kind: Required value`]],
    [{ resource: { kind: 'K', name: 'a/b' } }, [`${p}.resource.name: Invalid value: "a/b": may not contain '/'`]],
  ];
  for (const [b, want] of cases) assert.deepEqual(create('Ingress', withBackend(b)), want, JSON.stringify(b));
});

test('Ingress TLS and ingress-class annotation', () => {
  assert.deepEqual(create('Ingress', { ...ing, spec: { ...ing.spec, tls: [{ secretName: 'Bad_Name' }] } }).map((e) => e.split(':')[0]), ['spec.tls[0].secretName']);
  assert.deepEqual(create('Ingress', { ...ing, metadata: { ...ing.metadata, annotations: { 'kubernetes.io/ingress.class': 'traefik' } } }), [
    'annotations.kubernetes.io/ingress.class: Invalid value: "traefik": must match `ingressClassName` when both are specified',
  ]);
  // The annotation check applies on create only.
  assert.deepEqual(update('Ingress', { ...ing, metadata: { ...ing.metadata, annotations: { 'kubernetes.io/ingress.class': 'traefik' } } }, ing), []);
});

test('Ingress status: load balancer IPs and hostnames', () => {
  const withStatus = (lb: Obj[]) => ({ ...ing, status: { loadBalancer: { ingress: lb } } });
  const errs = validateStatusUpdate(gvk('Ingress'), withStatus([{ ip: '1.2.3.4' }, { ip: 'nope' }, { hostname: '10.0.0.1' }]), ing).map(fieldErrorString);
  assert.deepEqual(errs, [
    'status.loadBalancer.ingress[1].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
    'status.loadBalancer.ingress[2].hostname: Invalid value: "10.0.0.1": must be a DNS name, not an IP address',
  ]);
});

const ic = { metadata: { name: 'nginx', resourceVersion: '1' }, spec: { controller: 'k8s.io/ingress-nginx' } };

test('IngressClass controller, parameters defaults and immutability', () => {
  assert.deepEqual(create('IngressClass', ic), []);
  const withParams = defaulted('IngressClass', { ...ic, spec: { ...ic.spec, parameters: { apiGroup: 'k8s.example.com', kind: 'Params', name: 'p' } } });
  assert.equal(withParams.spec.parameters.scope, 'Cluster');
  assert.deepEqual(create('IngressClass', withParams), []);
  const cases: Array<[Obj, string[]]> = [
    [{ ...ic, spec: {} }, ['spec.controller: Required value']],
    [{ ...ic, spec: { controller: 'nginx' } }, ['spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")']],
    [{ ...ic, spec: { controller: `example.com/${'x'.repeat(250)}` } }, ['spec.controller: Too long: may not be more than 250 bytes']],
    [
      { ...ic, spec: { ...ic.spec, parameters: { kind: 'P', name: 'p', scope: 'Namespace' } } },
      ["spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"],
    ],
    [{ ...ic, spec: { ...ic.spec, parameters: { kind: 'P', name: 'p', scope: 'Cluster', namespace: 'x' } } }, ["spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'"]],
    [{ ...ic, spec: { ...ic.spec, parameters: { kind: 'P', name: 'p', scope: 'Global' } } }, ['spec.parameters.scope: Unsupported value: "Global": supported values: "Cluster", "Namespace"']],
  ];
  for (const [obj, want] of cases) assert.deepEqual(create('IngressClass', obj), want, JSON.stringify(obj.spec).slice(0, 120));
  assert.deepEqual(update('IngressClass', { ...ic, spec: { controller: 'example.com/other' } }, ic), ['spec.controller: Invalid value: "example.com/other": field is immutable']);
});

const np = {
  metadata: { name: 'allow', namespace: 'default', resourceVersion: '1' },
  spec: {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ namespaceSelector: {} }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80 }, { port: 'http' }, { port: 30000, endPort: 32767 }] }],
  },
};

test('NetworkPolicy defaults: TCP ports and policyTypes from the rules present', () => {
  const d = defaulted('NetworkPolicy', np);
  assert.deepEqual(d.spec.policyTypes, ['Ingress']);
  assert.deepEqual(d.spec.ingress[0].ports.map((p: Obj) => p.protocol), ['TCP', 'TCP', 'TCP']);
  assert.deepEqual(defaulted('NetworkPolicy', { ...np, spec: { ...np.spec, egress: [{}] } }).spec.policyTypes, ['Ingress', 'Egress']);
  assert.deepEqual(defaulted('NetworkPolicy', { ...np, spec: { ...np.spec, policyTypes: ['Egress'] } }).spec.policyTypes, ['Egress']);
});

test('NetworkPolicy ports, peers, ipBlocks and policyTypes', () => {
  assert.deepEqual(create('NetworkPolicy', np), []);
  const rule = (r: Obj) => ({ ...np, spec: { podSelector: {}, ingress: [r] } });
  const p = 'spec.ingress[0]';
  const cases: Array<[Obj, string[]]> = [
    [rule({ ports: [{ protocol: 'ICMP' }] }), [`${p}.ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`]],
    [rule({ ports: [{ port: 0 }] }), [`${p}.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive`]],
    [rule({ ports: [{ port: 100, endPort: 50 }] }), [`${p}.ports[0].endPort: Invalid value: 50: must be greater than or equal to \`port\``]],
    [rule({ ports: [{ port: 'http', endPort: 50 }] }), [`${p}.ports[0].endPort: Invalid value: 50: may not be specified when \`port\` is non-numeric`]],
    [rule({ ports: [{ endPort: 50 }] }), [`${p}.ports[0].endPort: Invalid value: 50: may not be specified when \`port\` is not specified`]],
    [rule({ from: [{}] }), [`${p}.from[0]: Required value: must specify a peer`]],
    [rule({ from: [{ podSelector: {}, ipBlock: { cidr: '10.0.0.0/8' } }] }), [`${p}.from[0]: Forbidden: may not specify both ipBlock and another peer`]],
    [rule({ from: [{ ipBlock: {} }] }), [`${p}.from[0].ipBlock.cidr: Required value`]],
    [rule({ from: [{ ipBlock: { cidr: '10.0.0.0' } }] }), [`${p}.from[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`]],
    [
      rule({ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24', '10.0.0.0/16', 'fd00::/64'] } }] }),
      [
        `${p}.from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of \`cidr\``,
        `${p}.from[0].ipBlock.except[1]: Invalid value: "10.0.0.0/16": must be a strict subset of \`cidr\``,
        `${p}.from[0].ipBlock.except[2]: Invalid value: "fd00::/64": must be a strict subset of \`cidr\``,
      ],
    ],
    [rule({ from: [{ ipBlock: { cidr: 'fd00::/48', except: ['fd00:0:0:1::/64'] } }] }), []],
    [{ ...np, spec: { podSelector: {}, policyTypes: ['Ingress', 'Sideways'] } }, ['spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"']],
    [
      { ...np, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress', 'Ingress'] } },
      ['spec.policyTypes: Invalid value: []networking.PolicyType{"Ingress", "Egress", "Ingress"}: may not specify more than two policyTypes'],
    ],
  ];
  for (const [obj, want] of cases) assert.deepEqual(create('NetworkPolicy', obj), want, JSON.stringify(obj.spec));
});

test('NetworkPolicy update keeps accepting CIDRs already stored', () => {
  const stored = { ...np, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] } };
  assert.deepEqual(update('NetworkPolicy', stored, stored), []);
  const changed = { ...np, spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/34' } }] }] } };
  assert.deepEqual(update('NetworkPolicy', changed, stored), [
    'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/34": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  ]);
});

test('CIDR parsing follows Go: sloppy IPv4, masked network address, IPv6 with embedded IPv4', () => {
  assert.deepEqual(parseCIDR('010.0.0.1/8'), { bits: 32, addr: 10n << 24n, prefix: 8 });
  assert.equal(parseCIDR('::ffff:1.2.3.4/128')?.bits, 128);
  assert.equal(parseCIDR('::1.2.3.4/128')?.addr, (1n << 24n) | (2n << 16n) | (3n << 8n) | 4n);
  assert.equal(parseCIDR('1.2.3.4'), undefined);
  assert.equal(parseCIDR('1.2.3.4/33'), undefined);
  assert.equal(parseCIDR('fe80::1%eth0/64'), undefined);
});
