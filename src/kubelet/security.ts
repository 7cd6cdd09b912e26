// Pod and container security contexts as CRI settings (upstream's kuberuntime security_context.go
// and pkg/securitycontext): the container's own settings override the pod's; namespaces follow
// hostNetwork/hostPID/hostIPC/shareProcessNamespace; runAsNonRoot is checked against the image's
// user before a container is created. Pure.
import type { Container, Pod, SecurityContext, SeccompProfile } from './api-types.ts';
import { ContainerConfigError } from './env.ts';
import { formatPod } from './labels.ts';
import type { LinuxContainerSecurityContext, LinuxSandboxSecurityContext, NamespaceOption, SecurityProfile } from './runtime/runtime.ts';

export const DEFAULT_MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The container's security context with the pod's filled in where the container says nothing. */
export function effectiveSecurityContext(pod: Pod, container: Container): SecurityContext {
  const p = pod.spec.securityContext ?? {};
  const c = container.securityContext ?? {};
  return {
    ...c,
    runAsUser: c.runAsUser ?? p.runAsUser,
    runAsGroup: c.runAsGroup ?? p.runAsGroup,
    runAsNonRoot: c.runAsNonRoot ?? p.runAsNonRoot,
    seLinuxOptions: c.seLinuxOptions ?? p.seLinuxOptions,
    seccompProfile: c.seccompProfile ?? p.seccompProfile,
  };
}

export function namespaceOptions(pod: Pod): NamespaceOption {
  return {
    network: pod.spec.hostNetwork ? 'NODE' : 'POD',
    pid: pod.spec.hostPID ? 'NODE' : pod.spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: pod.spec.hostIPC ? 'NODE' : 'POD',
  };
}

/**
 * The seccomp profile as CRI wants it. Without a profile the container is Unconfined (kubelet's
 * --seccomp-default is off by default); a privileged container always is.
 */
export function seccompFor(profile: SeccompProfile | undefined, privileged: boolean, profileRoot: string): SecurityProfile {
  if (privileged || !profile || profile.type === 'Unconfined') return { profile_type: 'Unconfined' };
  if (profile.type === 'RuntimeDefault') return { profile_type: 'RuntimeDefault' };
  return { profile_type: 'Localhost', localhost_ref: `${profileRoot.replace(/\/+$/, '')}/${profile.localhostProfile ?? ''}` };
}

/** Supplemental groups: the pod's, plus its fsGroup (upstream adds it so volumes are writable). */
function supplementalGroups(pod: Pod): number[] {
  const p = pod.spec.securityContext;
  const groups = [...(p?.supplementalGroups ?? [])];
  if (p?.fsGroup !== undefined && !groups.includes(p.fsGroup)) groups.push(p.fsGroup);
  return groups;
}

export function hasPrivilegedContainer(pod: Pod): boolean {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c) => c.securityContext?.privileged);
}

export function sandboxSecurityContext(pod: Pod, seccompProfileRoot: string): LinuxSandboxSecurityContext {
  const p = pod.spec.securityContext ?? {};
  const privileged = hasPrivilegedContainer(pod);
  const out: LinuxSandboxSecurityContext = {
    namespace_options: namespaceOptions(pod),
    privileged,
    seccomp: seccompFor(p.seccompProfile, privileged, seccompProfileRoot),
  };
  if (p.runAsUser !== undefined) out.run_as_user = { value: p.runAsUser };
  if (p.runAsGroup !== undefined) out.run_as_group = { value: p.runAsGroup };
  const groups = supplementalGroups(pod);
  if (groups.length) out.supplemental_groups = groups;
  if (p.supplementalGroupsPolicy) out.supplemental_groups_policy = p.supplementalGroupsPolicy;
  if (p.seLinuxOptions) out.selinux_options = p.seLinuxOptions;
  return out;
}

/** upstream's AddNoNewPrivileges: only an explicit allowPrivilegeEscalation=false sets no_new_privs. */
export function noNewPrivileges(sc: SecurityContext | undefined): boolean {
  if (!sc || sc.allowPrivilegeEscalation === undefined) return false;
  return !sc.allowPrivilegeEscalation;
}

export function containerSecurityContext(pod: Pod, container: Container, seccompProfileRoot: string): LinuxContainerSecurityContext {
  const sc = effectiveSecurityContext(pod, container);
  const privileged = !!sc.privileged;
  const out: LinuxContainerSecurityContext = {
    privileged,
    readonly_rootfs: !!sc.readOnlyRootFilesystem,
    no_new_privs: noNewPrivileges(container.securityContext),
    seccomp: seccompFor(sc.seccompProfile, privileged, seccompProfileRoot),
    namespace_options: namespaceOptions(pod),
  };
  if (sc.capabilities?.add?.length || sc.capabilities?.drop?.length) {
    out.capabilities = { add_capabilities: [...(sc.capabilities.add ?? [])], drop_capabilities: [...(sc.capabilities.drop ?? [])] };
  }
  if (sc.runAsUser !== undefined) out.run_as_user = { value: sc.runAsUser };
  if (sc.runAsGroup !== undefined) out.run_as_group = { value: sc.runAsGroup };
  const groups = supplementalGroups(pod);
  if (groups.length) out.supplemental_groups = groups;
  if (sc.seLinuxOptions) out.selinux_options = sc.seLinuxOptions;
  const unmasked = sc.procMount === 'Unmasked';
  out.masked_paths = unmasked ? [] : [...DEFAULT_MASKED_PATHS];
  out.readonly_paths = unmasked ? [] : [...DEFAULT_READONLY_PATHS];
  return out;
}

/**
 * upstream's verifyRunAsNonRoot: with runAsNonRoot, the container's user must be known to be non-root —
 * from runAsUser, or the image's numeric user (an image without a user runs as root).
 */
export function verifyRunAsNonRoot(pod: Pod, container: Container, image: { uid?: number; username?: string }): void {
  const sc = effectiveSecurityContext(pod, container);
  if (!sc.runAsNonRoot) return;
  const p = JSON.stringify(formatPod(pod));
  if (sc.runAsUser !== undefined) {
    if (sc.runAsUser === 0) throw new ContainerConfigError(`container's runAsUser breaks non-root policy (pod: ${p}, container: ${container.name})`);
    return;
  }
  const uid = image.uid ?? (image.username ? undefined : 0);
  if (uid === 0) throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (pod: ${p}, container: ${container.name})`);
  if (uid === undefined && image.username) {
    throw new ContainerConfigError(`container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root (pod: ${p}, container: ${container.name})`);
  }
}
