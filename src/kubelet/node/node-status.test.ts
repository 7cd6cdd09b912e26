import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MachineInfo, MachineUsage } from './machine.ts';
import { osImage, parseMeminfo } from './machine.ts';
import { computeNodeStatus, DEFAULT_EVICTION, initialNode, nodeStatusChanged, shouldReportStatus, type NodeSettings } from './node-status.ts';

const GI = 1024n ** 3n;
const machine: MachineInfo = {
  hostname: 'box', cpus: 2, memoryBytes: 4n * GI, ephemeralStorageBytes: 50n * GI, machineID: 'm', systemUUID: 's', bootID: 'b',
  kernelVersion: '6.1.0', osImage: 'Debian GNU/Linux 12 (bookworm)', operatingSystem: 'linux', architecture: 'amd64',
};
const settings: NodeSettings = {
  nodeName: 'n1', hostname: 'n1', nodeIPs: ['192.0.2.7'], kubeletPort: 10250, maxPods: 110, labels: { role: 'edge' }, taints: [],
  reserved: { cpuMilli: 100n, memoryBytes: 0n, ephemeralStorageBytes: 0n }, eviction: DEFAULT_EVICTION,
};
const ready = [{ type: 'RuntimeReady', status: true, reason: '', message: '' }, { type: 'NetworkReady', status: true, reason: '', message: '' }];
const usage = (o: Partial<MachineUsage> = {}): MachineUsage => ({
  memoryAvailableBytes: 2n * GI, fsAvailableBytes: 30n * GI, fsCapacityBytes: 50n * GI, fsInodesFree: 1000n, fsInodes: 2000n, pidsAvailable: 30000, pidMax: 32768, ...o,
});
const T0 = Date.UTC(2025, 0, 1);

describe('node status', () => {
  it('registers with upstream\'s labels and the extra node labels', () => {
    const { status } = computeNodeStatus({ machine, settings, runtimeConditions: ready, runtimeVersion: { runtime_name: 'containerd', runtime_version: '1.6.20' }, images: [], now: T0 });
    const n = initialNode(machine, settings, status);
    assert.deepEqual(n.metadata.labels, {
      'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux', role: 'edge',
    });
    assert.equal(n.spec?.taints, undefined, 'the kubelet registers without taints; not-ready is the node lifecycle controller\'s');
  });

  it('reports capacity, allocatable, nodeInfo, addresses and images', () => {
    const { status } = computeNodeStatus({
      machine, settings, runtimeConditions: ready, runtimeVersion: { runtime_name: 'containerd', runtime_version: '1.6.20' }, now: T0,
      images: [
        { id: 'sha256:a', repo_tags: ['docker.io/library/busybox:1.36'], repo_digests: ['docker.io/library/busybox@sha256:1'], size: '900', uid: null, username: '', spec: null, pinned: false },
        { id: 'sha256:b', repo_tags: ['registry.k8s.io/pause:3.10'], repo_digests: [], size: '300000', uid: null, username: '', spec: null, pinned: true },
      ],
    });
    assert.deepEqual(status.capacity, { cpu: '2', 'ephemeral-storage': '50Gi', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '4Gi', pods: '110' });
    assert.deepEqual(status.allocatable, { cpu: '1900m', 'ephemeral-storage': String(45n * GI), 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '3996Mi', pods: '110' });
    assert.equal(status.nodeInfo?.containerRuntimeVersion, 'containerd://1.6.20');
    assert.equal(status.nodeInfo?.kubeletVersion, 'v1.33.0');
    assert.equal(status.nodeInfo?.osImage, 'Debian GNU/Linux 12 (bookworm)');
    assert.deepEqual(status.addresses, [{ type: 'InternalIP', address: '192.0.2.7' }, { type: 'Hostname', address: 'n1' }]);
    assert.deepEqual(status.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
    assert.deepEqual(status.images, [
      { names: ['registry.k8s.io/pause:3.10'], sizeBytes: 300000 },
      { names: ['docker.io/library/busybox@sha256:1', 'docker.io/library/busybox:1.36'], sizeBytes: 900 },
    ]);
  });

  it('is NotReady with the runtime\'s reason while the network is not ready, and says which events to record', () => {
    const notReady = [ready[0], { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'Network plugin returns error: cni plugin not initialized' }];
    const a = computeNodeStatus({ machine, settings, runtimeConditions: notReady, runtimeVersion: undefined, images: [], now: T0 });
    const r = a.status.conditions!.find((c) => c.type === 'Ready')!;
    assert.deepEqual([r.status, r.reason, r.message], ['False', 'KubeletNotReady', 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized']);
    assert.deepEqual(a.changes.map((c) => c.event), ['NodeHasSufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasSufficientPID', 'NodeNotReady']);
    const b = computeNodeStatus({ machine, settings, runtimeConditions: ready, runtimeVersion: undefined, images: [], previous: a.status, now: T0 + 10_000 });
    assert.deepEqual(b.changes.map((c) => c.event), ['NodeReady']);
    const rb = b.status.conditions!.find((c) => c.type === 'Ready')!;
    assert.deepEqual([rb.status, rb.reason, rb.message, rb.lastTransitionTime], ['True', 'KubeletReady', 'kubelet is posting ready status', '2025-01-01T00:00:10Z']);
    const mem = b.status.conditions!.find((c) => c.type === 'MemoryPressure')!;
    assert.equal(mem.lastTransitionTime, '2025-01-01T00:00:00Z', 'unchanged conditions keep their transition time');
    assert.equal(mem.lastHeartbeatTime, '2025-01-01T00:00:10Z');
  });

  it('reports memory and disk pressure by the hard eviction thresholds', () => {
    const s = computeNodeStatus({ machine, settings, usage: usage({ memoryAvailableBytes: 50n * 1024n * 1024n, fsAvailableBytes: 2n * GI }), runtimeConditions: ready, runtimeVersion: undefined, images: [], now: T0 }).status;
    assert.deepEqual(s.conditions!.map((c) => [c.type, c.status, c.reason]).slice(0, 3), [
      ['MemoryPressure', 'True', 'KubeletHasInsufficientMemory'],
      ['DiskPressure', 'True', 'KubeletHasDiskPressure'],
      ['PIDPressure', 'False', 'KubeletHasSufficientPID'],
    ]);
  });

  it('sends a status when it changed, otherwise only every report period', () => {
    const a = computeNodeStatus({ machine, settings, runtimeConditions: ready, runtimeVersion: undefined, images: [], now: T0 }).status;
    const b = computeNodeStatus({ machine, settings, runtimeConditions: ready, runtimeVersion: undefined, images: [], previous: a, now: T0 + 10_000 }).status;
    assert.equal(nodeStatusChanged(a, b), false, 'heartbeats alone are no change');
    assert.equal(shouldReportStatus(a, b, T0, T0 + 10_000, 300_000), false);
    assert.equal(shouldReportStatus(a, b, T0, T0 + 300_000, 300_000), true);
    const c = computeNodeStatus({ machine, settings, usage: usage({ memoryAvailableBytes: 0n }), runtimeConditions: ready, runtimeVersion: undefined, images: [], previous: b, now: T0 + 20_000 }).status;
    assert.equal(shouldReportStatus(b, c, T0, T0 + 20_000, 300_000), true);
  });

  it('reads the machine\'s files', () => {
    assert.equal(osImage('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'), 'Debian GNU/Linux 12 (bookworm)');
    assert.deepEqual(parseMeminfo('MemTotal:       16318412 kB\nMemAvailable:    8000000 kB\nHugePages_Total:       0\n'), { MemTotal: 16318412n * 1024n, MemAvailable: 8000000n * 1024n, HugePages_Total: 0n });
  });
});
