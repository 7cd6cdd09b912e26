// TypeScript shapes of the CRI v1 messages rudder sends and receives (cri-api v0.36.0; the wire table
// is cri-v1.json). Field names are the proto names (snake_case), because the client loads the table
// with keepCase: a config built here is exactly what goes on the wire.
//
// Decoding conventions (see client.ts): int64/uint64 arrive as decimal strings (Int64), enums as their
// names, bytes as Buffers; with defaults on, absent scalars arrive as '' / 0 / false, absent repeated
// fields as [], absent maps as {}, absent messages as null. Requests accept numbers for 64-bit fields.

/** A 64-bit integer as decoded: a decimal string (nanosecond timestamps overflow a double's 2^53). */
export type Int64 = string;
/** A 64-bit integer in a request. */
export type Int64In = number | string;

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type ProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';
export type SupplementalGroupsPolicy = 'Merge' | 'Strict';
/** Signal names as in the table (RUNTIME_DEFAULT, SIGTERM, SIGKILL, …). */
export type StopSignal = string;

export interface KeyValue { key: string; value: string }
export interface Int64Value { value: Int64In }
export interface UInt64Value { value: Int64 }

export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt?: number }
export interface ContainerMetadata { name: string; attempt?: number }
export interface ImageSpec {
  image: string;
  annotations?: Record<string, string>;
  user_specified_image?: string;
  runtime_handler?: string;
  image_ref?: string;
}

export interface DNSConfig { servers?: string[]; searches?: string[]; options?: string[] }
export interface PortMapping { protocol?: Protocol; container_port: number; host_port?: number; host_ip?: string }
export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
  target_id?: string;
}
export interface SELinuxOption { user?: string; role?: string; type?: string; level?: string }
export interface SecurityProfile { profile_type: ProfileType; localhost_ref?: string }
export interface Capability { add_capabilities?: string[]; drop_capabilities?: string[]; add_ambient_capabilities?: string[] }

export interface LinuxSandboxSecurityContext {
  namespace_options?: NamespaceOption;
  selinux_options?: SELinuxOption;
  run_as_user?: Int64Value;
  run_as_group?: Int64Value;
  readonly_rootfs?: boolean;
  supplemental_groups?: Int64In[];
  supplemental_groups_policy?: SupplementalGroupsPolicy;
  privileged?: boolean;
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}

export interface HugepageLimit { page_size: string; limit: Int64In }
export interface LinuxContainerResources {
  cpu_period?: Int64In;
  cpu_quota?: Int64In;
  cpu_shares?: Int64In;
  memory_limit_in_bytes?: Int64In;
  oom_score_adj?: Int64In;
  cpuset_cpus?: string;
  cpuset_mems?: string;
  hugepage_limits?: HugepageLimit[];
  unified?: Record<string, string>;
  memory_swap_limit_in_bytes?: Int64In;
}

export interface LinuxPodSandboxConfig {
  cgroup_parent?: string;
  security_context?: LinuxSandboxSecurityContext;
  sysctls?: Record<string, string>;
  overhead?: LinuxContainerResources;
  resources?: LinuxContainerResources;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  /** Must be '' for a host-network sandbox (no private UTS namespace). */
  hostname?: string;
  log_directory?: string;
  dns_config?: DNSConfig;
  port_mappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: LinuxPodSandboxConfig;
}

export interface Mount {
  container_path: string;
  host_path: string;
  readonly?: boolean;
  selinux_relabel?: boolean;
  propagation?: MountPropagation;
  recursive_read_only?: boolean;
}
export interface Device { container_path: string; host_path: string; permissions: string }

export interface LinuxContainerSecurityContext {
  capabilities?: Capability;
  privileged?: boolean;
  namespace_options?: NamespaceOption;
  selinux_options?: SELinuxOption;
  run_as_user?: Int64Value;
  run_as_group?: Int64Value;
  run_as_username?: string;
  readonly_rootfs?: boolean;
  supplemental_groups?: Int64In[];
  supplemental_groups_policy?: SupplementalGroupsPolicy;
  no_new_privs?: boolean;
  masked_paths?: string[];
  readonly_paths?: string[];
  seccomp?: SecurityProfile;
  apparmor?: SecurityProfile;
}
export interface LinuxContainerConfig { resources?: LinuxContainerResources; security_context?: LinuxContainerSecurityContext }

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  devices?: Device[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the sandbox's log_directory. */
  log_path?: string;
  stdin?: boolean;
  stdin_once?: boolean;
  tty?: boolean;
  linux?: LinuxContainerConfig;
  stop_signal?: StopSignal;
}

export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  server_address?: string;
  identity_token?: string;
  registry_token?: string;
}

// ---- responses ----

export interface VersionResponse { version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  created_at: Int64;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtime_handler: string;
}

export interface PodSandboxNetworkStatus { ip: string; additional_ips: { ip: string }[] }
export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  created_at: Int64;
  network: PodSandboxNetworkStatus | null;
  linux: { namespaces: { options: NamespaceOption | null } | null } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtime_handler: string;
}
export interface PodSandboxStatusResponse {
  status: PodSandboxStatus | null;
  info: Record<string, string>;
  containers_statuses: ContainerStatus[];
  timestamp: Int64;
}

export interface Container {
  id: string;
  pod_sandbox_id: string;
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  image_ref: string;
  state: ContainerState;
  created_at: Int64;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  image_id: string;
}

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata | null;
  state: ContainerState;
  created_at: Int64;
  started_at: Int64;
  finished_at: Int64;
  exit_code: number;
  image: ImageSpec | null;
  image_ref: string;
  /** 'Completed', 'Error', 'OOMKilled', … for exited containers. */
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: Mount[];
  /** The full path of the container's log file. */
  log_path: string;
  resources: { linux: LinuxContainerResources | null } | null;
  image_id: string;
}
export interface ContainerStatusResponse { status: ContainerStatus | null; info: Record<string, string> }

export interface ExecSyncResponse { stdout: Buffer; stderr: Buffer; exit_code: number }

export interface ExecRequest { container_id: string; cmd: string[]; tty?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean }
export interface AttachRequest { container_id: string; stdin?: boolean; tty?: boolean; stdout?: boolean; stderr?: boolean }

export interface FilesystemUsage {
  timestamp: Int64;
  fs_id: { mountpoint: string } | null;
  used_bytes: UInt64Value | null;
  inodes_used: UInt64Value | null;
}
export interface CpuUsage { timestamp: Int64; usage_core_nano_seconds: UInt64Value | null; usage_nano_cores: UInt64Value | null }
export interface MemoryUsage {
  timestamp: Int64;
  working_set_bytes: UInt64Value | null;
  available_bytes: UInt64Value | null;
  usage_bytes: UInt64Value | null;
  rss_bytes: UInt64Value | null;
  page_faults: UInt64Value | null;
  major_page_faults: UInt64Value | null;
}
export interface ContainerStats {
  attributes: { id: string; metadata: ContainerMetadata | null; labels: Record<string, string>; annotations: Record<string, string> } | null;
  cpu: CpuUsage | null;
  memory: MemoryUsage | null;
  writable_layer: FilesystemUsage | null;
}

export interface Image {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: Int64;
  uid: { value: Int64 } | null;
  username: string;
  spec: ImageSpec | null;
  pinned: boolean;
}
export interface ImageFsInfoResponse { image_filesystems: FilesystemUsage[]; container_filesystems: FilesystemUsage[] }

export interface RuntimeCondition { type: string; status: boolean; reason: string; message: string }
export interface StatusResponse { status: { conditions: RuntimeCondition[] } | null; info: Record<string, string> }

// ---- filters ----

export interface PodSandboxFilter { id?: string; state?: { state: PodSandboxState }; label_selector?: Record<string, string> }
export interface ContainerFilter {
  id?: string;
  state?: { state: ContainerState };
  pod_sandbox_id?: string;
  label_selector?: Record<string, string>;
}
export interface ContainerStatsFilter { id?: string; pod_sandbox_id?: string; label_selector?: Record<string, string> }
