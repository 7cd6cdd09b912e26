import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredRoutes, masqueradeScript, nodeRouteInfo, onLocalLink, planRoutes, type RouteLookup } from './routes.ts';
import type { Node } from '../proxy/types.ts';

function node(name: string, podCIDR: string | undefined, ip: string | undefined, extra: Partial<Node> = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
    status: { addresses: ip ? [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: ip }] : [] },
    ...extra,
  };
}

const infos = [node('a', '10.42.0.0/24', '10.200.0.1'), node('b', '10.42.1.0/24', '10.200.0.2'), node('c', '10.42.2.0/24', '10.200.0.3'), node('new', undefined, '10.200.0.4'), node('noip', '10.42.4.0/24', undefined)].map(nodeRouteInfo);

test('a node routes every other node’s pod CIDR via its InternalIP, skipping nodes without a CIDR or an address', () => {
  assert.deepEqual(desiredRoutes(infos, 'a'), [
    { dst: '10.42.1.0/24', via: '10.200.0.2', node: 'b' },
    { dst: '10.42.2.0/24', via: '10.200.0.3', node: 'c' },
  ]);
});

test('only IPv4 pod CIDRs and InternalIPs are used; ExternalIPs never', () => {
  const n = nodeRouteInfo({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'd' },
    spec: { podCIDR: '10.42.3.0/24', podCIDRs: ['10.42.3.0/24', 'fd00:42:3::/64'] },
    status: { addresses: [{ type: 'ExternalIP', address: '203.0.113.9' }, { type: 'InternalIP', address: 'fd00::9' }, { type: 'InternalIP', address: '10.200.0.9' }] },
  });
  assert.deepEqual(n, { name: 'd', podCIDRs: ['10.42.3.0/24'], internalIPs: ['10.200.0.9'] });
});

test('a pod CIDR two nodes claim is routed to the first by name only', () => {
  const two = [node('x', '10.42.9.0/24', '10.200.0.8'), node('w', '10.42.9.0/24', '10.200.0.7')].map(nodeRouteInfo);
  assert.deepEqual(desiredRoutes(two, 'a'), [{ dst: '10.42.9.0/24', via: '10.200.0.7', node: 'w' }]);
});

test('an address is on a local link only when the kernel reaches it directly through a real device', () => {
  assert.equal(onLocalLink({ dev: 'eth0' }), true);
  assert.equal(onLocalLink({ dev: 'eth0', type: 'unicast' }), true);
  assert.equal(onLocalLink({ dev: 'eth0', gateway: '10.200.0.254' }), false, 'via a router');
  assert.equal(onLocalLink({ dev: 'lo', type: 'local' }), false, 'this host');
  assert.equal(onLocalLink(undefined), false, 'blackhole or no route');
});

test('the plan adds missing routes, fixes wrong gateways, removes ours that nobody wants, and never routes via an unreachable gateway', () => {
  const desired = desiredRoutes(infos, 'a');
  const lookups = new Map<string, RouteLookup | undefined>([
    ['10.200.0.2', { dev: 'eth0' }],
    ['10.200.0.3', { dev: 'eth0', gateway: '10.200.0.254' }],
  ]);
  const plan = planRoutes(
    desired,
    [
      { dst: '10.42.1.0/24', gateway: '10.200.0.9', dev: 'eth0', protocol: '201' },
      { dst: '10.42.2.0/24', gateway: '10.200.0.3', dev: 'eth0', protocol: '201' },
      { dst: '10.42.7.0/24', gateway: '10.200.0.7', dev: 'eth0', protocol: '201' },
    ],
    lookups,
  );
  assert.deepEqual(plan.replace, [{ dst: '10.42.1.0/24', via: '10.200.0.2', dev: 'eth0' }]);
  assert.deepEqual(plan.remove.map((r) => r.dst).sort(), ['10.42.2.0/24', '10.42.7.0/24']);
  assert.deepEqual(plan.skipped, [{ dst: '10.42.2.0/24', via: '10.200.0.3', node: 'c' }]);
});

test('routes already right are left alone', () => {
  const desired = [{ dst: '10.42.1.0/24', via: '10.200.0.2', node: 'b' }];
  const plan = planRoutes(desired, [{ dst: '10.42.1.0/24', gateway: '10.200.0.2', dev: 'eth0', protocol: '201' }], new Map([['10.200.0.2', { dev: 'eth0' }]]));
  assert.deepEqual(plan, { replace: [], remove: [], skipped: [] });
});

test('pods are masqueraded only when leaving the cluster CIDR (and never towards multicast)', () => {
  const s = masqueradeScript('rudder-network', ['10.42.0.0/16', 'fd00:42::/56']);
  assert.match(s, /^add table ip rudder-network\ndelete table ip rudder-network\n/);
  assert.ok(s.includes('add chain ip rudder-network postrouting { type nat hook postrouting priority 100 ; }'));
  assert.ok(s.includes('add rule ip rudder-network postrouting ip saddr { 10.42.0.0/16 } ip daddr != { 10.42.0.0/16 } ip daddr != 224.0.0.0/4 masquerade fully-random'));
});
