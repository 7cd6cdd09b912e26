// The node's pod network as a CNI configuration list, for containerd's CRI plugin (which reads the
// first file of its conf_dir, max_conf_num = 1, and adds the loopback plugin itself): a Linux bridge
// whose address is the first IP of the node's pod CIDR and the pods' gateway, host-local IPAM over
// that CIDR (its allocations kept under the data dir, not the machine-wide /var/lib/cni), and portmap
// for hostPort. Plugins are Debian's containernetworking-plugins (/usr/lib/cni).
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CNI_NETWORK_NAME = 'rudder';
export const CNI_CONF_FILE = '10-rudder.conflist';

export interface CniOptions {
  /** The node's pod CIDR, e.g. 10.42.0.0/24 (IPv4). */
  podCidr: string;
  /** Where host-local keeps its allocations. */
  ipamDataDir: string;
  bridge?: string;
  mtu?: number;
  /** Masquerade pod traffic leaving the pod CIDR (bridge ipMasq); off by default. */
  ipMasq?: boolean;
}

/** Parses an IPv4 CIDR; throws a one-line error naming it when it is not one. */
export function parseIPv4Cidr(cidr: string): { base: number; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 30 || prefix < 8) {
    throw new Error(`invalid pod CIDR "${cidr}": expected an IPv4 network with a prefix of /8 to /30`);
  }
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & mask) >>> 0 !== addr) throw new Error(`invalid pod CIDR "${cidr}": host bits are set`);
  return { base: addr, prefix };
}

export function ipv4ToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The CNI configuration list for a node. Pure. */
export function cniConfList(o: CniOptions): Record<string, unknown> {
  const { base } = parseIPv4Cidr(o.podCidr);
  const bridge: Record<string, unknown> = {
    type: 'bridge',
    bridge: o.bridge ?? 'cni0',
    isGateway: true,
    ipMasq: o.ipMasq ?? false,
    // Hairpin lets a pod reach itself through a Service VIP that the proxy DNATs back to it.
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: o.podCidr, gateway: ipv4ToString(base + 1) }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: o.ipamDataDir,
    },
  };
  if (o.mtu !== undefined) bridge.mtu = o.mtu;
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK_NAME,
    plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }],
  };
}

/**
 * Writes the node's CNI config into confDir (atomically) as its only configuration, removing other
 * network configurations there so containerd cannot pick a stale one. Returns whether it changed.
 */
export function writeCniConfig(confDir: string, o: CniOptions): boolean {
  mkdirSync(confDir, { recursive: true });
  mkdirSync(o.ipamDataDir, { recursive: true });
  const file = join(confDir, CNI_CONF_FILE);
  const text = JSON.stringify(cniConfList(o), null, 2) + '\n';
  let old: string | undefined;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    // none yet
  }
  // Only what libcni would load (.conf, .conflist, .json) goes; anything else is not ours to judge.
  for (const f of readdirSync(confDir)) {
    if (f !== CNI_CONF_FILE && /\.(conf|conflist|json)$/.test(f)) rmSync(join(confDir, f), { force: true });
  }
  if (old === text) return false;
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
  return true;
}
