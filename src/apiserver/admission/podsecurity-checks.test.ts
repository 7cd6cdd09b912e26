// Every Pod Security Standards check, at privileged, baseline and restricted, with upstream's
// forbidden reasons and details.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { aggregateCheckResults, evaluatePod, forbiddenDetail, type Level, type PolicyVersion } from './podsecurity-checks.ts';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const LATEST: PolicyVersion = { latest: true };

/** A pod that passes restricted; `tweak` makes it violate something. */
function restrictedPod(tweak: (p: Json) => void = () => {}): Json {
  const p: Json = {
    metadata: { name: 'p', annotations: {} },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'c', image: 'x', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  };
  tweak(p);
  return p;
}

function detail(level: Level, pod: Json, version: PolicyVersion = LATEST): string {
  return forbiddenDetail(aggregateCheckResults(evaluatePod({ level, version }, pod.metadata, pod.spec)));
}

const c0 = (p: Json) => p.spec.containers[0];

/** [name, tweak, expected at baseline ('' = allowed), expected at restricted]. */
const cases: [string, (p: Json) => void, string, string][] = [
  ['a restricted pod', () => {}, '', ''],
  ['hostNetwork and hostPID', (p) => Object.assign(p.spec, { hostNetwork: true, hostPID: true }), 'host namespaces (hostNetwork=true, hostPID=true)', 'host namespaces (hostNetwork=true, hostPID=true)'],
  ['hostIPC', (p) => (p.spec.hostIPC = true), 'host namespaces (hostIPC=true)', 'host namespaces (hostIPC=true)'],
  ['privileged', (p) => (c0(p).securityContext.privileged = true), 'privileged (container "c" must not set securityContext.privileged=true)', 'privileged (container "c" must not set securityContext.privileged=true)'],
  [
    'privileged in two containers',
    (p) => {
      c0(p).securityContext.privileged = true;
      p.spec.initContainers = [{ name: 'i', image: 'x', securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }];
    },
    'privileged (containers "i", "c" must not set securityContext.privileged=true)',
    'privileged (containers "i", "c" must not set securityContext.privileged=true)',
  ],
  [
    'adding NET_RAW and SYS_ADMIN',
    (p) => (c0(p).securityContext.capabilities.add = ['SYS_ADMIN', 'NET_RAW']),
    'non-default capabilities (container "c" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)',
    'unrestricted capabilities (container "c" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)',
  ],
  ['adding CHOWN (default set)', (p) => (c0(p).securityContext.capabilities.add = ['CHOWN']), '', 'unrestricted capabilities (container "c" must not include "CHOWN" in securityContext.capabilities.add)'],
  ['adding NET_BIND_SERVICE', (p) => (c0(p).securityContext.capabilities.add = ['NET_BIND_SERVICE']), '', ''],
  ['not dropping ALL', (p) => delete c0(p).securityContext.capabilities, '', 'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])'],
  [
    'a hostPath volume',
    (p) => (p.spec.volumes = [{ name: 'host', hostPath: { path: '/' } }]),
    'hostPath volumes (volume "host")',
    'restricted volume types (volume "host" uses restricted volume type "hostPath")',
  ],
  [
    'hostPath and nfs volumes',
    (p) => (p.spec.volumes = [{ name: 'a', hostPath: { path: '/' } }, { name: 'b', nfs: { server: 's', path: '/' } }, { name: 'ok', emptyDir: {} }]),
    'hostPath volumes (volume "a")',
    'restricted volume types (volumes "a", "b" use restricted volume types "hostPath", "nfs")',
  ],
  ['an nfs volume', (p) => (p.spec.volumes = [{ name: 'n', nfs: { server: 's', path: '/' } }]), '', 'restricted volume types (volume "n" uses restricted volume type "nfs")'],
  [
    'allowed volume types',
    (p) => (p.spec.volumes = [{ name: 'a', emptyDir: {} }, { name: 'b', secret: { secretName: 's' } }, { name: 'c', configMap: { name: 'c' } }, { name: 'd', projected: { sources: [] } }, { name: 'e', persistentVolumeClaim: { claimName: 'x' } }, { name: 'f', image: { reference: 'r' } }, { name: 'g', downwardAPI: {} }, { name: 'h', csi: { driver: 'd' } }, { name: 'i', ephemeral: {} }]),
    '',
    '',
  ],
  ['hostPorts', (p) => (c0(p).ports = [{ containerPort: 80, hostPort: 80 }, { containerPort: 443, hostPort: 443 }]), 'hostPort (container "c" uses hostPorts 443, 80)', 'hostPort (container "c" uses hostPorts 443, 80)'],
  [
    'an unconfined AppArmor profile field',
    (p) => (c0(p).securityContext.appArmorProfile = { type: 'Unconfined' }),
    'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")',
    'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")',
  ],
  [
    'an unconfined AppArmor annotation',
    (p) => (p.metadata.annotations['container.apparmor.security.beta.kubernetes.io/c'] = 'unconfined'),
    'forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/c="unconfined"")',
    'forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/c="unconfined"")',
  ],
  ['a localhost AppArmor profile', (p) => (p.metadata.annotations['container.apparmor.security.beta.kubernetes.io/c'] = 'localhost/custom'), '', ''],
  [
    'an SELinux type and user',
    (p) => (p.spec.securityContext.seLinuxOptions = { type: 'spc_t', user: 'root' }),
    'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
    'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
  ],
  ['an SELinux role only', (p) => (c0(p).securityContext.seLinuxOptions = { role: 'r' }), 'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: role may not be set)', 'seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: role may not be set)'],
  ['the container_engine_t SELinux type', (p) => (p.spec.securityContext.seLinuxOptions = { type: 'container_engine_t' }), '', ''],
  ['an unmasked /proc', (p) => (c0(p).securityContext.procMount = 'Unmasked'), 'procMount (container "c" must not set securityContext.procMount to "Unmasked")', 'procMount (container "c" must not set securityContext.procMount to "Unmasked")'],
  [
    'an unconfined seccomp profile',
    (p) => (c0(p).securityContext.seccompProfile = { type: 'Unconfined' }),
    'seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")',
    'seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")',
  ],
  ['no seccomp profile', (p) => delete p.spec.securityContext.seccompProfile, '', 'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'],
  ['an unsafe sysctl', (p) => (p.spec.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }, { name: 'net.ipv4.tcp_rmem', value: '1' }]), 'forbidden sysctls (kernel.msgmax)', 'forbidden sysctls (kernel.msgmax)'],
  [
    'hostProcess',
    (p) => {
      p.spec.securityContext.windowsOptions = { hostProcess: true };
      c0(p).securityContext.windowsOptions = { hostProcess: true };
    },
    'hostProcess (pod and container "c" must not set securityContext.windowsOptions.hostProcess=true)',
    'hostProcess (pod and container "c" must not set securityContext.windowsOptions.hostProcess=true)',
  ],
  ['allowPrivilegeEscalation unset', (p) => delete c0(p).securityContext.allowPrivilegeEscalation, '', 'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)'],
  ['runAsNonRoot unset', (p) => delete p.spec.securityContext.runAsNonRoot, '', 'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)'],
  ['runAsNonRoot=false on a container', (p) => (c0(p).securityContext.runAsNonRoot = false), '', 'runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)'],
  ['runAsUser 0', (p) => (p.spec.securityContext.runAsUser = 0), '', 'runAsUser=0 (pod must not set runAsUser=0)'],
  ['runAsUser 1000', (p) => (p.spec.securityContext.runAsUser = 1000), '', ''],
];

describe('Pod Security Standards checks', () => {
  for (const [name, tweak, baseline, restricted] of cases) {
    test(`${name}: privileged allows, baseline ${baseline ? 'refuses' : 'allows'}, restricted ${restricted ? 'refuses' : 'allows'}`, () => {
      const pod = restrictedPod(tweak);
      assert.equal(detail('privileged', pod), '');
      assert.equal(detail('baseline', pod), baseline);
      assert.equal(detail('restricted', pod), restricted);
    });
  }

  test('a plain pod violates four restricted checks in upstream order', () => {
    const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } };
    assert.equal(
      detail('restricted', pod),
      'allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    assert.equal(detail('baseline', pod), '');
  });

  test('baseline checks come before restricted ones', () => {
    const pod = restrictedPod((p) => {
      p.spec.hostNetwork = true;
      c0(p).securityContext.privileged = true;
      delete c0(p).securityContext.allowPrivilegeEscalation;
    });
    assert.equal(
      detail('restricted', pod),
      'host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
    );
  });

  describe('policy versions', () => {
    test('sysctls added in 1.29 are unsafe under v1.28', () => {
      const pod = restrictedPod((p) => (p.spec.securityContext.sysctls = [{ name: 'net.ipv4.tcp_keepalive_time', value: '1' }]));
      assert.equal(detail('baseline', pod, { latest: false, minor: 28 }), 'forbidden sysctls (net.ipv4.tcp_keepalive_time)');
      assert.equal(detail('baseline', pod, { latest: false, minor: 29 }), '');
    });
    test('container_engine_t is allowed from v1.31', () => {
      const pod = restrictedPod((p) => (p.spec.securityContext.seLinuxOptions = { type: 'container_engine_t' }));
      assert.equal(detail('baseline', pod, { latest: false, minor: 30 }), 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "container_engine_t")');
    });
    test('runAsUser=0 is allowed by restricted before v1.23', () => {
      const pod = restrictedPod((p) => (p.spec.securityContext.runAsUser = 0));
      assert.equal(detail('restricted', pod, { latest: false, minor: 22 }), '');
      assert.equal(detail('restricted', pod, { latest: false, minor: 23 }), 'runAsUser=0 (pod must not set runAsUser=0)');
    });
    test('before v1.19 baseline seccomp reads the alpha annotations', () => {
      const pod = { metadata: { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } }, spec: { containers: [{ name: 'c' }] } };
      assert.equal(detail('baseline', pod, { latest: false, minor: 18 }), 'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")');
      assert.equal(detail('baseline', pod, { latest: false, minor: 19 }), '');
    });
    test('windows pods are exempt from the Linux-only restricted checks from v1.25', () => {
      const pod = { metadata: {}, spec: { os: { name: 'windows' }, securityContext: { runAsNonRoot: true }, containers: [{ name: 'c' }] } };
      assert.equal(detail('restricted', pod), '');
      assert.match(detail('restricted', pod, { latest: false, minor: 24 }), /^allowPrivilegeEscalation != false/);
    });
  });
});
