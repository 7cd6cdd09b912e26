import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CycleState } from '../framework/cycle-state.ts';
import { ok, runFilter, runScore, unresolvable } from '../plugin-harness.ts';
import { podInfoOf } from '../podinfo.ts';
import { Code, Status } from '../status.ts';
import { makeNode, makePod, testEnv } from '../testing.ts';
import type { Affinity, NodeSelectorRequirement, NodeSelectorTerm } from '../types.ts';
import { newNodeAffinity } from './node-affinity.ts';

const NOT_MATCH = unresolvable("node(s) didn't match Pod's node affinity/selector");
const required = (...terms: NodeSelectorTerm[]): Affinity => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } });
const expr = (key: string, operator: string, ...values: string[]): NodeSelectorRequirement => ({ key, operator, ...(values.length ? { values } : {}) });

describe('NodeAffinity filter (nodeSelector and required node affinity)', () => {
  const cases: { name: string; labels: Record<string, string>; nodeSelector?: Record<string, string>; affinity?: Affinity; want: typeof ok }[] = [
    { name: 'no selector and no affinity: any node', labels: {}, want: ok },
    { name: 'nodeSelector matched', labels: { foo: 'bar' }, nodeSelector: { foo: 'bar' }, want: ok },
    { name: 'nodeSelector not matched', labels: { foo: 'baz' }, nodeSelector: { foo: 'bar' }, want: NOT_MATCH },
    { name: 'In matches one of the values', labels: { foo: 'bar' }, affinity: required({ matchExpressions: [expr('foo', 'In', 'value1', 'bar')] }), want: ok },
    { name: 'NotIn on a missing label matches', labels: {}, affinity: required({ matchExpressions: [expr('foo', 'NotIn', 'bar')] }), want: ok },
    { name: 'NotIn on the value fails', labels: { foo: 'bar' }, affinity: required({ matchExpressions: [expr('foo', 'NotIn', 'bar')] }), want: NOT_MATCH },
    { name: 'Exists', labels: { foo: '' }, affinity: required({ matchExpressions: [expr('foo', 'Exists')] }), want: ok },
    { name: 'DoesNotExist fails when the label is there', labels: { foo: 'x' }, affinity: required({ matchExpressions: [expr('foo', 'DoesNotExist')] }), want: NOT_MATCH },
    { name: 'Gt compares integers', labels: { cores: '8' }, affinity: required({ matchExpressions: [expr('cores', 'Gt', '4')] }), want: ok },
    { name: 'Lt compares integers', labels: { cores: '8' }, affinity: required({ matchExpressions: [expr('cores', 'Lt', '4')] }), want: NOT_MATCH },
    { name: 'Gt on a non-integer label does not match', labels: { cores: 'eight' }, affinity: required({ matchExpressions: [expr('cores', 'Gt', '4')] }), want: NOT_MATCH },
    {
      name: 'expressions within a term are ANDed',
      labels: { foo: 'bar' },
      affinity: required({ matchExpressions: [expr('foo', 'In', 'bar'), expr('zone', 'Exists')] }),
      want: NOT_MATCH,
    },
    {
      name: 'terms are ORed',
      labels: { foo: 'bar' },
      affinity: required({ matchExpressions: [expr('zone', 'Exists')] }, { matchExpressions: [expr('foo', 'In', 'bar')] }),
      want: ok,
    },
    { name: 'an empty term selects no node', labels: { foo: 'bar' }, affinity: required({}), want: NOT_MATCH },
    { name: 'matchFields on metadata.name', labels: {}, affinity: required({ matchFields: [expr('metadata.name', 'In', 'n')] }), want: ok },
    { name: 'an invalid operator never matches', labels: { foo: 'bar' }, affinity: required({ matchExpressions: [expr('foo', 'Sometimes', 'bar')] }), want: NOT_MATCH },
    {
      name: 'nodeSelector and affinity must both hold',
      labels: { foo: 'bar' },
      nodeSelector: { foo: 'bar' },
      affinity: required({ matchExpressions: [expr('foo', 'NotIn', 'bar')] }),
      want: NOT_MATCH,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const env = testEnv([makeNode('n', { labels: c.labels, noHostname: true })]);
      const pod = makePod('p', { ...(c.nodeSelector ? { nodeSelector: c.nodeSelector } : {}), ...(c.affinity ? { affinity: c.affinity } : {}) });
      assert.deepEqual(runFilter(newNodeAffinity({}), env.handle, pod).n, c.want);
    });
  }

  test('affinity to node names narrows the nodes worth filtering (PreFilter result)', () => {
    const env = testEnv([makeNode('node1'), makeNode('node2'), makeNode('node3')]);
    const pl = newNodeAffinity({});
    const pod = makePod('p', {
      affinity: required({ matchFields: [expr('metadata.name', 'In', 'node1')] }, { matchFields: [expr('metadata.name', 'In', 'node2')] }),
    });
    const r = pl.preFilter(new CycleState(), podInfoOf(pod), env.handle.snapshot().list());
    assert.ok(r && !(r instanceof Status) && r.result);
    assert.deepEqual([...r.result.nodeNames].sort(), ['node1', 'node2']);
  });

  test('name affinities that cannot all hold conflict in PreFilter', () => {
    const env = testEnv([makeNode('node1')]);
    const pod = makePod('p', { affinity: required({ matchFields: [expr('metadata.name', 'In', 'node1'), expr('metadata.name', 'In', 'node2')] }) });
    assert.deepEqual(runFilter(newNodeAffinity({}), env.handle, pod).node1, unresolvable('pod affinity terms conflict'));
  });

  test("the profile's added affinity is enforced with its own reason", () => {
    const env = testEnv([makeNode('a', { labels: { zone: 'foo' } }), makeNode('b', { labels: { zone: 'bar' } })]);
    const pl = newNodeAffinity({ addedAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr('zone', 'In', 'foo')] }] } } });
    const got = runFilter(pl, env.handle, makePod('p'));
    assert.deepEqual(got, { a: ok, b: unresolvable("node(s) didn't match scheduler-enforced node affinity") });
  });

  test('a pod with neither selector nor affinity skips the filter', () => {
    const env = testEnv([makeNode('n')]);
    const s = newNodeAffinity({}).preFilter(new CycleState(), podInfoOf(makePod('p')), env.handle.snapshot().list());
    assert.ok(s instanceof Status && s.code === Code.Skip);
  });
});

describe('NodeAffinity score (preferred terms, upstream TestNodeAffinityPriority)', () => {
  const label1 = { foo: 'bar' };
  const label2 = { key: 'value' };
  const label3 = { az: 'az1' };
  const label5 = { foo: 'bar', key: 'value', az: 'az1' };
  const affinity1: Affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 2, preference: { matchExpressions: [expr('foo', 'In', 'bar')] } }] } };
  const affinity2: Affinity = {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 2, preference: { matchExpressions: [expr('foo', 'In', 'bar')] } },
        { weight: 4, preference: { matchExpressions: [expr('key', 'In', 'value')] } },
        { weight: 5, preference: { matchExpressions: [expr('foo', 'In', 'bar'), expr('key', 'In', 'value'), expr('az', 'In', 'az1')] } },
      ],
    },
  };
  test('without preferred terms the plugin does not score', () => {
    const env = testEnv([makeNode('node1', { labels: label1 })]);
    assert.deepEqual(runScore(newNodeAffinity({}), env.handle, makePod('p')), {});
  });
  test('only the matching node scores', () => {
    const env = testEnv([makeNode('node1', { labels: label1 }), makeNode('node2', { labels: label2 }), makeNode('node3', { labels: label3 })]);
    assert.deepEqual(runScore(newNodeAffinity({}), env.handle, makePod('p', { affinity: affinity1 })), { node1: 100, node2: 0, node3: 0 });
  });
  test('weights add up and are scaled to the best node', () => {
    const env = testEnv([makeNode('node1', { labels: label1 }), makeNode('node5', { labels: label5 }), makeNode('node2', { labels: label2 })]);
    assert.deepEqual(runScore(newNodeAffinity({}), env.handle, makePod('p', { affinity: affinity2 })), { node1: 18, node5: 100, node2: 36 });
  });
});
