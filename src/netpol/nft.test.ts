// The nft scripts written for a ruleset: the whole table at first, then only what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeRuleset, podChainNames } from './rules.ts';
import { NetpolApplier, renderDiff, renderFull } from './nft.ts';
import type { NetworkPolicy, Pod } from './types.ts';

const pod = (ns: string, name: string, ip: string, labels: Record<string, string>): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: ns, name, labels },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

const allowFromFront: NetworkPolicy = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace: 'app', name: 'allow-front' },
  spec: { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'front' } } }], ports: [{ port: 5432 }, { port: 'http' }] }] },
};

const ns = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } }];
const db = pod('app', 'db', '10.42.0.10', { role: 'db' });
const front1 = pod('app', 'front-1', '10.42.0.20', { role: 'front' });
const front2 = pod('app', 'front-2', '10.42.0.21', { role: 'front' });

test('the full script replaces the table: forward hook, pod chain, sets and map entries', () => {
  const m = computeRuleset({ policies: [allowFromFront], pods: [db, front1], namespaces: ns, nodeName: 'n1' });
  const script = renderFull(m);
  const chain = podChainNames('app', 'db').ingress;
  assert.match(script, /^add table inet rudder-netpol\ndelete table inet rudder-netpol\nadd table inet rudder-netpol\n/);
  assert.match(script, /add chain inet rudder-netpol forward \{ type filter hook forward priority filter; policy accept; \}/);
  assert.match(script, /add rule inet rudder-netpol forward ct state established,related accept\n/);
  assert.match(script, new RegExp(`add rule inet rudder-netpol ${chain} ip saddr 10\\.42\\.0\\.10 accept\n`));
  assert.match(script, new RegExp(`add rule inet rudder-netpol ${chain} ip saddr @np-[0-9a-f]+-i0-peers meta l4proto \\. th dport @np-[0-9a-f]+-i0-ports-[0-9a-f]+ accept\n`));
  assert.match(script, new RegExp(`add rule inet rudder-netpol ${chain} drop\n`));
  assert.match(script, /add element inet rudder-netpol np-[0-9a-f]+-i0-peers \{ 10\.42\.0\.20 \}/);
  // the numeric port and the named one resolved on the db pod
  assert.match(script, /add element inet rudder-netpol np-[0-9a-f]+-i0-ports-[0-9a-f]+ \{ tcp \. 5432, tcp \. 8080 \}/);
  assert.match(script, new RegExp(`add element inet rudder-netpol ingress \\{ 10\\.42\\.0\\.10 : jump ${chain} \\}`));
});

test('a new peer pod is one element added, a deleted one one element removed, nothing else', () => {
  const before = computeRuleset({ policies: [allowFromFront], pods: [db, front1], namespaces: ns, nodeName: 'n1' });
  const after = computeRuleset({ policies: [allowFromFront], pods: [db, front1, front2], namespaces: ns, nodeName: 'n1' });
  const lines = renderDiff(before, after).trim().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^add element inet rudder-netpol np-[0-9a-f]+-i0-peers \{ 10\.42\.0\.21 \}$/);
  const back = renderDiff(after, before).trim().split('\n');
  assert.equal(back.length, 1);
  assert.match(back[0]!, /^delete element inet rudder-netpol np-[0-9a-f]+-i0-peers \{ 10\.42\.0\.21 \}$/);
  assert.equal(renderDiff(after, after), '');
});

test('a policy removed: map entry, chain and sets go, in an order nft accepts (references first)', () => {
  const before = computeRuleset({ policies: [allowFromFront], pods: [db, front1], namespaces: ns, nodeName: 'n1' });
  const after = computeRuleset({ policies: [], pods: [db, front1], namespaces: ns, nodeName: 'n1' });
  const lines = renderDiff(before, after).trim().split('\n');
  const idx = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.ok(idx(/^delete element inet rudder-netpol ingress \{ 10\.42\.0\.10 \}$/) >= 0);
  assert.ok(idx(/^delete element inet rudder-netpol ingress/) < idx(/^delete chain inet rudder-netpol ing-/));
  assert.ok(idx(/^delete chain/) < idx(/^delete set inet rudder-netpol np-[0-9a-f]+-i0-peers$/));
});

test('the applier writes the whole table first, then differences, and again whole after a failure', async () => {
  const scripts: string[] = [];
  let fail = false;
  const applier = new NetpolApplier({
    apply: async (s) => {
      if (fail) throw new Error('nft: boom');
      scripts.push(s);
    },
  });
  const a = computeRuleset({ policies: [allowFromFront], pods: [db, front1], namespaces: ns, nodeName: 'n1' });
  const b = computeRuleset({ policies: [allowFromFront], pods: [db, front1, front2], namespaces: ns, nodeName: 'n1' });
  assert.equal(await applier.apply(a), 'full');
  assert.equal(await applier.apply(a), 'unchanged');
  assert.equal(await applier.apply(b), 'partial');
  fail = true;
  await assert.rejects(applier.apply(a), /boom/);
  fail = false;
  assert.equal(await applier.apply(a), 'full');
  assert.equal(scripts.length, 3);
});
