import { test } from 'node:test';
import assert from 'node:assert/strict';
import './discovery.ts';
import { validateCreate, validateUpdate } from './index.ts';
import { defaultObject } from '../defaults/index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const GVK = { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' };

function defaulted(obj: Obj): Obj {
  const o = structuredClone(obj);
  defaultObject(GVK, o);
  return o;
}
const create = (obj: Obj) => validateCreate(GVK, defaulted(obj)).map(fieldErrorString);
const update = (obj: Obj, old: Obj) => validateUpdate(GVK, defaulted(obj), defaulted(old)).map(fieldErrorString);

const slice = {
  metadata: { name: 'web-abc', namespace: 'default', resourceVersion: '1' },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true }, nodeName: 'node-1', zone: 'a', hints: { forZones: [{ name: 'a' }] } }],
  ports: [{ name: 'http', port: 80 }],
};

test('EndpointSlice ports default to name "" and protocol TCP', () => {
  const o = defaulted({ ...slice, ports: [{ port: 80 }, { name: 'dns', protocol: 'UDP', port: 53 }] });
  assert.deepEqual(o.ports, [
    { port: 80, name: '', protocol: 'TCP' },
    { name: 'dns', protocol: 'UDP', port: 53 },
  ]);
});

test('valid EndpointSlices of each address type pass', () => {
  assert.deepEqual(create(slice), []);
  assert.deepEqual(create({ ...slice, addressType: 'IPv6', endpoints: [{ addresses: ['fd00::5'] }] }), []);
  assert.deepEqual(create({ ...slice, addressType: 'FQDN', endpoints: [{ addresses: ['db.example.com'] }] }), []);
});

test('address type is required, supported, and immutable', () => {
  assert.deepEqual(create({ ...slice, addressType: undefined, endpoints: [] }), ['addressType: Required value']);
  assert.deepEqual(create({ ...slice, addressType: 'IP', endpoints: [] }), ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"']);
  const stored = { ...slice, addressType: 'IP', endpoints: [] };
  assert.deepEqual(update(stored, stored), []);
  assert.deepEqual(update({ ...slice, addressType: 'IPv6', endpoints: [] }, slice), ['addressType: Invalid value: "IPv6": field is immutable']);
});

test('addresses are checked by type', () => {
  const at = (addressType: string, addresses: string[]) => create({ ...slice, addressType, endpoints: [{ addresses }] });
  const p = 'endpoints[0].addresses';
  assert.deepEqual(at('IPv4', ['fd00::1']), [`${p}[0]: Invalid value: "fd00::1": must be an IPv4 address`]);
  assert.deepEqual(at('IPv6', ['10.0.0.1']), [`${p}[0]: Invalid value: "10.0.0.1": must be an IPv6 address`]);
  assert.deepEqual(at('IPv4', ['10.0.0']), [`${p}[0]: Invalid value: "10.0.0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`]);
  assert.deepEqual(at('IPv4', ['127.0.0.1', '169.254.1.1', '0.0.0.0', '224.0.0.5']), [
    `${p}[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`,
    `${p}[1]: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)`,
    `${p}[2]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)`,
    `${p}[3]: Invalid value: "224.0.0.5": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)`,
  ]);
  assert.deepEqual(at('IPv6', ['::1', 'fe80::1', 'ff02::1']), [
    `${p}[0]: Invalid value: "::1": may not be in the loopback range (127.0.0.0/8, ::1/128)`,
    `${p}[1]: Invalid value: "fe80::1": may not be in the link-local range (169.254.0.0/16, fe80::/10)`,
    `${p}[2]: Invalid value: "ff02::1": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)`,
  ]);
  assert.deepEqual(at('FQDN', ['localhost']), [`${p}[0]: Invalid value: "localhost": should be a domain with at least two segments separated by dots`]);
  assert.deepEqual(at('FQDN', ['db.example.com.']), []);
});

test('endpoint and port limits', () => {
  assert.deepEqual(create({ ...slice, endpoints: [{ addresses: [] }] }), ['endpoints[0].addresses: Required value: must contain at least 1 address']);
  const many = Array.from({ length: 1001 }, () => ({ addresses: ['10.0.0.1'] }));
  assert.deepEqual(create({ ...slice, endpoints: many }), ['endpoints: Too many: 1001: must have at most 1000 items']);
  const addrs = Array.from({ length: 101 }, (_, i) => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  assert.deepEqual(create({ ...slice, endpoints: [{ addresses: addrs }] }), ['endpoints[0].addresses: Too many: 101: must have at most 100 items']);
  const ports = Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: i + 1 }));
  assert.deepEqual(create({ ...slice, ports }), ['ports: Too many: 101: must have at most 100 items']);
  const topo = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
  assert.deepEqual(create({ ...slice, endpoints: [{ addresses: ['10.0.0.1'], deprecatedTopology: topo }] }), ['endpoints[0].topology: Too many: 17: must have at most 16 items']);
});

test('ports: names unique DNS labels, protocols supported, appProtocol qualified', () => {
  assert.deepEqual(create({ ...slice, ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }), ['ports[1].name: Duplicate value: "http"']);
  assert.deepEqual(create({ ...slice, ports: [{ port: 80 }, { port: 81 }] }), ['ports[1].name: Duplicate value: ""']);
  assert.deepEqual(create({ ...slice, ports: [{ name: 'x', protocol: 'ICMP' }] }), ['ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']);
  assert.equal(create({ ...slice, ports: [{ name: 'x', appProtocol: 'not valid' }] })[0]!.startsWith('ports[0].appProtocol: Invalid value: "not valid": name part must consist'), true);
  assert.equal(create({ ...slice, ports: [{ name: 'Http' }] })[0]!.startsWith('ports[0].name: Invalid value: "Http": a lowercase RFC 1123 label'), true);
});

test('hostname, nodeName and zone hints', () => {
  const ep = (e: Obj) => create({ ...slice, endpoints: [{ addresses: ['10.0.0.1'], ...e }] });
  assert.equal(ep({ hostname: 'Web.1' })[0]!.startsWith('endpoints[0].hostname: Invalid value: "Web.1"'), true);
  assert.equal(ep({ nodeName: 'Node_1' })[0]!.startsWith('endpoints[0].nodeName: Invalid value: "Node_1"'), true);
  assert.deepEqual(ep({ hints: { forZones: [{ name: 'a' }, { name: 'a' }] } }), ['endpoints[0].hints.forZones[1].name: Duplicate value: "a"']);
  const zones = Array.from({ length: 9 }, (_, i) => ({ name: `z${i}` }));
  assert.deepEqual(ep({ hints: { forZones: zones } }), ['endpoints[0].hints.forZones: Too many: 9: must have at most 8 items']);
});
