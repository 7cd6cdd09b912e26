// The CRI configs built from a pod: sandbox, container, DNS, hosts, security context, resources.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, Pod } from './api-types.ts';
import { buildContainerConfig, buildSandboxConfig, containerMounts } from './container-config.ts';
import { formatResolvConf, parseResolvConf, podDnsConfig, type DnsSettings } from './dns.ts';
import { ContainerConfigError } from './env.ts';
import { hostNetworkHostsFile, managedHostsFile } from './hosts.ts';
import { containerInfoFromAnnotations, hashContainer } from './labels.ts';
import { computeQosClass, containerLinuxResources, containerOomScoreAdj, milliCpuToShares, podCgroupParent } from './qos.ts';
import { containerSecurityContext, sandboxSecurityContext, verifyRunAsNonRoot } from './security.ts';

function pod(spec: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', uid: 'uid-1', labels: { app: 'web' }, annotations: { a: 'b' }, ...meta },
    spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
  };
}

const GI = 1024n ** 3n;

describe('DNS configuration by dnsPolicy', () => {
  const host = parseResolvConf('# comment\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions timeout:2 attempts:3\n');
  const s: DnsSettings = { clusterDNS: ['10.43.0.10'], clusterDomain: 'cluster.local', host, nodeIPs: ['192.0.2.1'] };

  it('ClusterFirst: the cluster DNS, the namespace search path then the node\'s, ndots:5', () => {
    const r = podDnsConfig(pod(), s);
    assert.deepEqual(r.config, {
      servers: ['10.43.0.10'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'lab.example'],
      options: ['ndots:5'],
    });
    assert.equal(formatResolvConf(r.config), 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.43.0.10\noptions ndots:5\n');
  });

  it('Default and ClusterFirst on the host network use the node\'s resolv.conf', () => {
    const want = { servers: ['192.0.2.53', '192.0.2.54'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'attempts:3'] };
    assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), s).config, want);
    assert.deepEqual(podDnsConfig(pod({ hostNetwork: true }), s).config, want);
  });

  it('ClusterFirstWithHostNet uses the cluster DNS on the host network', () => {
    assert.deepEqual(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), s).config.servers, ['10.43.0.10']);
  });

  it('None takes only the pod\'s dnsConfig; dnsConfig options override by name', () => {
    const p = pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } });
    assert.deepEqual(podDnsConfig(p, s).config, { servers: ['1.2.3.4'], searches: ['a.example'], options: ['ndots:2', 'edns0'] });
    const q = pod({ dnsConfig: { options: [{ name: 'ndots', value: '1' }] } });
    assert.deepEqual(podDnsConfig(q, s).config.options, ['ndots:1']);
  });

  it('without a cluster DNS, ClusterFirst falls back to the node\'s and says so', () => {
    const r = podDnsConfig(pod(), { ...s, clusterDNS: [] });
    assert.equal(r.missingClusterDns, true);
    assert.deepEqual(r.config.servers, ['192.0.2.53', '192.0.2.54']);
  });

  it('without a resolv.conf, Default pods resolve on the local machine only', () => {
    assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), { ...s, host: undefined }).config, { servers: ['127.0.0.1'], searches: ['.'], options: [] });
  });

  it('keeps at most three nameservers and warns', () => {
    const r = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'] } }), s);
    assert.deepEqual(r.config.servers, ['1.1.1.1', '2.2.2.2', '3.3.3.3']);
    assert.match(r.warning!, /^Nameserver limits were exceeded/);
  });
});

describe('/etc/hosts', () => {
  it('names the pod on its IP, with its subdomain FQDN, and appends hostAliases', () => {
    const p = pod({ hostname: 'db-0', subdomain: 'db', hostAliases: [{ ip: '10.9.9.9', hostnames: ['foo.local', 'bar.local'] }] });
    assert.equal(managedHostsFile(p, ['10.1.0.7'], 'cluster.local'),
      '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n' +
      '10.1.0.7\tdb-0.db.shop.svc.cluster.local\tdb-0\n\n# Entries added by HostAliases.\n10.9.9.9\tfoo.local\tbar.local\n');
  });
  it('copies the node\'s file for a host-network pod', () => {
    assert.equal(hostNetworkHostsFile(pod({ hostNetwork: true }), '127.0.0.1 localhost\n'), '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n');
  });
});

describe('QoS and resources', () => {
  const withRes = (cs: Container['resources'][]): Pod => pod({ containers: cs.map((r, i) => ({ name: `c${i}`, image: 'x', resources: r })) });

  it('classifies pods as upstream', () => {
    assert.equal(computeQosClass(withRes([undefined])), 'BestEffort');
    assert.equal(computeQosClass(withRes([{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }])), 'Guaranteed');
    assert.equal(computeQosClass(withRes([{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } }])), 'Burstable');
    assert.equal(computeQosClass(withRes([{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }, undefined])), 'Burstable');
    assert.equal(computeQosClass(withRes([{ requests: { memory: '10Mi' } }])), 'Burstable');
  });

  it('puts pods under /kubepods by QoS', () => {
    assert.equal(podCgroupParent('/', 'Guaranteed', 'u'), '/kubepods/podu');
    assert.equal(podCgroupParent('/', 'Burstable', 'u'), '/kubepods/burstable/podu');
    assert.equal(podCgroupParent('/rudder-t1', 'BestEffort', 'u'), '/rudder-t1/kubepods/besteffort/podu');
  });

  it('turns requests and limits into shares, quota and memory limit', () => {
    const p = withRes([{ limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } }]);
    assert.deepEqual(containerLinuxResources(p, p.spec.containers[0], 8n * GI), {
      cpu_shares: '256', cpu_period: '100000', cpu_quota: '50000', oom_score_adj: 1000 - Math.floor((1000 * 64) / (8 * 1024)),
      memory_limit_in_bytes: String(128 * 1024 * 1024), memory_swap_limit_in_bytes: String(128 * 1024 * 1024),
    });
    const be = withRes([undefined]);
    assert.deepEqual(containerLinuxResources(be, be.spec.containers[0], 8n * GI), { cpu_shares: '2', cpu_period: '100000', cpu_quota: '0', oom_score_adj: 1000 });
    assert.equal(milliCpuToShares(1n), 2n);
  });

  it('gives OOM score adjustments by QoS', () => {
    const g = withRes([{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }]);
    assert.equal(containerOomScoreAdj(g, g.spec.containers[0], 8n * GI), -997);
    const huge = withRes([{ requests: { memory: '8Gi' } }]);
    assert.equal(containerOomScoreAdj(huge, huge.spec.containers[0], 8n * GI), 3);
    const tiny = withRes([{ requests: { cpu: '1m' } }]);
    assert.equal(containerOomScoreAdj(tiny, tiny.spec.containers[0], 8n * GI), 999);
  });
});

describe('security contexts', () => {
  it('takes the container\'s settings over the pod\'s and maps them to CRI', () => {
    const p = pod({
      securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000], seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'app', image: 'x', securityContext: { runAsUser: 1001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } } }],
    });
    const sc = containerSecurityContext(p, p.spec.containers[0], '/var/lib/kubelet/seccomp');
    assert.deepEqual(sc.run_as_user, { value: 1001 });
    assert.deepEqual(sc.run_as_group, { value: 3000 });
    assert.deepEqual(sc.supplemental_groups, [4000, 2000]);
    assert.equal(sc.readonly_rootfs, true);
    assert.equal(sc.no_new_privs, true);
    assert.equal(sc.privileged, false);
    assert.deepEqual(sc.capabilities, { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['ALL'] });
    assert.deepEqual(sc.seccomp, { profile_type: 'RuntimeDefault' });
    assert.deepEqual(sc.namespace_options, { network: 'POD', pid: 'CONTAINER', ipc: 'POD' });
    assert.ok(sc.masked_paths?.includes('/proc/kcore'));
  });

  it('is Unconfined without a profile or when privileged; Localhost profiles live under the kubelet\'s root', () => {
    const p = pod({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x', securityContext: { privileged: true, seccompProfile: { type: 'RuntimeDefault' } } }, { name: 'c', image: 'x', securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'my.json' } } }] });
    assert.deepEqual(containerSecurityContext(p, p.spec.containers[0], '/r/seccomp').seccomp, { profile_type: 'Unconfined' });
    assert.deepEqual(containerSecurityContext(p, p.spec.containers[1], '/r/seccomp').seccomp, { profile_type: 'Unconfined' });
    assert.deepEqual(containerSecurityContext(p, p.spec.containers[2], '/r/seccomp').seccomp, { profile_type: 'Localhost', localhost_ref: '/r/seccomp/my.json' });
    assert.equal(sandboxSecurityContext(p, '/r').privileged, true, 'a privileged container makes the sandbox privileged');
  });

  it('maps host namespaces and shareProcessNamespace', () => {
    assert.deepEqual(sandboxSecurityContext(pod({ hostNetwork: true, hostPID: true, hostIPC: true }), '/r').namespace_options, { network: 'NODE', pid: 'NODE', ipc: 'NODE' });
    assert.deepEqual(sandboxSecurityContext(pod({ shareProcessNamespace: true }), '/r').namespace_options, { network: 'POD', pid: 'POD', ipc: 'POD' });
  });

  it('refuses root for runAsNonRoot, from runAsUser or from the image', () => {
    const p = pod({ securityContext: { runAsNonRoot: true } });
    const c = p.spec.containers[0];
    assert.throws(() => verifyRunAsNonRoot(p, c, {}), (e) => e instanceof ContainerConfigError && e.message === 'container has runAsNonRoot and image will run as root (pod: "web-1_shop(uid-1)", container: app)');
    assert.throws(() => verifyRunAsNonRoot(p, c, { username: 'nginx' }), /image has non-numeric user \(nginx\), cannot verify user is non-root/);
    verifyRunAsNonRoot(p, c, { uid: 101 });
    const q = pod({ securityContext: { runAsNonRoot: true, runAsUser: 0 } });
    assert.throws(() => verifyRunAsNonRoot(q, q.spec.containers[0], { uid: 101 }), /container's runAsUser breaks non-root policy/);
  });
});

describe('sandbox and container configs', () => {
  it('builds the sandbox config with labels, hostname, port mappings, cgroup parent and DNS', () => {
    const p = pod({
      hostname: 'web',
      subdomain: 'svc',
      containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 443 }] }],
      securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
    });
    const sc = buildSandboxConfig(p, { attempt: 2, podLogsRoot: '/var/log/pods', dns: { servers: ['10.43.0.10'] }, cgroupRoot: '/', seccompProfileRoot: '/r', clusterDomain: 'cluster.local' });
    assert.deepEqual(sc.metadata, { name: 'web-1', namespace: 'shop', uid: 'uid-1', attempt: 2 });
    assert.deepEqual(sc.labels, { app: 'web', 'io.kubernetes.pod.name': 'web-1', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.uid': 'uid-1' });
    assert.deepEqual(sc.annotations, { a: 'b' });
    assert.equal(sc.hostname, 'web');
    assert.equal(sc.log_directory, '/var/log/pods/shop_web-1_uid-1');
    assert.deepEqual(sc.port_mappings, [{ protocol: 'TCP', container_port: 80, host_port: 8080 }]);
    assert.equal(sc.linux?.cgroup_parent, '/kubepods/besteffort/poduid-1');
    assert.deepEqual(sc.linux?.sysctls, { 'net.ipv4.ip_unprivileged_port_start': '0' });
    assert.deepEqual(sc.dns_config, { servers: ['10.43.0.10'] });
    assert.equal(buildSandboxConfig(pod({ hostNetwork: true }), { attempt: 0, podLogsRoot: '/l', dns: {}, cgroupRoot: '/', seccompProfileRoot: '/r', clusterDomain: 'c' }).hostname, '', 'a host-network sandbox has no hostname of its own');
  });

  it('builds the container config with expanded args, env, mounts and the annotations a restarted kubelet reads', () => {
    const c: Container = {
      name: 'app', image: 'nginx', command: ['sh', '-c'], args: ['echo $(GREETING)'], workingDir: '/w', tty: true,
      ports: [{ containerPort: 80 }], terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
      lifecycle: { preStop: { exec: { command: ['sleep', '1'] } } },
      volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'conf', mountPath: '/etc/app', subPath: 'app' }],
    };
    const p = pod({ terminationGracePeriodSeconds: 45, containers: [c] });
    const env = [{ name: 'GREETING', value: 'hi' }];
    const mounts = containerMounts(c, {
      volumes: new Map([['data', { path: '/pods/u/volumes/kubernetes.io~empty-dir/data', readOnly: false }], ['conf', { path: '/pods/u/volumes/kubernetes.io~configmap/conf', readOnly: true }]]),
      env,
      hostsFile: '/pods/u/etc-hosts',
      terminationMessageFile: '/pods/u/containers/app/abcd',
    });
    assert.deepEqual(mounts.map((m) => [m.container_path, m.host_path, !!m.readonly]), [
      ['/data', '/pods/u/volumes/kubernetes.io~empty-dir/data', false],
      ['/etc/app', '/pods/u/volumes/kubernetes.io~configmap/conf/app', true],
      ['/etc/hosts', '/pods/u/etc-hosts', false],
      ['/dev/termination-log', '/pods/u/containers/app/abcd', false],
    ]);
    const cfg = buildContainerConfig(p, c, { type: 'container', restartCount: 3, imageRef: 'sha256:img', env, mounts, memoryCapacity: 8n * GI, seccompProfileRoot: '/r' });
    assert.deepEqual(cfg.metadata, { name: 'app', attempt: 3 });
    assert.deepEqual(cfg.image, { image: 'sha256:img', user_specified_image: 'nginx' });
    assert.deepEqual(cfg.command, ['sh', '-c']);
    assert.deepEqual(cfg.args, ['echo hi']);
    assert.equal(cfg.working_dir, '/w');
    assert.equal(cfg.tty, true);
    assert.equal(cfg.log_path, 'app/3.log');
    assert.deepEqual(cfg.envs, [{ key: 'GREETING', value: 'hi' }]);
    assert.deepEqual(cfg.labels, { 'io.kubernetes.pod.name': 'web-1', 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.uid': 'uid-1', 'io.kubernetes.container.name': 'app' });
    const info = containerInfoFromAnnotations(cfg.annotations);
    assert.equal(info.hash, hashContainer(c));
    assert.equal(info.restartCount, 3);
    assert.equal(info.podTerminationGracePeriod, 45);
    assert.deepEqual(info.preStop, { exec: { command: ['sleep', '1'] } });
    assert.deepEqual(info.ports, [{ containerPort: 80 }]);
    assert.equal(info.terminationMessagePath, '/dev/termination-log');
    assert.equal(info.type, 'container');
  });

  it('does not add the managed /etc/hosts when the container mounts its own, and names a missing volume', () => {
    const c: Container = { name: 'app', volumeMounts: [{ name: 'h', mountPath: '/etc/hosts' }] };
    const m = containerMounts(c, { volumes: new Map([['h', { path: '/x', readOnly: false }]]), env: [], hostsFile: '/pods/u/etc-hosts' });
    assert.deepEqual(m.map((x) => x.host_path), ['/x']);
    assert.throws(() => containerMounts({ name: 'app', volumeMounts: [{ name: 'gone', mountPath: '/g' }] }, { volumes: new Map(), env: [] }), /cannot find volume "gone" to mount into container "app"/);
    assert.throws(() => containerMounts({ name: 'app', volumeMounts: [{ name: 'h', mountPath: '/g', subPath: '../etc' }] }, { volumes: new Map([['h', { path: '/x', readOnly: false }]]), env: [] }), ContainerConfigError);
  });

  it('expands subPathExpr from the environment', () => {
    const c: Container = { name: 'app', volumeMounts: [{ name: 'logs', mountPath: '/logs', subPathExpr: '$(POD_NAME)' }] };
    const m = containerMounts(c, { volumes: new Map([['logs', { path: '/v', readOnly: false }]]), env: [{ name: 'POD_NAME', value: 'web-1' }] });
    assert.equal(m[0].host_path, '/v/web-1');
    assert.equal(m[0].createDir, '/v/web-1');
  });

  it('hashes a container the same way every time and differently when its image changes', () => {
    const a: Container = { name: 'x', image: 'nginx:1', env: [{ name: 'A', value: '1' }] };
    const b: Container = { env: [{ value: '1', name: 'A' }], image: 'nginx:1', name: 'x' };
    assert.equal(hashContainer(a), hashContainer(b));
    assert.notEqual(hashContainer(a), hashContainer({ ...a, image: 'nginx:2' }));
    assert.equal(hashContainer(a), hashContainer({ ...a, resources: { limits: { cpu: '1' } } }), 'a resize does not restart');
  });
});
