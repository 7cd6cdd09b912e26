import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../client/clock.ts';
import { ProxyEngine, STALE_CHAIN_DELETE_DELAY_MS } from './engine.ts';
import type { Nft } from './nft.ts';
import type { ExistingTable } from './nft-script.ts';
import { parseTableListing } from './nft.ts';
import type { ProxyRulesConfig, ServiceInput } from './rules.ts';
import { servicePortEndpointChainNameBase } from './model.ts';
import { endpoint, port, service, slice } from './testing.ts';

const cfg: ProxyRulesConfig = { nodeName: 'node-a', nodeIPs: ['192.168.50.10'], clusterCidr: '10.42.0.0/16', serviceCidrs: ['10.43.0.0/16'] };

/** An nft that records transactions; `fail` makes the next apply fail. */
class FakeNft implements Nft {
  scripts: string[] = [];
  existing: ExistingTable | undefined;
  fail = false;
  async apply(script: string): Promise<void> {
    if (this.fail) {
      this.fail = false;
      throw new Error('nft: Could not process rule: Device or resource busy');
    }
    this.scripts.push(script);
  }
  async listTable(): Promise<ExistingTable | undefined> {
    return this.existing;
  }
  last(): string[] {
    return this.scripts.at(-1)!.trim().split('\n');
  }
}

function web(name: string, ip: string, eps: string[], spec: Parameters<typeof service>[1] = {}): ServiceInput {
  return { service: service(name, { clusterIP: ip, ports: [port(80)], ...spec }), slices: [slice(name, eps.map((e) => endpoint(e)))] };
}

async function started(nft = new FakeNft(), clock = new FakeClock()) {
  const e = new ProxyEngine({ nft, config: cfg, clock });
  e.updateService('default/a', web('a', '10.43.0.1', ['10.42.1.1', '10.42.1.2']));
  e.updateService('default/b', web('b', '10.43.0.2', ['10.42.1.3', '10.42.1.4']));
  assert.equal(await e.sync(), 'full');
  return { e, nft, clock };
}

test('the first sync writes the whole table; an endpoint change then writes only its elements', async () => {
  const { e, nft } = await started();
  const full = nft.last();
  assert.equal(full[0], 'add table ip kube-proxy { comment "rules for kube-proxy" ; }');
  assert.ok(full.includes('flush map ip kube-proxy service-ips'));
  assert.ok(full.includes('add element ip kube-proxy service-ips { 10.43.0.1 . tcp . 80 : goto svc-cluster-2, 10.43.0.2 . tcp . 80 : goto svc-cluster-2 }'));

  e.updateService('default/a', web('a', '10.43.0.1', ['10.42.1.1', '10.42.1.9']));
  assert.equal(await e.sync(), 'partial');
  assert.deepEqual(nft.last().sort(), [
    'delete element ip kube-proxy cluster-endpoints-tcp { 10.43.0.1 . tcp . 80 . 1 }',
    'delete element ip kube-proxy hairpin-ips { 10.42.1.2 . 10.42.1.2 }',
    'add element ip kube-proxy cluster-endpoints-tcp { 10.43.0.1 . tcp . 80 . 1 : 10.42.1.9 . 8080 }',
    'add element ip kube-proxy hairpin-ips { 10.42.1.9 . 10.42.1.9 }',
  ].sort());
  // deletions before additions: a key whose value changes is deleted, then added
  assert.ok(nft.last().findLastIndex((l) => l.startsWith('delete')) < nft.last().findIndex((l) => l.startsWith('add')));
  assert.equal(e.stats.fullSyncs, 1);
  assert.equal(e.stats.partialSyncs, 1);
});

test('nothing changed: no transaction at all', async () => {
  const { e, nft } = await started();
  e.updateService('default/a', web('a', '10.43.0.1', ['10.42.1.1', '10.42.1.2']));
  assert.equal(await e.sync(), 'none');
  assert.equal(nft.scripts.length, 1);
});

test('a shared chain appears with its first user and goes (flushed, deleted a second later) with its last', async () => {
  const { e, nft, clock } = await started();
  e.updateService('default/a', web('a', '10.43.0.1', ['10.42.1.1', '10.42.1.2', '10.42.1.5']));
  await e.sync();
  const add = nft.last();
  assert.deepEqual(add.slice(0, 2), ['add chain ip kube-proxy svc-cluster-3', 'flush chain ip kube-proxy svc-cluster-3']);
  assert.ok(add.includes('add rule ip kube-proxy svc-cluster-3 ip saddr != 10.42.0.0/16 jump mark-for-masquerade'));
  // the chain exists before the element that jumps to it
  assert.ok(add.indexOf('add element ip kube-proxy service-ips { 10.43.0.1 . tcp . 80 : goto svc-cluster-3 }') > add.indexOf('add chain ip kube-proxy svc-cluster-3'));
  assert.ok(!add.some((l) => l.includes('flush chain ip kube-proxy svc-cluster-2')), 'b still uses svc-cluster-2');

  e.updateService('default/b', undefined);
  await e.sync();
  assert.ok(nft.last().includes('flush chain ip kube-proxy svc-cluster-2'));
  assert.ok(!nft.scripts.join('\n').includes('delete chain ip kube-proxy svc-cluster-2'));
  assert.equal(e.nextStaleDeletion(), clock.now() + STALE_CHAIN_DELETE_DELAY_MS);
  await clock.advance(STALE_CHAIN_DELETE_DELAY_MS);
  assert.equal(await e.sync(), 'none');
  assert.deepEqual(nft.last(), ['delete chain ip kube-proxy svc-cluster-2']);
  assert.equal(e.nextStaleDeletion(), undefined);
});

test('a chain wanted again before its deletion is not deleted', async () => {
  const { e, nft, clock } = await started();
  e.updateService('default/b', undefined);
  e.updateService('default/a', web('a', '10.43.0.1', ['10.42.1.1']));
  await e.sync(); // svc-cluster-2 is now stale
  e.updateService('default/a', web('a', '10.43.0.1', ['10.42.1.1', '10.42.1.2']));
  await e.sync();
  assert.ok(nft.last().includes('add chain ip kube-proxy svc-cluster-2'));
  await clock.advance(STALE_CHAIN_DELETE_DELAY_MS * 2);
  await e.sync();
  assert.ok(!nft.scripts.join('\n').includes('delete chain ip kube-proxy svc-cluster-2'));
});

test('an endpoint two Services share keeps its hairpin pair until both let go', async () => {
  const { e, nft } = await started();
  e.updateService('default/c', web('c', '10.43.0.3', ['10.42.1.1']));
  await e.sync();
  assert.ok(!nft.last().some((l) => l.includes('hairpin-ips')));
  e.updateService('default/a', undefined);
  await e.sync();
  assert.ok(!nft.last().some((l) => l.includes('10.42.1.1 . 10.42.1.1')));
  e.updateService('default/c', undefined);
  await e.sync();
  assert.ok(nft.last().includes('delete element ip kube-proxy hairpin-ips { 10.42.1.1 . 10.42.1.1 }'));
});

test('a failed transaction makes the next sync a full one', async () => {
  const { e, nft } = await started();
  e.updateService('default/a', web('a', '10.43.0.1', ['10.42.1.1']));
  nft.fail = true;
  await assert.rejects(e.sync(), /resource busy/);
  assert.equal(e.stats.failures, 1);
  assert.equal(await e.sync(), 'full');
  assert.ok(nft.last().includes('add element ip kube-proxy cluster-endpoints-tcp { 10.43.0.1 . tcp . 80 . 0 : 10.42.1.1 . 8080, 10.43.0.2 . tcp . 80 . 0 : 10.42.1.3 . 8080, 10.43.0.2 . tcp . 80 . 1 : 10.42.1.4 . 8080 }'));
});

test('a full sync over a table left by an earlier process re-creates base chains, flushes strangers, re-creates sets whose timeout changed', async () => {
  const epBase = servicePortEndpointChainNameBase('default', 'sticky', 'tcp', 'http', '10.42.1.7', 8080);
  const nft = new FakeNft();
  nft.existing = {
    chains: new Set(['nat-prerouting', 'services', 'svc-cluster-9', 'service-XXXXXXXX-default/gone/tcp/http']),
    sets: new Map([['service-ips', 0], [`affinity-${epBase}`, 60], ['affinity-YYYYYYYY-default/gone/tcp/http__10.0.0.1/80', 60]]),
  };
  const e = new ProxyEngine({ nft, config: cfg, clock: new FakeClock() });
  e.updateService('default/sticky', web('sticky', '10.43.0.7', ['10.42.1.7'], { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } } }));
  await e.sync();
  const s = nft.last();
  const at = (l: string) => {
    const i = s.indexOf(l);
    assert.ok(i >= 0, `missing: ${l}`);
    return i;
  };
  assert.ok(at('add chain ip kube-proxy nat-prerouting') < at('delete chain ip kube-proxy nat-prerouting'));
  assert.ok(at('delete chain ip kube-proxy nat-prerouting') < at('add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }'));
  at('flush chain ip kube-proxy svc-cluster-9');
  at('flush chain ip kube-proxy service-XXXXXXXX-default/gone/tcp/http');
  // sets are deleted only after every chain using them was flushed
  const lastFlush = Math.max(...s.map((l, i) => (l.startsWith('flush chain') ? i : -1)));
  assert.ok(at('delete set ip kube-proxy affinity-YYYYYYYY-default/gone/tcp/http__10.0.0.1/80') > lastFlush);
  assert.ok(at(`delete set ip kube-proxy affinity-${epBase}`) < at(`add set ip kube-proxy affinity-${epBase} { type ipv4_addr ; flags dynamic,timeout ; timeout 300s ; }`));
  assert.ok(!s.includes('delete set ip kube-proxy service-ips'));
  // and the stale chains go a second later
  assert.equal(e.nextStaleDeletion() !== undefined, true);
});

test('parseTableListing reads chains, sets and maps (with their timeouts) from nft -j', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'ip', name: 'kube-proxy' } },
      { set: { family: 'ip', name: 'affinity-x', table: 'kube-proxy', type: 'ipv4_addr', flags: ['timeout'], timeout: 10800 } },
      { map: { family: 'ip', name: 'service-ips', table: 'kube-proxy', map: 'verdict' } },
      { chain: { family: 'ip', table: 'kube-proxy', name: 'services' } },
    ],
  });
  const t = parseTableListing(json);
  assert.deepEqual([...t.chains], ['services']);
  assert.deepEqual([...t.sets], [['affinity-x', 10800], ['service-ips', 0]]);
});

test('two Services claiming one LoadBalancer IP:port: the first by name serves it, the other takes over when it goes', async () => {
  const nft = new FakeNft();
  const e = new ProxyEngine({ nft, config: cfg, clock: new FakeClock() });
  const lb = (name: string, ip: string, eps: string[]) => web(name, ip, eps, { type: 'LoadBalancer' });
  const withIngress = (s: ServiceInput): ServiceInput => ({ ...s, service: { ...s.service, status: { loadBalancer: { ingress: [{ ip: '192.168.50.10' }] } } } });
  e.updateService('default/b', withIngress(lb('b', '10.43.0.2', ['10.42.1.3', '10.42.1.4'])));
  e.updateService('default/a', withIngress(lb('a', '10.43.0.1', ['10.42.1.1'])));
  await e.sync();
  assert.ok(nft.last().some((l) => l.includes('192.168.50.10 . tcp . 80 : goto ext-cluster-1')));
  e.updateService('default/a', undefined);
  await e.sync();
  const s = nft.last();
  assert.ok(s.some((l) => l.startsWith('delete element ip kube-proxy service-ips') && l.includes('192.168.50.10 . tcp . 80')));
  assert.ok(s.includes('add element ip kube-proxy service-ips { 192.168.50.10 . tcp . 80 : goto ext-cluster-2 }'));
  assert.ok(s.some((l) => l.startsWith('add element ip kube-proxy cluster-endpoints-tcp') && l.includes('192.168.50.10 . tcp . 80 . 0 : 10.42.1.3 . 8080')));
});
