import { test } from 'node:test';
import assert from 'node:assert/strict';
import './storage.ts';
import { validateCreate, validateUpdate } from './index.ts';
import { defaultObject } from '../defaults/index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const gvk = (kind: string) => ({ group: 'storage.k8s.io', version: 'v1', kind });

function defaulted(kind: string, obj: Obj): Obj {
  const o = structuredClone(obj);
  defaultObject(gvk(kind), o);
  return o;
}
const create = (kind: string, obj: Obj) => validateCreate(gvk(kind), defaulted(kind, obj)).map(fieldErrorString);
const update = (kind: string, obj: Obj, old: Obj) => validateUpdate(gvk(kind), defaulted(kind, obj), defaulted(kind, old)).map(fieldErrorString);

const sc = { metadata: { name: 'fast', resourceVersion: '1' }, provisioner: 'ebs.csi.aws.com', parameters: { type: 'gp3' } };

test('StorageClass defaults reclaimPolicy and volumeBindingMode', () => {
  const o = defaulted('StorageClass', sc);
  assert.equal(o.reclaimPolicy, 'Delete');
  assert.equal(o.volumeBindingMode, 'Immediate');
  const kept = defaulted('StorageClass', { ...sc, reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer' });
  assert.equal(kept.reclaimPolicy, 'Retain');
  assert.equal(kept.volumeBindingMode, 'WaitForFirstConsumer');
});

test('StorageClass validation', () => {
  const cases: Array<[Obj, string[]]> = [
    [sc, []],
    [{ ...sc, allowedTopologies: [{ matchLabelExpressions: [{ key: 'topology.kubernetes.io/zone', values: ['a', 'b'] }] }] }, []],
    [{ metadata: { name: 'x' } }, ['provisioner: Required value']],
    [
      { ...sc, provisioner: 'Bad Provisioner' },
      [
        "provisioner: Invalid value: \"bad provisioner\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    ],
    [{ ...sc, reclaimPolicy: 'Recycle' }, ['reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"']],
    [{ ...sc, volumeBindingMode: 'Later' }, ['volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"']],
    [{ ...sc, parameters: { '': 'x' } }, ['parameters: Invalid value: "": field can not be empty.']],
    [{ ...sc, parameters: { big: 'x'.repeat(256 * 1024) } }, ['parameters: Too long: may not be more than 262144 bytes']],
    [
      { ...sc, allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: [] }] }] },
      ['allowedTopologies[0].matchLabelExpressions[0].values: Required value'],
    ],
    [
      { ...sc, allowedTopologies: [{ matchLabelExpressions: [{ key: 'zone', values: ['a', 'a'] }] }, { matchLabelExpressions: [{ key: 'zone', values: ['a'] }] }] },
      ['allowedTopologies[0].matchLabelExpressions[0].values[1]: Duplicate value: "a"', 'allowedTopologies[1].matchLabelExpressions: Duplicate value: ""'],
    ],
  ];
  for (const [obj, want] of cases) assert.deepEqual(create('StorageClass', obj), want, JSON.stringify(obj).slice(0, 200));
});

test('StorageClass provisioner, parameters, reclaimPolicy and volumeBindingMode are immutable', () => {
  assert.deepEqual(update('StorageClass', { ...sc, allowVolumeExpansion: true, metadata: { ...sc.metadata, labels: { a: 'b' } } }, sc), []);
  assert.deepEqual(update('StorageClass', { ...sc, parameters: { type: 'io2' } }, sc), ['parameters: Forbidden: updates to parameters are forbidden.']);
  assert.deepEqual(update('StorageClass', { ...sc, provisioner: 'other.example.com' }, sc), ['provisioner: Forbidden: updates to provisioner are forbidden.']);
  assert.deepEqual(update('StorageClass', { ...sc, reclaimPolicy: 'Retain' }, sc), ['reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.']);
  assert.deepEqual(update('StorageClass', { ...sc, volumeBindingMode: 'WaitForFirstConsumer' }, sc), [
    'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
  ]);
});

const va = { metadata: { name: 'csi-123', resourceVersion: '1' }, spec: { attacher: 'ebs.csi.aws.com', nodeName: 'node-1', source: { persistentVolumeName: 'pv-1' } } };

test('VolumeAttachment validation and immutable spec', () => {
  assert.deepEqual(create('VolumeAttachment', va), []);
  assert.deepEqual(create('VolumeAttachment', { ...va, spec: { ...va.spec, source: {} } }), [
    'spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName',
  ]);
  assert.deepEqual(create('VolumeAttachment', { ...va, spec: { ...va.spec, source: { persistentVolumeName: 'p', inlineVolumeSpec: {} } } }), [
    'spec.source: Forbidden: must specify exactly one of inlineVolumeSpec and persistentVolumeName',
  ]);
  // Both the generic check and the v1 CSI driver name check report it, as upstream does.
  const noAttacher = create('VolumeAttachment', { ...va, spec: { ...va.spec, attacher: '' } });
  assert.deepEqual(noAttacher.slice(0, 2), ['spec.attacher: Required value', 'spec.attacher: Required value']);
  assert.match(noAttacher[2]!, /^spec\.attacher: Invalid value: "": a lowercase RFC 1123 subdomain must consist of/);
  assert.equal(noAttacher.length, 3);
  assert.deepEqual(update('VolumeAttachment', { ...va, status: { attached: true } }, va), []);
  assert.deepEqual(update('VolumeAttachment', { ...va, spec: { ...va.spec, nodeName: 'node-2' } }, va), [
    'spec: Invalid value: storage.VolumeAttachmentSpec{Attacher:"ebs.csi.aws.com", Source:storage.VolumeAttachmentSource{PersistentVolumeName:&"pv-1", InlineVolumeSpec:(*core.PersistentVolumeSpec)(nil)}, NodeName:"node-2"}: field is immutable',
  ]);
});

test('CSIDriver defaults and validation', () => {
  const d = defaulted('CSIDriver', { metadata: { name: 'ebs.csi.aws.com' }, spec: {} });
  assert.deepEqual(d.spec, {
    attachRequired: true,
    podInfoOnMount: false,
    storageCapacity: false,
    fsGroupPolicy: 'ReadWriteOnceWithFSType',
    volumeLifecycleModes: ['Persistent'],
    requiresRepublish: false,
    seLinuxMount: false,
  });
  assert.deepEqual(create('CSIDriver', { metadata: { name: 'ebs.csi.aws.com' } }), []);
  assert.deepEqual(create('CSIDriver', { metadata: { name: 'd' }, spec: { fsGroupPolicy: 'Sometimes', volumeLifecycleModes: ['Forever'] } }), [
    'spec.fsGroupPolicy: Unsupported value: "Sometimes": supported values: "File", "None", "ReadWriteOnceWithFSType"',
    'spec.volumeLifecycleModes: Unsupported value: "Forever": supported values: "Persistent", "Ephemeral"',
  ]);
  assert.deepEqual(
    create('CSIDriver', { metadata: { name: 'd' }, spec: { tokenRequests: [{ audience: 'a', expirationSeconds: 60 }, { audience: 'a' }] } }),
    ['spec.tokenRequests[0].expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes', 'spec.tokenRequests[1].audience: Duplicate value: "a"'],
  );
  const old = { metadata: { name: 'd', resourceVersion: '1' }, spec: {} };
  assert.deepEqual(update('CSIDriver', { ...old, spec: { podInfoOnMount: true } }, old), []);
  assert.deepEqual(update('CSIDriver', { ...old, spec: { attachRequired: false } }, old), ['spec.attachedRequired: Invalid value: false: field is immutable']);
  assert.deepEqual(update('CSIDriver', { ...old, spec: { volumeLifecycleModes: ['Ephemeral'] } }, old), [
    'spec.volumeLifecycleModes: Invalid value: []storage.VolumeLifecycleMode{"Ephemeral"}: field is immutable',
  ]);
});

test('CSINode validation: driver names, node IDs, topology keys, immutable drivers', () => {
  const node = { metadata: { name: 'node-1', resourceVersion: '1' }, spec: { drivers: [{ name: 'ebs.csi.aws.com', nodeID: 'i-1', topologyKeys: ['topology.ebs.csi.aws.com/zone'] }] } };
  assert.deepEqual(create('CSINode', node), []);
  assert.deepEqual(
    create('CSINode', {
      ...node,
      spec: {
        drivers: [
          { name: 'd.example.com', nodeID: '', topologyKeys: ['a', 'a'], allocatable: { count: -1 } },
          { name: 'd.example.com', nodeID: 'x'.repeat(257) },
        ],
      },
    }),
    [
      'spec.drivers[0].nodeID: Required value',
      'spec.drivers[0].allocatable.count: Invalid value: -1: must be greater than or equal to 0',
      'spec.drivers[0]: Duplicate value: "a"',
      `spec.drivers[1].nodeID: Invalid value: "${'x'.repeat(257)}": must be 256 characters or less`,
      'spec.drivers[1].name: Duplicate value: "d.example.com"',
    ],
  );
  const added = { ...node, spec: { drivers: [...node.spec.drivers, { name: 'other.example.com', nodeID: 'n' }] } };
  assert.deepEqual(update('CSINode', added, node), []);
  const changed = { ...node, spec: { drivers: [{ ...node.spec.drivers[0], nodeID: 'i-2' }] } };
  assert.deepEqual(update('CSINode', changed, node), [
    'spec.drivers: Invalid value: storage.CSINodeDriver{Name:"ebs.csi.aws.com", NodeID:"i-2", TopologyKeys:[]string{"topology.ebs.csi.aws.com/zone"}, Allocatable:(*storage.VolumeNodeResources)(nil)}: field is immutable',
  ]);
});

test('CSIStorageCapacity validation and immutable topology and class', () => {
  const cap = {
    metadata: { name: 'cap-1', namespace: 'kube-system', resourceVersion: '1' },
    nodeTopology: { matchLabels: { zone: 'a' } },
    storageClassName: 'fast',
    capacity: '10Gi',
  };
  assert.deepEqual(create('CSIStorageCapacity', cap), []);
  assert.deepEqual(create('CSIStorageCapacity', { ...cap, capacity: '-1Gi' }), ['capacity: Invalid value: "-1Gi": must be greater than or equal to 0']);
  assert.equal(create('CSIStorageCapacity', { ...cap, storageClassName: 'Fast_1' })[0]!.startsWith('storageClassName: Invalid value: "Fast_1": a lowercase RFC 1123 subdomain'), true);
  assert.deepEqual(update('CSIStorageCapacity', { ...cap, capacity: '20Gi' }, cap), []);
  assert.deepEqual(update('CSIStorageCapacity', { ...cap, nodeTopology: { matchLabels: { zone: 'b' } }, storageClassName: 'slow' }, cap), [
    'nodeTopology: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"zone":"b"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    'storageClassName: Invalid value: "slow": field is immutable',
  ]);
});
