// discovery.k8s.io/v1 EndpointSlice validation with upstream's field paths and wording
// (pkg/apis/discovery/validation/validation.go, 1.33): address types, addresses by type,
// ports, and the limits (1000 endpoints, 100 addresses and ports, 16 topology labels).
//
// Paths use upstream's internal field names: v1's deprecatedTopology is reported as
// "topology". The "IP" address type, deprecated, is only accepted on update of objects that
// already have it (it is immutable, so that means stored objects).

import '../defaults/discovery.ts';
import { field, type FieldError } from '../errors.ts';
import { register } from './registry.ts';
import { entries, validateImmutableField, validateLabels, validateObjectMeta, type Json } from './meta.ts';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue, nameIsDNSSubdomain } from './names.ts';
import { parseIP } from './ipnet.ts';

const SUPPORTED_ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const DEPRECATED_ADDRESS_TYPES = ['IP'];
const SUPPORTED_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
export const MAX_TOPOLOGY_LABELS = 16;
export const MAX_ADDRESSES = 100;
export const MAX_PORTS = 100;
export const MAX_ENDPOINTS = 1000;
export const MAX_ZONE_HINTS = 8;

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v == null ? '' : String(v));

const IP_MESSAGE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

/**
 * core's check that an endpoint IP is usable: not unspecified, loopback or link-local
 * (unicast or multicast), as Go's net.IP predicates define them.
 */
export function validateEndpointIP(address: string, fld: string): FieldError[] {
  const ip = parseIP(address);
  if (!ip) return [field.invalid(fld, address, 'must be a valid IP address')];
  const errs: FieldError[] = [];
  const v = ip.addr;
  const v4 = ip.bits === 32;
  if (v === 0n) errs.push(field.invalid(fld, address, `may not be unspecified (${address})`));
  if (v4 ? v >> 24n === 127n : v === 1n) errs.push(field.invalid(fld, address, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if (v4 ? v >> 16n === 0xa9fen : v >> 118n === 0x3fan) {
    errs.push(field.invalid(fld, address, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  }
  if (v4 ? v >> 8n === 0xe00000n : v >> 120n === 0xffn && ((v >> 112n) & 0x0fn) === 2n) {
    errs.push(field.invalid(fld, address, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  }
  return errs;
}

/** apimachinery's IsFullyQualifiedDomainName. */
export function isFullyQualifiedDomainName(fld: string, name0: string): FieldError[] {
  if (name0.length === 0) return [field.required(fld, '')];
  const name = name0.endsWith('.') ? name0.slice(0, -1) : name0;
  const sub = isDNS1123Subdomain(name);
  if (sub.length) return [field.invalid(fld, name, sub.join(','))];
  const labels = name.split('.');
  if (labels.length < 2) return [field.invalid(fld, name, 'should be a domain with at least two segments separated by dots')];
  for (const l of labels) {
    const e = isDNS1123Label(l);
    if (e.length) return [field.invalid(fld, l, e.join(','))];
  }
  return [];
}

function validateAddress(address: string, addressType: string, fld: string): FieldError[] {
  switch (addressType) {
    case 'IP':
      return parseIP(address) ? [] : [field.invalid(fld, address, IP_MESSAGE)];
    case 'IPv4':
    case 'IPv6': {
      const ip = parseIP(address);
      if (!ip) return [field.invalid(fld, address, IP_MESSAGE)];
      const errs: FieldError[] = [];
      if (addressType === 'IPv4' && ip.bits !== 32) errs.push(field.invalid(fld, address, 'must be an IPv4 address'));
      if (addressType === 'IPv6' && ip.bits !== 128) errs.push(field.invalid(fld, address, 'must be an IPv6 address'));
      errs.push(...validateEndpointIP(address, fld));
      return errs;
    }
    case 'FQDN':
      return isFullyQualifiedDomainName(fld, address);
    default:
      // Unknown types are reported by the address type check.
      return [];
  }
}

function validateHints(hints: Json, fld: string): FieldError[] {
  const errs: FieldError[] = [];
  const zones = arr(hints?.forZones);
  if (zones.length > MAX_ZONE_HINTS) return [field.tooMany(`${fld}.forZones`, zones.length, MAX_ZONE_HINTS)];
  const seen = new Set<string>();
  zones.forEach((z, i) => {
    const p = `${fld}.forZones[${i}].name`;
    const name = str(z?.name);
    if (seen.has(name)) errs.push(field.duplicate(p, name));
    else seen.add(name);
    for (const m of isValidLabelValue(name)) errs.push(field.invalid(p, name, m));
  });
  return errs;
}

function validateEndpoints(endpoints: Json[], addressType: string, fld: string): FieldError[] {
  if (endpoints.length > MAX_ENDPOINTS) return [field.tooMany(fld, endpoints.length, MAX_ENDPOINTS)];
  const errs: FieldError[] = [];
  endpoints.forEach((ep0, i) => {
    const ep = ep0 ?? {};
    const p = `${fld}[${i}]`;
    const addresses = arr(ep.addresses);
    if (addresses.length === 0) errs.push(field.required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addresses.length > MAX_ADDRESSES) errs.push(field.tooMany(`${p}.addresses`, addresses.length, MAX_ADDRESSES));
    addresses.forEach((a, j) => errs.push(...validateAddress(str(a), addressType, `${p}.addresses[${j}]`)));
    const topology = entries(ep.deprecatedTopology);
    if (topology.length > MAX_TOPOLOGY_LABELS) errs.push(field.tooMany(`${p}.topology`, topology.length, MAX_TOPOLOGY_LABELS));
    errs.push(...validateLabels(ep.deprecatedTopology, `${p}.topology`));
    if (ep.hostname != null) for (const m of isDNS1123Label(str(ep.hostname))) errs.push(field.invalid(`${p}.hostname`, str(ep.hostname), m));
    if (ep.nodeName != null) for (const m of nameIsDNSSubdomain(str(ep.nodeName), false)) errs.push(field.invalid(`${p}.nodeName`, str(ep.nodeName), m));
    if (ep.hints != null) errs.push(...validateHints(ep.hints, `${p}.hints`));
  });
  return errs;
}

function validatePorts(ports: Json[], fld: string): FieldError[] {
  if (ports.length > MAX_PORTS) return [field.tooMany(fld, ports.length, MAX_PORTS)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port0, i) => {
    const port = port0 ?? {};
    const p = `${fld}[${i}]`;
    const name = str(port.name);
    if (name.length > 0) for (const m of isDNS1123Label(name)) errs.push(field.invalid(`${p}.name`, name, m));
    if (names.has(name)) errs.push(field.duplicate(`${p}.name`, name));
    else names.add(name);
    if (port.protocol == null) errs.push(field.required(`${p}.protocol`, ''));
    else if (!SUPPORTED_PROTOCOLS.includes(port.protocol)) errs.push(field.notSupported(`${p}.protocol`, str(port.protocol), SUPPORTED_PROTOCOLS));
    if (port.appProtocol != null) {
      for (const m of isQualifiedName(str(port.appProtocol))) errs.push(field.invalid(`${p}.appProtocol`, str(port.appProtocol), m));
    }
  });
  return errs;
}

function validateEndpointSlice(slice: Json, validTypes: string[]): FieldError[] {
  const errs = validateObjectMeta(slice?.metadata, true, nameIsDNSSubdomain);
  const addressType = str(slice?.addressType);
  if (addressType === '') errs.push(field.required('addressType', ''));
  else if (!validTypes.includes(addressType)) errs.push(field.notSupported('addressType', addressType, validTypes));
  errs.push(...validateEndpoints(arr(slice?.endpoints), addressType, 'endpoints'));
  errs.push(...validatePorts(arr(slice?.ports), 'ports'));
  return errs;
}

export function validateEndpointSliceCreate(slice: Json): FieldError[] {
  return validateEndpointSlice(slice, SUPPORTED_ADDRESS_TYPES);
}

export function validateEndpointSliceUpdate(slice: Json, old: Json): FieldError[] {
  const errs = validateEndpointSlice(slice, [...SUPPORTED_ADDRESS_TYPES, ...DEPRECATED_ADDRESS_TYPES].sort());
  errs.push(...validateImmutableField(str(slice?.addressType), str(old?.addressType), 'addressType'));
  return errs;
}

register('discovery.k8s.io/EndpointSlice', { validateCreate: validateEndpointSliceCreate, validateUpdate: validateEndpointSliceUpdate });
