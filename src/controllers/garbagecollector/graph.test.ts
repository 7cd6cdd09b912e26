import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject, OwnerReference } from '../../api/meta.ts';
import { alternateOwnerIdentity, DependencyGraph, partitionDependents, referencesDiffs, type GraphNode, type Identity } from './graph.ts';

function recorder() {
  const log: string[] = [];
  const absent: Identity[] = [];
  const sink = {
    attemptToDelete: (n: GraphNode) => log.push(`delete ${n.identity.name}`),
    attemptToDeleteRateLimited: (n: GraphNode) => log.push(`delete-later ${n.identity.name}`),
    attemptToOrphan: (n: GraphNode) => log.push(`orphan ${n.identity.name}`),
    absent: (i: Identity) => absent.push(i),
    invalidNamespaceOwnerRef: (d: GraphNode, r: OwnerReference) => log.push(`invalid ${d.identity.name} -> ${r.name}`),
  };
  return { log, absent, graph: new DependencyGraph(sink) };
}

const ref = (name: string, o: Partial<OwnerReference> = {}): OwnerReference => ({ apiVersion: 'v1', kind: 'ConfigMap', name, uid: `uid-${name}`, ...o });
const cm = (name: string, o: { ns?: string; owners?: OwnerReference[]; deleting?: boolean; finalizers?: string[] } = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: o.ns ?? 'default', uid: `uid-${name}`, ownerReferences: o.owners, deletionTimestamp: o.deleting ? '2025-01-01T00:00:00Z' : undefined, finalizers: o.finalizers },
});
const ev = (type: 'add' | 'update' | 'delete', obj: KObject, oldObj?: KObject) => ({ type, obj, oldObj, apiVersion: 'v1', kind: 'ConfigMap' });

test('a dependent seen before its owner creates a virtual owner that the collector must verify', () => {
  const { graph, log } = recorder();
  graph.process(ev('add', cm('child', { owners: [ref('parent')] })));
  const parent = graph.get('uid-parent')!;
  assert.equal(parent.virtual, true);
  assert.deepEqual(log, ['delete parent']);
  graph.process(ev('add', cm('parent')));
  assert.equal(graph.get('uid-parent')!.virtual, false);
  assert.deepEqual([...graph.get('uid-parent')!.dependents].map((d) => d.identity.name), ['child']);
});

test('deleting an owner queues its dependents and records the owner as absent', () => {
  const { graph, log, absent } = recorder();
  graph.process(ev('add', cm('parent')));
  graph.process(ev('add', cm('a', { owners: [ref('parent')] })));
  graph.process(ev('add', cm('b', { owners: [ref('parent')] })));
  log.length = 0;
  graph.process(ev('delete', cm('parent')));
  assert.deepEqual(log.sort(), ['delete a', 'delete b']);
  assert.equal(absent[0]!.uid, 'uid-parent');
  assert.equal(graph.get('uid-parent'), undefined);
});

test('foreground deletion marks the owner and queues it with every dependent; orphan deletion queues an orphaning', () => {
  const { graph, log } = recorder();
  graph.process(ev('add', cm('parent')));
  graph.process(ev('add', cm('a', { owners: [ref('parent', { blockOwnerDeletion: true })] })));
  log.length = 0;
  const deleting = cm('parent', { deleting: true, finalizers: ['foregroundDeletion'] });
  graph.process(ev('update', deleting, cm('parent')));
  assert.equal(graph.get('uid-parent')!.deletingDependents, true);
  assert.deepEqual(log, ['delete a', 'delete parent']);
  assert.deepEqual(graph.get('uid-parent')!.blockingDependents().map((d) => d.identity.name), ['a']);
  // the same state again is no new transition
  log.length = 0;
  graph.process(ev('update', deleting, deleting));
  assert.deepEqual(log, []);

  const o = recorder();
  o.graph.process(ev('add', cm('p2')));
  o.graph.process(ev('update', cm('p2', { deleting: true, finalizers: ['orphan'] }), cm('p2')));
  assert.deepEqual(o.log, ['orphan p2']);
});

test('a dependent dropping its blocking reference wakes the owner', () => {
  const { graph, log } = recorder();
  graph.process(ev('add', cm('parent')));
  const blocked = cm('a', { owners: [ref('parent', { blockOwnerDeletion: true })] });
  graph.process(ev('add', blocked));
  log.length = 0;
  graph.process(ev('update', cm('a', { owners: [ref('parent', { blockOwnerDeletion: false })] }), blocked));
  assert.deepEqual(log, ['delete parent']);
  log.length = 0;
  graph.process(ev('update', cm('a', { owners: [] }), blocked));
  assert.deepEqual(log, []);
  assert.equal(graph.get('uid-parent')!.dependents.size, 0);
});

test('a reference to an owner in another namespace is reported and the dependent re-checked', () => {
  const { graph, log } = recorder();
  graph.process(ev('add', cm('parent', { ns: 'a' })));
  graph.process(ev('add', cm('child', { ns: 'b', owners: [ref('parent')] })));
  assert.deepEqual(log, ['invalid child -> parent', 'delete child']);
});

test('referencesDiffs and partitionDependents compare by uid and by every coordinate', () => {
  const d = referencesDiffs([ref('a'), ref('b', { controller: true })], [ref('b'), ref('c')]);
  assert.deepEqual(d.added.map((r) => r.name), ['c']);
  assert.deepEqual(d.removed.map((r) => r.name), ['a']);
  assert.deepEqual(d.changed.map((c) => c.newRef.name), ['b']);

  const { graph } = recorder();
  graph.process(ev('add', cm('good', { owners: [ref('p')] })));
  graph.process(ev('add', cm('bad', { owners: [ref('p', { kind: 'Secret' })] })));
  const p = graph.get('uid-p')!;
  const owner: Identity = { apiVersion: 'v1', kind: 'ConfigMap', name: 'p', uid: 'uid-p', namespace: 'default' };
  const parts = partitionDependents(p.dependents, owner);
  assert.deepEqual(parts.matching.map((n) => n.identity.name), ['good']);
  assert.deepEqual(parts.nonmatching.map((n) => n.identity.name), ['bad']);
  assert.deepEqual(alternateOwnerIdentity(p.dependents, owner), { ...owner, kind: 'Secret' });
});
