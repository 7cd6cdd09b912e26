// The /etc/hosts the kubelet manages for every container of a pod (upstream's ensureHostsFile):
// for a pod network, localhost entries, the pod's own names on its IPs and the pod's hostAliases;
// for a host-network pod, the node's /etc/hosts with the hostAliases appended. Pure.
import type { HostAlias, Pod } from './api-types.ts';

/** The pod's hostname and DNS domain (upstream's GeneratePodHostNameAndDomain, without truncation errors). */
export function podHostnameAndDomain(pod: Pod, clusterDomain: string): { hostname: string; domain: string } {
  let hostname = pod.spec.hostname || pod.metadata.name || '';
  // A hostname longer than a DNS label is cut at 63 and trailing '-' / '.' removed, as upstream.
  if (hostname.length > 63) hostname = hostname.slice(0, 63).replace(/[-.]+$/, '');
  const domain = pod.spec.subdomain ? `${pod.spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}` : '';
  return { hostname, domain };
}

function aliasLines(aliases: readonly HostAlias[] | undefined): string {
  if (!aliases?.length) return '';
  let out = '\n# Entries added by HostAliases.\n';
  for (const a of aliases) out += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
  return out;
}

/** The managed hosts file of a pod on the pod network. */
export function managedHostsFile(pod: Pod, podIPs: readonly string[], clusterDomain: string): string {
  const { hostname, domain } = podHostnameAndDomain(pod, clusterDomain);
  let out = '# Kubernetes-managed hosts file.\n';
  out += '127.0.0.1\tlocalhost\n';
  out += '::1\tlocalhost ip6-localhost ip6-loopback\n';
  out += 'fe00::0\tip6-localnet\n';
  out += 'fe00::0\tip6-mcastprefix\n';
  out += 'fe00::1\tip6-allnodes\n';
  out += 'fe00::2\tip6-allrouters\n';
  for (const ip of podIPs) out += domain ? `${ip}\t${hostname}.${domain}\t${hostname}\n` : `${ip}\t${hostname}\n`;
  return out + aliasLines(pod.spec.hostAliases);
}

/** The managed hosts file of a host-network pod: the node's own, then the pod's aliases. */
export function hostNetworkHostsFile(pod: Pod, nodeHosts: string): string {
  let out = '# Kubernetes-managed hosts file (host network).\n' + nodeHosts;
  if (out.length && !out.endsWith('\n')) out += '\n';
  return out + aliasLines(pod.spec.hostAliases);
}
