import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseFieldSelector,
  fieldSelectorString,
  matchesFields,
  convertFieldSelector,
  fieldsOf,
  fieldSelectorForList,
  unsupportedFieldError,
  fieldRequiresExactMatch,
  supportedFieldLabels,
  escapeValue,
  SelectorError,
} from './fields.ts';
import { isStatusError } from './errors.ts';

test('field selectors parse and print back in upstream form (terms sorted, == printed as =, values escaped)', () => {
  const cases: Array<[string, string]> = [
    ['', ''],
    [',', ''],
    ['a=1', 'a=1'],
    ['a==1', 'a=1'],
    ['a!=1', 'a!=1'],
    ['b=2,a=1', 'a=1,b=2'],
    ['spec.nodeName=', 'spec.nodeName='],
    ['a=x\\,y', 'a=x\\,y'],
    ['a=x\\=y\\\\z', 'a=x\\=y\\\\z'],
  ];
  for (const [input, want] of cases) assert.equal(fieldSelectorString(parseFieldSelector(input)), want, `input ${JSON.stringify(input)}`);
  assert.deepEqual(parseFieldSelector('a=x\\,y').requirements, [{ field: 'a', operator: '=', value: 'x,y' }]);
  assert.equal(escapeValue('a,b=c\\'), 'a\\,b\\=c\\\\');
});

test('field selector syntax errors carry upstream messages', () => {
  const cases: Array<[string, string]> = [
    ['a', "invalid selector: 'a'; can't understand 'a'"],
    ['x=1,a', "invalid selector: 'x=1,a'; can't understand 'a'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [input, want] of cases) {
    assert.throws(
      () => parseFieldSelector(input),
      (e: unknown) => e instanceof SelectorError && e.message === want,
      `input ${JSON.stringify(input)}`,
    );
  }
});

test('field selectors match, a missing field reading as the empty string', () => {
  const fields = { 'metadata.name': 'web', 'spec.nodeName': '' };
  assert.equal(matchesFields(parseFieldSelector(''), fields), true);
  assert.equal(matchesFields(parseFieldSelector('metadata.name=web'), fields), true);
  assert.equal(matchesFields(parseFieldSelector('metadata.name==web'), fields), true);
  assert.equal(matchesFields(parseFieldSelector('metadata.name!=web'), fields), false);
  assert.equal(matchesFields(parseFieldSelector('spec.nodeName='), fields), true);
  assert.equal(matchesFields(parseFieldSelector('spec.nodeName!='), fields), false);
  assert.equal(matchesFields(parseFieldSelector('status.phase='), fields), true);
  assert.equal(matchesFields(parseFieldSelector('metadata.name=web,spec.nodeName=n1'), fields), false);
  assert.equal(fieldRequiresExactMatch(parseFieldSelector('spec.nodeName=n1'), 'spec.nodeName'), 'n1');
  assert.equal(fieldRequiresExactMatch(parseFieldSelector('spec.nodeName!=n1'), 'spec.nodeName'), undefined);
});

test('an unsupported field label is a 400 BadRequest worded per resource as upstream', () => {
  const cases: Array<[string, string, string, string]> = [
    ['', 'pods', 'foo=bar', 'field label not supported: foo'],
    ['', 'nodes', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    ['', 'events', 'note=x', 'field label not supported: note'],
    ['', 'configmaps', 'data=x', '"data" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    ['apps', 'replicasets', 'status.replicas=1', '"status.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    ['apps', 'deployments', 'spec.replicas=1', '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    ['batch', 'jobs', 'status.succeeded=1', 'field label "status.succeeded" not supported for batchv1.Job'],
    ['certificates.k8s.io', 'certificatesigningrequests', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    ['events.k8s.io', 'events', 'involvedObject.name=x', 'field label not supported: involvedObject.name'],
  ];
  for (const [group, plural, sel, want] of cases) {
    assert.throws(
      () => fieldSelectorForList(group, plural, sel),
      (e: unknown) => isStatusError(e) && e.code === 400 && e.reason === 'BadRequest' && e.message === want,
      `${group}/${plural} ${sel}`,
    );
  }
  const e = unsupportedFieldError('', 'pods', 'foo');
  assert.equal(e.status.code, 400);
  assert.equal(e.status.message, 'field label not supported: foo');
});

test('a malformed field selector on a list is a 400 with the parse message', () => {
  assert.throws(
    () => fieldSelectorForList('', 'pods', 'nonsense'),
    (e: unknown) => isStatusError(e) && e.code === 400 && e.message === "invalid selector: 'nonsense'; can't understand 'nonsense'",
  );
});

test('every resource accepts metadata.name; namespaced ones and most others metadata.namespace', () => {
  for (const [group, plural] of [['', 'pods'], ['', 'configmaps'], ['apps', 'deployments'], ['batch', 'jobs'], ['', 'persistentvolumes'], ['storage.k8s.io', 'storageclasses']]) {
    const sel = fieldSelectorForList(group!, plural!, 'metadata.name=a,metadata.namespace=b');
    assert.equal(sel.requirements.length, 2, `${group}/${plural}`);
  }
  assert.deepEqual(supportedFieldLabels('', 'secrets').sort(), ['metadata.name', 'metadata.namespace', 'type']);
});

test('legacy and events.k8s.io labels are renamed to the stored fields', () => {
  assert.deepEqual(fieldSelectorForList('', 'pods', 'spec.host=n1').requirements, [{ field: 'spec.nodeName', operator: '=', value: 'n1' }]);
  const sel = convertFieldSelector('events.k8s.io', 'events', parseFieldSelector('regarding.name=web,reportingController=kubelet'));
  assert.deepEqual(
    sel.requirements.map((r) => r.field),
    ['involvedObject.name', 'reportingComponent'],
  );
});

test('fieldsOf gives pods their selectable fields as strings', () => {
  const pod = {
    metadata: { name: 'web', namespace: 'default' },
    spec: { nodeName: 'n1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'sa', hostNetwork: true },
    status: { phase: 'Running', podIP: '10.0.0.9', podIPs: [{ ip: '10.0.0.9' }, { ip: 'fd00::9' }], nominatedNodeName: 'n2' },
  };
  assert.deepEqual(fieldsOf('', 'pods', pod), {
    'metadata.name': 'web',
    'metadata.namespace': 'default',
    'spec.nodeName': 'n1',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': 'sa',
    'spec.hostNetwork': 'true',
    'status.phase': 'Running',
    'status.podIP': '10.0.0.9',
    'status.nominatedNodeName': 'n2',
  });
  const bare = fieldsOf('', 'pods', { metadata: { name: 'p', namespace: 'ns' } });
  assert.equal(bare['spec.hostNetwork'], 'false');
  assert.equal(bare['status.podIP'], '');
  const sel = fieldSelectorForList('', 'pods', 'spec.nodeName=n1,status.phase!=Succeeded');
  assert.equal(matchesFields(sel, fieldsOf('', 'pods', pod)), true);
  assert.equal(matchesFields(sel, bare), false);
});

test('fieldsOf covers the other resources with selectable fields', () => {
  assert.deepEqual(fieldsOf('', 'nodes', { metadata: { name: 'n1' }, spec: { unschedulable: true } }), {
    'metadata.name': 'n1',
    'spec.unschedulable': 'true',
  });
  assert.deepEqual(fieldsOf('', 'namespaces', { metadata: { name: 'ns' }, status: { phase: 'Active' } }), {
    'metadata.name': 'ns',
    'status.phase': 'Active',
  });
  assert.equal(fieldsOf('', 'secrets', { metadata: { name: 's', namespace: 'd' }, type: 'Opaque' }).type, 'Opaque');
  assert.deepEqual(fieldsOf('', 'services', { metadata: { name: 's', namespace: 'd' }, spec: { clusterIP: '10.96.0.1', type: 'ClusterIP' } }), {
    'metadata.name': 's',
    'metadata.namespace': 'd',
    'spec.clusterIP': '10.96.0.1',
    'spec.type': 'ClusterIP',
  });
  assert.equal(fieldsOf('', 'replicationcontrollers', { metadata: { name: 'r', namespace: 'd' }, status: { replicas: 3 } })['status.replicas'], '3');
  assert.equal(fieldsOf('apps', 'replicasets', { metadata: { name: 'r', namespace: 'd' } })['status.replicas'], '0');
  assert.equal(fieldsOf('batch', 'jobs', { metadata: { name: 'j', namespace: 'd' }, status: { succeeded: 2 } })['status.successful'], '2');
  assert.deepEqual(fieldsOf('certificates.k8s.io', 'certificatesigningrequests', { metadata: { name: 'c' }, spec: { signerName: 'example.com/x' } }), {
    'metadata.name': 'c',
    'spec.signerName': 'example.com/x',
  });
  assert.deepEqual(fieldsOf('', 'configmaps', { metadata: { name: 'c', namespace: 'd' } }), { 'metadata.name': 'c', 'metadata.namespace': 'd' });
  assert.deepEqual(fieldsOf('storage.k8s.io', 'storageclasses', { metadata: { name: 'fast' } }), { 'metadata.name': 'fast' });
});

test('event fields: source falls back to the reporting controller; events.k8s.io reads the stored core event', () => {
  const ev = {
    metadata: { name: 'e', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u', apiVersion: 'v1', resourceVersion: '3', fieldPath: 'spec' },
    reason: 'Started',
    type: 'Normal',
    reportingComponent: 'example.com/ctl',
  };
  const core = fieldsOf('', 'events', ev);
  assert.equal(core.source, 'example.com/ctl');
  assert.equal(core['involvedObject.uid'], 'u');
  assert.equal(core['metadata.namespace'], 'default');
  assert.equal(fieldsOf('', 'events', { ...ev, source: { component: 'kubelet' } }).source, 'kubelet');
  const sel = fieldSelectorForList('events.k8s.io', 'events', 'regarding.kind=Pod,reportingController=example.com/ctl');
  assert.equal(matchesFields(sel, fieldsOf('events.k8s.io', 'events', ev)), true);
});
