// The cluster DNS's answers: a pure function from one question and the records to the reply's
// sections, with the semantics of CoreDNS's kubernetes plugin as k3s configures it
// (`kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa }`)
// and the Kubernetes DNS-Based Service Discovery specification (schema 1.1.0):
//
//   <svc>.<ns>.svc.<zone>                A/AAAA: the ClusterIPs; headless: the ready endpoints' IPs
//   <endpoint>.<svc>.<ns>.svc.<zone>     A/AAAA: the endpoint named by hostname (or its dashed IP)
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV per matching named port (headless: per endpoint),
//                                        target addresses in the additional section
//   <a-b-c-d>.<ns>.pod.<zone>            A: the IP in the name (`pods insecure`)
//   ExternalName Services                CNAME to the external name (chased upstream)
//   PTR for ClusterIPs and endpoint IPs; dns-version.<zone> TXT "1.1.0"; SOA and NS at the apex.
//
// A name that does not exist is NXDOMAIN, a name that exists without the asked type is NODATA
// (NOERROR, empty answer); both carry the zone's SOA in the authority section, and answers are
// authoritative. Names outside the zones — and reverse names without a record — are forwarded.
import { isIP } from 'node:net';
import type { Answer } from 'dns-packet';
import { ClusterRecords, endpointHostname, isHeadless, type ServiceRecord } from './records.ts';

export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface ResolverConfig {
  /** The cluster domain, without trailing dot (cluster.local). */
  zone: string;
  /** TTL of every answer (CoreDNS's default 5 s). */
  ttl: number;
  podMode: PodMode;
  /** This server's own addresses: NS records name the Service whose endpoints they are. */
  localIPs: readonly string[];
  /** endpoint_pod_names: endpoints without a hostname are named after their pod. */
  endpointPodNames?: boolean;
}

export const DNS_SCHEMA_VERSION = '1.1.0';
const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'];
const MAX_CNAME_CHAIN = 10;

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';

export interface Resolved {
  kind: 'answer';
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /**
   * A CNAME out of the zone whose target must be resolved upstream: the reply is `answers`, then
   * `cnames`, then the upstream's answer for (target, type); if the upstream lookup fails the CNAMEs
   * are left out (CoreDNS's A()).
   */
  chase?: { cnames: Answer[]; target: string; type: 'A' | 'AAAA' };
}

/** Not ours (or a reverse name we have no record for): ask the upstream resolvers. */
export interface Forward {
  kind: 'forward';
}

export type Resolution = Resolved | Forward;

/** A backend entry, as CoreDNS's msg.Service: an address or a name, a port, and the entry's own name. */
interface Entry {
  host: string;
  port: number;
  /** The entry's DNS name (lower case, no trailing dot): the SRV target. */
  name: string;
  ttl: number;
  text?: string;
}

interface Lookup {
  entries: Entry[];
  /** The name does not exist (NXDOMAIN). */
  nameError: boolean;
}

const NX: Lookup = { entries: [], nameError: true };
const EMPTY: Lookup = { entries: [], nameError: false };

function trimDot(n: string): string {
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** The longest zone of ours containing `lname`, or undefined. */
export function matchZone(lname: string, clusterZone: string): string | undefined {
  let best: string | undefined;
  for (const z of [clusterZone, ...REVERSE_ZONES]) if (inZone(lname, z) && (!best || z.length > best.length)) best = z;
  return best;
}

function ipType(host: string): 'A' | 'AAAA' | 'CNAME' {
  const v = isIP(host);
  return v === 4 ? 'A' : v === 6 ? 'AAAA' : 'CNAME';
}

export class Resolver {
  readonly records: ClusterRecords;
  readonly config: ResolverConfig;
  private readonly zone: string;

  constructor(records: ClusterRecords, config: ResolverConfig) {
    this.records = records;
    this.config = config;
    this.zone = trimDot(config.zone).toLowerCase();
  }

  resolve(q: { name: string; type: string }): Resolution {
    const qname = trimDot(q.name);
    const lname = qname.toLowerCase();
    const zone = matchZone(lname, this.zone);
    if (!zone) return { kind: 'forward' };
    // the zone as the query spelled it (CoreDNS keeps the query's case)
    const zoneName = qname.slice(qname.length - zone.length);
    let answers: Answer[] = [];
    let additionals: Answer[] = [];
    let chase: Resolved['chase'];
    let nameError = false;
    switch (q.type) {
      case 'A':
      case 'AAAA': {
        const r = this.address(qname, lname, zone, q.type, []);
        answers = r.records;
        chase = r.chase;
        nameError = r.nameError;
        break;
      }
      case 'TXT': {
        const r = this.services(lname, zone, 'TXT');
        nameError = r.nameError;
        for (const e of r.entries) if (e.text !== undefined) answers.push({ name: qname, type: 'TXT', class: 'IN', ttl: e.ttl, data: e.text });
        break;
      }
      case 'CNAME': {
        const r = this.services(lname, zone, 'CNAME');
        nameError = r.nameError;
        const first = r.entries[0];
        if (first && ipType(first.host) === 'CNAME') answers.push({ name: qname, type: 'CNAME', class: 'IN', ttl: first.ttl, data: trimDot(first.host) });
        break;
      }
      case 'PTR': {
        const ip = addressFromReverse(lname);
        if (!ip) {
          nameError = this.records_(lname, zone).nameError;
          break;
        }
        const names = this.reverse(ip);
        if (!names.length) nameError = true;
        for (const n of names) answers.push({ name: qname, type: 'PTR', class: 'IN', ttl: this.config.ttl, data: n });
        break;
      }
      case 'SRV': {
        const r = this.srv(qname, lname, zone);
        answers = r.records;
        additionals = r.extra;
        nameError = r.nameError;
        break;
      }
      case 'SOA':
        // only the apex has one; any other name is NODATA (CoreDNS checks no existence here)
        if (lname === zone) answers.push(this.soa(zoneName));
        break;
      case 'AXFR':
      case 'IXFR':
        return { kind: 'answer', rcode: 'REFUSED', answers: [], authorities: [], additionals: [] };
      case 'NS':
        if (lname === zone) {
          const r = this.ns(qname, zone);
          answers = r.records;
          additionals = r.extra;
          break;
        }
        nameError = this.address(qname, lname, zone, 'A', []).nameError;
        break;
      case 'MX':
        // Kubernetes records never carry mail: existing names are NODATA
        nameError = this.services(lname, zone, 'MX').nameError;
        break;
      default:
        // a fake A lookup tells NODATA from NXDOMAIN
        nameError = this.address(qname, lname, zone, 'A', []).nameError;
    }
    if (nameError) {
      if (zone !== this.zone) return { kind: 'forward' }; // fallthrough in-addr.arpa ip6.arpa
      const rcode = this.records.synced ? 'NXDOMAIN' : 'SERVFAIL';
      return { kind: 'answer', rcode, answers: [], authorities: [this.soa(zoneName)], additionals: [] };
    }
    if (!answers.length && !chase) return { kind: 'answer', rcode: 'NOERROR', answers: [], authorities: [this.soa(zoneName)], additionals: [] };
    return { kind: 'answer', rcode: 'NOERROR', answers, authorities: [], additionals, chase };
  }

  /** The zone's SOA (CoreDNS's: ns.dns.<zone>, hostmaster.<zone>, serial = last change). */
  soa(zoneName: string): Answer {
    const ttl = Math.min(this.config.ttl, 300);
    return {
      name: zoneName,
      type: 'SOA',
      class: 'IN',
      ttl,
      data: { mname: `ns.dns.${zoneName}`, rname: `hostmaster.${zoneName}`, serial: this.records.modified >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: this.config.ttl },
    };
  }

  // ------------------------------------------------------------------------------ record sets

  private address(qname: string, lname: string, zone: string, type: 'A' | 'AAAA', previous: Answer[]): { records: Answer[]; nameError: boolean; chase?: Resolved['chase'] } {
    const r = this.services(lname, zone, type);
    if (r.nameError) return { records: [], nameError: true };
    const records: Answer[] = [];
    const seen = new Set<string>();
    let chase: Resolved['chase'];
    for (const e of r.entries) {
      const t = ipType(e.host);
      if (t === type) {
        if (seen.has(e.host)) continue;
        seen.add(e.host);
        records.push({ name: qname, type, class: 'IN', ttl: e.ttl, data: e.host });
        continue;
      }
      if (t !== 'CNAME') continue;
      const target = trimDot(e.host);
      const ltarget = target.toLowerCase();
      if (ltarget === lname) continue; // x CNAME x
      if (previous.length > MAX_CNAME_CHAIN) continue;
      const cname: Answer = { name: qname, type: 'CNAME', class: 'IN', ttl: e.ttl, data: target };
      if (previous.some((p) => p.type === 'CNAME' && p.name.toLowerCase() === lname && String(p.data).toLowerCase() === ltarget)) continue;
      if (inZone(ltarget, zone)) {
        const next = this.address(target, ltarget, zone, type, [...previous, cname]);
        if (next.nameError) continue;
        // an ExternalName is the only entry of its name, so a chain is linear: it ends in addresses
        // here or in a target to resolve upstream
        if (next.chase) chase = { ...next.chase, cnames: [cname, ...next.chase.cnames] };
        else if (next.records.length) records.push(cname, ...next.records);
        continue;
      }
      chase = { cnames: [cname], target, type };
    }
    return { records, nameError: false, chase };
  }

  private srv(qname: string, lname: string, zone: string): { records: Answer[]; extra: Answer[]; nameError: boolean } {
    const r = this.services(lname, zone, 'SRV');
    if (r.nameError) return { records: [], extra: [], nameError: true };
    const records: Answer[] = [];
    const extra: Answer[] = [];
    // every entry weighs 100 at priority 0, so each SRV gets floor(100 / entries), at least 1
    const weight = Math.max(1, Math.floor(100 / Math.max(1, r.entries.length)));
    const seenSrv = new Set<string>();
    const seenAddr = new Set<string>();
    for (const e of r.entries) {
      if (e.port === -1) continue;
      const t = ipType(e.host);
      if (t === 'CNAME') continue;
      const sk = `${e.name}|${e.port}`;
      if (!seenSrv.has(sk)) {
        seenSrv.add(sk);
        records.push({ name: qname, type: 'SRV', class: 'IN', ttl: e.ttl, data: { priority: 0, weight, port: e.port, target: e.name } });
      }
      const ak = `${e.name}|${e.host}`;
      if (!seenAddr.has(ak)) {
        seenAddr.add(ak);
        extra.push({ name: e.name, type: t, class: 'IN', ttl: e.ttl, data: e.host });
      }
    }
    return { records, extra, nameError: false };
  }

  private ns(qname: string, zone: string): { records: Answer[]; extra: Answer[] } {
    const records: Answer[] = [];
    const extra: Answer[] = [];
    const seen = new Set<string>();
    for (const a of this.nsAddrs(zone)) {
      extra.push({ name: a.name, type: ipType(a.ip) as 'A' | 'AAAA', class: 'IN', ttl: this.config.ttl, data: a.ip });
      if (seen.has(a.name)) continue;
      seen.add(a.name);
      records.push({ name: qname, type: 'NS', class: 'IN', ttl: this.config.ttl, data: a.name });
    }
    return { records, extra };
  }

  /** The addresses this server answers on, named by the Service that publishes them (CoreDNS's nsAddrs). */
  private nsAddrs(zone: string): { name: string; ip: string }[] {
    const out: { name: string; ip: string }[] = [];
    for (const { service: s, sets } of this.records.servicesWithEndpointIPs(this.config.localIPs)) {
      const svcName = `${s.name}.${s.namespace}.svc.${zone}`;
      if (isHeadless(s)) {
        for (const set of sets) for (const a of set.addresses) out.push({ name: `${endpointHostname(a, this.config.endpointPodNames)}.${svcName}`, ip: a.ip });
      } else {
        for (const ip of s.clusterIPs) if (isIP(ip)) out.push({ name: svcName, ip });
      }
    }
    if (out.length) return out;
    return this.config.localIPs.map((ip) => ({ name: `ns.dns.${zone}`, ip }));
  }

  /** CoreDNS's Kubernetes.Services: the entries for a name, by query type. */
  private services(lname: string, zone: string, type: string): Lookup {
    if (type === 'TXT') {
      const base = lname === zone ? '' : lname.slice(0, -(zone.length + 1));
      if (base === 'dns-version') return { entries: [{ host: '', port: 0, name: lname, ttl: 28800, text: DNS_SCHEMA_VERSION }], nameError: false };
      // any other TXT: NODATA where the name has records, else NXDOMAIN
      return this.records_(lname, zone).entries.length ? EMPTY : NX;
    }
    if (lname === `ns.dns.${zone}`) {
      if (type !== 'A' && type !== 'AAAA') return EMPTY;
      return { entries: this.nsAddrs(zone).filter((a) => ipType(a.ip) === type).map((a) => ({ host: a.ip, port: 0, name: lname, ttl: this.config.ttl })), nameError: false };
    }
    const r = this.records_(lname, zone);
    if (type !== 'SRV') return r;
    // SRV for ExternalName Services is not answered (CoreDNS drops the CNAME entries)
    return { entries: r.entries.filter((e) => ipType(e.host) !== 'CNAME'), nameError: r.nameError };
  }

  /** CoreDNS's Records: parse the name, then pods or services. */
  private records_(lname: string, zone: string): Lookup {
    const base = lname === zone ? '' : lname.slice(0, -(zone.length + 1));
    if (base === '' || base === 'svc' || base === 'pod') return EMPTY;
    const segs = base.split('.');
    const podOrSvc = segs.pop()!;
    if (podOrSvc !== 'svc' && podOrSvc !== 'pod') return NX;
    if (zone !== this.zone) return NX; // a reverse name is never a record
    const namespace = segs.pop()!;
    if (!this.records.namespaceExists(namespace)) return NX;
    const service = segs.pop();
    if (service === undefined) return EMPTY; // the namespace itself: NODATA
    let endpoint = '';
    let port = '';
    let protocol = '';
    if (segs.length === 1) endpoint = segs[0]!;
    else if (segs.length === 2) {
      port = stripUnderscore(segs[0]!);
      protocol = stripUnderscore(segs[1]!);
    } else if (segs.length > 2) return NX;
    return podOrSvc === 'pod' ? this.pods(namespace, service, zone) : this.findServices(namespace, service, endpoint, port, protocol, zone);
  }

  private pods(namespace: string, podname: string, zone: string): Lookup {
    if (this.config.podMode === 'disabled') return NX;
    const dashes = podname.split('-').length - 1;
    const raw = dashes === 3 && !podname.includes('--') ? podname.replaceAll('-', '.') : podname.replaceAll('-', ':');
    const v = isIP(raw);
    if (!v) return NX;
    const ip = v === 6 ? canonicalIPv6(raw) : raw;
    if (this.config.podMode === 'verified' && !this.records.podExists(namespace, ip)) return NX;
    return { entries: [{ host: ip, port: 0, name: `${podname}.${namespace}.pod.${zone}`, ttl: this.config.ttl }], nameError: false };
  }

  private findServices(namespace: string, service: string, endpoint: string, port: string, protocol: string, zone: string): Lookup {
    const svc = this.records.service(namespace, service);
    if (!svc) return NX;
    const svcName = `${svc.name}.${svc.namespace}.svc.${zone}`;
    const ttl = this.config.ttl;
    const entries: Entry[] = [];
    if (svc.type === 'ExternalName') {
      // no endpoints, and no port/protocol pseudo-labels
      if (endpoint || port || protocol) return NX;
      if (ipType(svc.externalName) !== 'CNAME' || !svc.externalName) return NX;
      return { entries: [{ host: svc.externalName, port: 0, name: svcName, ttl }], nameError: false };
    }
    if (isHeadless(svc) || endpoint) {
      let found = false;
      for (const set of this.records.endpoints(namespace, service)) {
        for (const a of set.addresses) {
          const h = endpointHostname(a, this.config.endpointPodNames);
          if (endpoint && endpoint !== h) continue;
          for (const p of set.ports) {
            if (!portMatches(port, p.name, protocol, p.protocol)) continue;
            found = true;
            entries.push({ host: a.ip, port: p.port, name: `${h}.${svcName}`, ttl });
          }
        }
      }
      return found ? { entries, nameError: false } : NX;
    }
    let found = false;
    for (const p of svc.ports) {
      if (!portMatches(port, p.name, protocol, p.protocol)) continue;
      found = true;
      for (const ip of svc.clusterIPs) entries.push({ host: ip, port: p.port, name: svcName, ttl });
    }
    return found ? { entries, nameError: false } : NX;
  }

  /** PTR targets for an address: the Service whose ClusterIP it is, else the endpoints holding it. */
  private reverse(ip: string): string[] {
    const svcs = this.records.servicesByClusterIP(ip);
    if (svcs.length) return [serviceFqdn(svcs[0]!, this.zone)];
    const out = new Set<string>();
    for (const e of this.records.endpointsByIP(ip)) out.add(`${endpointHostname(e.address, this.config.endpointPodNames)}.${e.service}.${e.namespace}.svc.${this.zone}`);
    return [...out];
  }
}

function serviceFqdn(s: ServiceRecord, zone: string): string {
  return `${s.name}.${s.namespace}.svc.${zone}`;
}

function stripUnderscore(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}

function portMatches(qPort: string, port: string, qProto: string, proto: string): boolean {
  return (qPort === '' || qPort === port) && (qProto === '' || qProto === proto);
}

/** The address a reverse name stands for (canonical text), or '' when it is not a full one. */
export function addressFromReverse(lname: string): string {
  if (lname.endsWith('.in-addr.arpa')) {
    const parts = lname.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) < 256)) return '';
    return parts.reverse().join('.');
  }
  if (lname.endsWith('.ip6.arpa')) {
    const nibbles = lname.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return '';
    const hex = nibbles.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return canonicalIPv6(groups.join(':'));
  }
  return '';
}

/** RFC 5952 text of an IPv6 address (as Go's net.IP.String()): lower case, no leading zeros, longest zero run as ::. */
export function canonicalIPv6(addr: string): string {
  let groups: number[];
  const parts = addr.toLowerCase().split('::');
  const parse = (s: string): number[] => {
    if (!s) return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const b = g.split('.').map(Number);
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  if (parts.length === 2) {
    const head = parse(parts[0]!);
    const tail = parse(parts[1]!);
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else groups = parse(parts[0]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
