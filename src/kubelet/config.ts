// The kubelet's configuration: what the CLI (rudder agent / kubelet / sim) fills in from its flags,
// with upstream's defaults for the rest (KubeletConfiguration v1beta1 where it has the same knob).
import { join } from 'node:path';
import type { Taint } from './api-types.ts';
import { DEFAULT_EVICTION, type EvictionThresholds } from './node/node-status.ts';
import type { MachineInfo } from './node/machine.ts';

export interface KubeletConfig {
  /** The Node's name (--node-name; the hostname by default in the CLI). */
  nodeName: string;
  /** The node's address(es) for status.addresses and pods' hostIP (--node-ip). */
  nodeIP: string | string[];
  /** kubernetes.io/hostname and the Hostname address (default: nodeName). */
  hostname?: string;
  /** --cluster-dns: the cluster DNS service IP(s) pods with ClusterFirst use. */
  clusterDNS?: string[];
  /** --cluster-domain (default cluster.local). */
  clusterDomain?: string;
  /** --resolv-conf: the node's resolver file for dnsPolicy Default and upstream resolvers ('' for none; default /etc/resolv.conf). */
  resolvConf?: string;
  /** The kubelet's state: pods/<uid>/volumes, etc-hosts, termination logs (e.g. <data-dir>/agent/kubelet). */
  rootDir: string;
  /** Where pod log directories go (upstream's /var/log/pods; default <rootDir>/../logs/pods). */
  podLogsDir?: string;
  /** --cgroup-root: pods go under <cgroupRoot>/kubepods (default "/"). */
  cgroupRoot?: string;
  /** --pod-startup-trace: a file the kubelet appends each pod's start-up stages to (pod-trace.ts). */
  podStartupTrace?: string;
  /** The port the node's kubelet API serves on, for status.daemonEndpoints (default 10250). */
  kubeletPort?: number;
  /** --max-pods (default 110). */
  maxPods?: number;
  /** --node-labels. */
  nodeLabels?: Record<string, string>;
  /** --register-with-taints. */
  registerWithTaints?: Taint[];
  /** Hollow nodes: the machine to report instead of this one's (any field; the rest from this machine). */
  machine?: Partial<MachineInfo>;
  /** Resources kept for the system and the kubelet (subtracted from allocatable). */
  reserved?: { cpu?: string; memory?: string; 'ephemeral-storage'?: string };
  /** Hard eviction thresholds (upstream's defaults). */
  eviction?: Partial<EvictionThresholds>;
  /** The node's /etc/hosts (copied into host-network pods; default /etc/hosts). */
  hostsFile?: string;
  /** 'host' writes volumes on this machine (default); 'none' resolves them only (hollow nodes). */
  volumes?: 'host' | 'none';
  nodeStatusUpdateFrequencyMs?: number;
  nodeStatusReportFrequencyMs?: number;
  nodeLeaseDurationSeconds?: number;
  /** How often every pod is synced again even when nothing happened (default 60 s, jittered as upstream's 1 min). */
  syncFrequencyMs?: number;
  /** How often the runtime is listed for changes (upstream's PLEG relist, 1 s). */
  relistPeriodMs?: number;
  /** Container restart back-off (10 s doubling to 5 min). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

export interface ResolvedConfig {
  nodeName: string;
  nodeIPs: string[];
  hostname: string;
  clusterDNS: string[];
  clusterDomain: string;
  resolvConf: string;
  rootDir: string;
  podLogsDir: string;
  cgroupRoot: string;
  seccompProfileRoot: string;
  kubeletPort: number;
  maxPods: number;
  nodeLabels: Record<string, string>;
  registerWithTaints: Taint[];
  machine: Partial<MachineInfo>;
  reserved: { cpu?: string; memory?: string; 'ephemeral-storage'?: string };
  eviction: EvictionThresholds;
  hostsFile: string;
  volumes: 'host' | 'none';
  nodeStatusUpdateFrequencyMs: number;
  nodeStatusReportFrequencyMs: number;
  nodeLeaseDurationSeconds: number;
  syncFrequencyMs: number;
  relistPeriodMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

/** Fills in upstream's defaults. Throws a one-line error for a config that cannot work. */
export function resolveConfig(c: KubeletConfig): ResolvedConfig {
  if (!c.nodeName) throw new Error('kubelet config: nodeName is required');
  const nodeIPs = (Array.isArray(c.nodeIP) ? c.nodeIP : [c.nodeIP]).filter(Boolean);
  if (nodeIPs.length === 0) throw new Error('kubelet config: nodeIP is required');
  if (!c.rootDir) throw new Error('kubelet config: rootDir is required');
  return {
    nodeName: c.nodeName,
    nodeIPs,
    hostname: (c.hostname ?? c.nodeName).toLowerCase(),
    clusterDNS: c.clusterDNS ?? [],
    clusterDomain: c.clusterDomain ?? 'cluster.local',
    resolvConf: c.resolvConf ?? '/etc/resolv.conf',
    rootDir: c.rootDir,
    podLogsDir: c.podLogsDir ?? join(c.rootDir, '..', 'logs', 'pods'),
    cgroupRoot: c.cgroupRoot ?? '/',
    seccompProfileRoot: join(c.rootDir, 'seccomp'),
    kubeletPort: c.kubeletPort ?? 10250,
    maxPods: c.maxPods ?? 110,
    nodeLabels: c.nodeLabels ?? {},
    registerWithTaints: c.registerWithTaints ?? [],
    machine: c.machine ?? {},
    reserved: c.reserved ?? {},
    eviction: { ...DEFAULT_EVICTION, ...(c.eviction ?? {}) },
    hostsFile: c.hostsFile ?? '/etc/hosts',
    volumes: c.volumes ?? 'host',
    nodeStatusUpdateFrequencyMs: c.nodeStatusUpdateFrequencyMs ?? 10_000,
    nodeStatusReportFrequencyMs: c.nodeStatusReportFrequencyMs ?? 300_000,
    nodeLeaseDurationSeconds: c.nodeLeaseDurationSeconds ?? 40,
    syncFrequencyMs: c.syncFrequencyMs ?? 60_000,
    relistPeriodMs: c.relistPeriodMs ?? 1000,
    backoffInitialMs: c.backoffInitialMs ?? 10_000,
    backoffMaxMs: c.backoffMaxMs ?? 300_000,
  };
}
