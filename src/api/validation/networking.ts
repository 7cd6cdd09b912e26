// networking.k8s.io/v1 validation with upstream's field paths and wording
// (pkg/apis/networking/validation/validation.go, 1.33): Ingress (rules, paths and path types,
// backends, TLS, the ingress-class annotation), IngressClass, NetworkPolicy (ports, peers,
// ipBlock CIDRs and their exceptions, policyTypes).
//
// IPs and CIDRs are checked as 1.33 does with StrictIPCIDRValidation off: sloppy parsing (IPv4
// leading zeros accepted), and values already stored stay valid on update.

import '../defaults/networking.ts';
import { field, goQuote, goSyntax, type FieldError } from '../errors.ts';
import { register } from './registry.ts';
import { netContains, parseCIDR } from './ipnet.ts';
import {
  validateImmutableField, validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate, type Json,
  type LabelSelectorOptions,
} from './meta.ts';
import {
  isDNS1123Subdomain, isValidPortName, isValidPortNum, isWildcardDNS1123Subdomain, nameIsDNS1035Label, nameIsDNSSubdomain,
  regexError, validateNamespaceName, validatePathSegmentName, isIP,
} from './names.ts';

const G = 'networking.k8s.io';
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v == null ? '' : String(v));

// ---------------------------------------------------------------------------------------------
// CIDRs

const CIDR_MESSAGE = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

/** core's IsValidCIDRForLegacyField with strict validation off; `existing` values are always accepted. */
function validateLegacyCIDR(value: string, fld: string, existing: readonly string[]): FieldError[] {
  if (existing.includes(value)) return [];
  return parseCIDR(value) ? [] : [field.invalid(fld, value, CIDR_MESSAGE)];
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy

export interface NetworkPolicyOptions {
  allowInvalidLabelValueInSelector?: boolean;
  /** CIDRs present in the stored object: they are not re-validated (1.33's IP/CIDR transition). */
  allowCIDRsEvenIfInvalid?: readonly string[];
}

const NP_PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

export function validateNetworkPolicyPort(port: Json, fld: string): FieldError[] {
  const p = port ?? {};
  const errs: FieldError[] = [];
  if (p.protocol != null && !NP_PROTOCOLS.includes(p.protocol)) errs.push(field.notSupported(`${fld}.protocol`, str(p.protocol), NP_PROTOCOLS));
  if (p.port != null) {
    if (typeof p.port === 'number') {
      for (const m of isValidPortNum(p.port)) errs.push(field.invalid(`${fld}.port`, p.port, m));
      if (p.endPort != null) {
        if (p.endPort < p.port) errs.push(field.invalid(`${fld}.endPort`, p.endPort, 'must be greater than or equal to `port`'));
        for (const m of isValidPortNum(p.endPort)) errs.push(field.invalid(`${fld}.endPort`, p.endPort, m));
      }
    } else {
      if (p.endPort != null) errs.push(field.invalid(`${fld}.endPort`, p.endPort, 'may not be specified when `port` is non-numeric'));
      for (const m of isValidPortName(str(p.port))) errs.push(field.invalid(`${fld}.port`, str(p.port), m));
    }
  } else if (p.endPort != null) {
    errs.push(field.invalid(`${fld}.endPort`, p.endPort, 'may not be specified when `port` is not specified'));
  }
  return errs;
}

export function validateIPBlock(ipb: Json, fld: string, opts: NetworkPolicyOptions): FieldError[] {
  const existing = opts.allowCIDRsEvenIfInvalid ?? [];
  const cidr = str(ipb?.cidr);
  if (cidr === '') return [field.required(`${fld}.cidr`, '')];
  const errs = validateLegacyCIDR(cidr, `${fld}.cidr`, existing);
  const net = parseCIDR(cidr);
  if (!net) return errs;
  arr(ipb?.except).forEach((ex, i) => {
    const p = `${fld}.except[${i}]`;
    const exText = str(ex);
    errs.push(...validateLegacyCIDR(exText, p, existing));
    const exNet = parseCIDR(exText);
    if (!exNet) return;
    if (!netContains(net, exNet) || net.prefix >= exNet.prefix) errs.push(field.invalid(p, exText, 'must be a strict subset of `cidr`'));
  });
  return errs;
}

export function validateNetworkPolicyPeer(peer: Json, opts: NetworkPolicyOptions, fld: string): FieldError[] {
  const p = peer ?? {};
  const selOpts: LabelSelectorOptions = { allowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector };
  const errs: FieldError[] = [];
  let n = 0;
  if (p.podSelector != null) {
    n++;
    errs.push(...validateLabelSelector(p.podSelector, selOpts, `${fld}.podSelector`));
  }
  if (p.namespaceSelector != null) {
    n++;
    errs.push(...validateLabelSelector(p.namespaceSelector, selOpts, `${fld}.namespaceSelector`));
  }
  if (p.ipBlock != null) {
    n++;
    errs.push(...validateIPBlock(p.ipBlock, `${fld}.ipBlock`, opts));
  }
  if (n === 0) errs.push(field.required(fld, 'must specify a peer'));
  else if (n > 1 && p.ipBlock != null) errs.push(field.forbidden(fld, 'may not specify both ipBlock and another peer'));
  return errs;
}

const POLICY_TYPES = ['Ingress', 'Egress'];

export function validateNetworkPolicySpec(spec: Json, opts: NetworkPolicyOptions, fld: string): FieldError[] {
  const s = spec ?? {};
  const errs = validateLabelSelector(s.podSelector ?? {}, { allowInvalidLabelValueInSelector: opts.allowInvalidLabelValueInSelector }, `${fld}.podSelector`);
  for (const [dir, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
    arr(s[dir]).forEach((rule, i) => {
      const rp = `${fld}.${dir}[${i}]`;
      arr(rule?.ports).forEach((port, j) => errs.push(...validateNetworkPolicyPort(port, `${rp}.ports[${j}]`)));
      arr(rule?.[peers]).forEach((peer, j) => errs.push(...validateNetworkPolicyPeer(peer, opts, `${rp}.${peers}[${j}]`)));
    });
  }
  const types = arr(s.policyTypes);
  if (types.length > POLICY_TYPES.length) {
    errs.push(field.invalid(`${fld}.policyTypes`, goSyntax(`[]networking.PolicyType{${types.map((t) => goQuote(str(t))).join(', ')}}`), 'may not specify more than two policyTypes'));
    return errs;
  }
  types.forEach((t, i) => {
    if (!POLICY_TYPES.includes(t)) errs.push(field.notSupported(`${fld}.policyTypes[${i}]`, str(t), POLICY_TYPES));
  });
  return errs;
}

export function validateNetworkPolicy(np: Json): FieldError[] {
  return [...validateObjectMeta(np?.metadata, true, nameIsDNSSubdomain), ...validateNetworkPolicySpec(np?.spec, {}, 'spec')];
}

function existingCIDRs(np: Json): string[] {
  const out: string[] = [];
  for (const [dir, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
    for (const rule of arr(np?.spec?.[dir])) {
      for (const peer of arr(rule?.[peers])) {
        if (peer?.ipBlock) out.push(str(peer.ipBlock.cidr), ...arr(peer.ipBlock.except).map(str));
      }
    }
  }
  return out;
}

export function validateNetworkPolicyUpdate(np: Json, old: Json): FieldError[] {
  const opts: NetworkPolicyOptions = {
    allowInvalidLabelValueInSelector: validateLabelSelector(old?.spec?.podSelector ?? {}, {}, 'p').length > 0,
    allowCIDRsEvenIfInvalid: existingCIDRs(old),
  };
  return [...validateObjectMetaUpdate(np?.metadata, old?.metadata), ...validateNetworkPolicySpec(np?.spec, opts, 'spec')];
}

// ---------------------------------------------------------------------------------------------
// Ingress

const ANNOTATION_INGRESS_CLASS = 'kubernetes.io/ingress.class';
const SUPPORTED_PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

interface IngressOptions {
  allowInvalidSecretName?: boolean;
  allowInvalidWildcardHostRule?: boolean;
}

function validateTypedLocalObjectReference(ref: Json, fld: string): FieldError[] {
  if (ref == null) return [];
  const errs: FieldError[] = [];
  if (ref.apiGroup != null) for (const m of isDNS1123Subdomain(str(ref.apiGroup))) errs.push(field.invalid(`${fld}.apiGroup`, str(ref.apiGroup), m));
  for (const key of ['kind', 'name'] as const) {
    const v = str(ref[key]);
    if (v === '') errs.push(field.required(`${fld}.${key}`, ''));
    else for (const m of validatePathSegmentName(v, false)) errs.push(field.invalid(`${fld}.${key}`, v, m));
  }
  return errs;
}

export function validateIngressBackend(backend: Json, fld: string): FieldError[] {
  const b = backend ?? {};
  const errs: FieldError[] = [];
  const hasResource = b.resource != null;
  const hasService = b.service != null;
  if (hasResource && hasService) return [field.invalid(fld, '', 'cannot set both resource and service backends')];
  if (hasResource) return validateTypedLocalObjectReference(b.resource, `${fld}.resource`);
  if (!hasService) return [field.invalid(fld, '', 'resource or service backend is required')];
  const svc = b.service ?? {};
  const name = str(svc.name);
  if (name === '') errs.push(field.required(`${fld}.service.name`, ''));
  else for (const m of nameIsDNS1035Label(name, false)) errs.push(field.invalid(`${fld}.service.name`, name, m));
  const portName = str(svc.port?.name);
  const portNumber = typeof svc.port?.number === 'number' ? svc.port.number : 0;
  if (portName && portNumber) errs.push(field.invalid(fld, '', 'cannot set both port name & port number'));
  else if (portName) for (const m of isValidPortName(portName)) errs.push(field.invalid(`${fld}.service.port.name`, portName, m));
  else if (portNumber) for (const m of isValidPortNum(portNumber)) errs.push(field.invalid(`${fld}.service.port.number`, portNumber, m));
  else errs.push(field.required(fld, 'port name or number is required'));
  return errs;
}

function validateHTTPIngressPath(path: Json, fld: string): FieldError[] {
  const p = path ?? {};
  if (p.pathType == null) return [field.required(`${fld}.pathType`, 'pathType must be specified')];
  const errs: FieldError[] = [];
  const text = str(p.path);
  switch (p.pathType) {
    case 'Exact':
    case 'Prefix':
      if (!text.startsWith('/')) errs.push(field.invalid(`${fld}.path`, text, 'must be an absolute path'));
      if (text.length > 0) {
        for (const seq of INVALID_PATH_SEQUENCES) if (text.includes(seq)) errs.push(field.invalid(`${fld}.path`, text, `must not contain '${seq}'`));
        for (const suf of INVALID_PATH_SUFFIXES) if (text.endsWith(suf)) errs.push(field.invalid(`${fld}.path`, text, `cannot end with '${suf}'`));
      }
      break;
    case 'ImplementationSpecific':
      if (text.length > 0 && !text.startsWith('/')) errs.push(field.invalid(`${fld}.path`, text, 'must be an absolute path'));
      break;
    default:
      errs.push(field.notSupported(`${fld}.pathType`, str(p.pathType), SUPPORTED_PATH_TYPES));
  }
  errs.push(...validateIngressBackend(p.backend, `${fld}.backend`));
  return errs;
}

function validateIngressRuleValue(rule: Json, fld: string): FieldError[] {
  if (rule?.http == null) return [];
  const paths = arr(rule.http.paths);
  const errs: FieldError[] = [];
  if (paths.length === 0) errs.push(field.required(`${fld}.http.paths`, ''));
  paths.forEach((p, i) => errs.push(...validateHTTPIngressPath(p, `${fld}.http.paths[${i}]`)));
  return errs;
}

function validateIngressRules(rules: Json[], fld: string, opts: IngressOptions): FieldError[] {
  const errs: FieldError[] = [];
  rules.forEach((rule, i) => {
    const p = `${fld}[${i}]`;
    const host = str(rule?.host);
    let wildcard = false;
    if (host.length > 0) {
      if (isIP(host)) errs.push(field.invalid(`${p}.host`, host, 'must be a DNS name, not an IP address'));
      if (host.includes('*')) {
        for (const m of isWildcardDNS1123Subdomain(host)) errs.push(field.invalid(`${p}.host`, host, m));
        wildcard = true;
      } else {
        for (const m of isDNS1123Subdomain(host)) errs.push(field.invalid(`${p}.host`, host, m));
      }
    }
    if (!wildcard || !opts.allowInvalidWildcardHostRule) errs.push(...validateIngressRuleValue(rule, p));
  });
  return errs;
}

function validateTLSSecretName(name: string): string[] {
  return name.length === 0 ? [] : nameIsDNSSubdomain(name, false);
}

function validateIngressTLS(tls: Json[], fld: string, opts: IngressOptions): FieldError[] {
  const errs: FieldError[] = [];
  tls.forEach((t, i) => {
    arr(t?.hosts).forEach((h0, j) => {
      const h = str(h0);
      const p = `${fld}[${i}].hosts[${j}]`;
      const msgs = h.includes('*') ? isWildcardDNS1123Subdomain(h) : isDNS1123Subdomain(h);
      for (const m of msgs) errs.push(field.invalid(p, h, m));
    });
    if (!opts.allowInvalidSecretName) {
      for (const m of validateTLSSecretName(str(t?.secretName))) errs.push(field.invalid(`${fld}[${i}].secretName`, str(t?.secretName), m));
    }
  });
  return errs;
}

export function validateIngressSpec(spec: Json, fld: string, opts: IngressOptions = {}): FieldError[] {
  const s = spec ?? {};
  const errs: FieldError[] = [];
  const rules = arr(s.rules);
  if (rules.length === 0 && s.defaultBackend == null) {
    const rulesGo = s.rules == null ? '[]networking.IngressRule(nil)' : '[]networking.IngressRule{}';
    errs.push(field.invalid(fld, goSyntax(rulesGo), 'either `defaultBackend` or `rules` must be specified'));
  }
  if (s.defaultBackend != null) errs.push(...validateIngressBackend(s.defaultBackend, `${fld}.defaultBackend`));
  if (rules.length > 0) errs.push(...validateIngressRules(rules, `${fld}.rules`, opts));
  if (arr(s.tls).length > 0) errs.push(...validateIngressTLS(arr(s.tls), `${fld}.tls`, opts));
  if (s.ingressClassName != null) {
    for (const m of nameIsDNSSubdomain(str(s.ingressClassName), false)) errs.push(field.invalid(`${fld}.ingressClassName`, str(s.ingressClassName), m));
  }
  return errs;
}

function validateIngress(ing: Json, opts: IngressOptions): FieldError[] {
  return [...validateObjectMeta(ing?.metadata, true, nameIsDNSSubdomain), ...validateIngressSpec(ing?.spec, 'spec', opts)];
}

export function validateIngressCreate(ing: Json): FieldError[] {
  const errs = validateIngress(ing, {});
  const annotations = ing?.metadata?.annotations ?? {};
  const className = ing?.spec?.ingressClassName;
  if (Object.hasOwn(annotations, ANNOTATION_INGRESS_CLASS) && className != null && annotations[ANNOTATION_INGRESS_CLASS] !== className) {
    errs.push(field.invalid(`annotations.${ANNOTATION_INGRESS_CLASS}`, str(annotations[ANNOTATION_INGRESS_CLASS]), 'must match `ingressClassName` when both are specified'));
  }
  return errs;
}

export function validateIngressUpdate(ing: Json, old: Json): FieldError[] {
  // Stored objects that predate stricter checks stay updatable.
  const opts: IngressOptions = {
    allowInvalidSecretName: arr(old?.spec?.tls).some((t) => validateTLSSecretName(str(t?.secretName)).length > 0),
    allowInvalidWildcardHostRule: arr(old?.spec?.rules).some((r) => str(r?.host).includes('*') && validateIngressRuleValue(r, 'r').length > 0),
  };
  return [...validateObjectMetaUpdate(ing?.metadata, old?.metadata), ...validateIngress(ing, opts)];
}

export function validateIngressStatusUpdate(ing: Json, old: Json): FieldError[] {
  const errs = validateObjectMetaUpdate(ing?.metadata, old?.metadata);
  const existingIPs = arr(old?.status?.loadBalancer?.ingress).map((i) => str(i?.ip)).filter(Boolean);
  arr(ing?.status?.loadBalancer?.ingress).forEach((lb, i) => {
    const p = `status.loadBalancer.ingress[${i}]`;
    const ip = str(lb?.ip);
    if (ip && !existingIPs.includes(ip) && !isIP(ip)) {
      errs.push(field.invalid(`${p}.ip`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    }
    const hostname = str(lb?.hostname);
    if (hostname) {
      for (const m of isDNS1123Subdomain(hostname)) errs.push(field.invalid(`${p}.hostname`, hostname, m));
      if (isIP(hostname)) errs.push(field.invalid(`${p}.hostname`, hostname, 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// IngressClass

const MAX_LEN_INGRESS_CLASS_CONTROLLER = 250;
const PARAMETER_SCOPES = ['Cluster', 'Namespace'];
const HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const HTTP_PATH_RE = new RegExp(`^${HTTP_PATH_FMT}$`);

/** apimachinery's IsDomainPrefixedPath: "example.com/path". */
export function isDomainPrefixedPath(fld: string, value: string): FieldError[] {
  if (value.length === 0) return [field.required(fld, '')];
  const slash = value.indexOf('/');
  if (slash <= 0 || slash === value.length - 1) return [field.invalid(fld, value, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const host = value.slice(0, slash);
  const path = value.slice(slash + 1);
  const errs = isDNS1123Subdomain(host).map((m) => field.invalid(fld, host, m));
  if (!HTTP_PATH_RE.test(path)) errs.push(field.invalid(fld, path, regexError('Invalid path', HTTP_PATH_FMT)));
  return errs;
}

function validateIngressClassParameters(params: Json, fld: string): FieldError[] {
  if (params == null) return [];
  const errs: FieldError[] = [];
  if (params.apiGroup != null) for (const m of isDNS1123Subdomain(str(params.apiGroup))) errs.push(field.invalid(`${fld}.apiGroup`, str(params.apiGroup), m));
  for (const key of ['kind', 'name'] as const) {
    const v = str(params[key]);
    if (v === '') errs.push(field.required(`${fld}.${key}`, ''));
    else for (const m of validatePathSegmentName(v, false)) errs.push(field.invalid(`${fld}.${key}`, v, m));
  }
  if (params.scope == null) {
    errs.push(field.required(`${fld}.scope`, ''));
    return errs;
  }
  const scope = str(params.scope);
  if (!PARAMETER_SCOPES.includes(scope)) {
    errs.push(field.notSupported(`${fld}.scope`, scope, PARAMETER_SCOPES));
    return errs;
  }
  if (scope === 'Namespace') {
    if (params.namespace == null) errs.push(field.required(`${fld}.namespace`, "`parameters.scope` is set to 'Namespace'"));
    else for (const m of validateNamespaceName(str(params.namespace), false)) errs.push(field.invalid(`${fld}.namespace`, str(params.namespace), m));
  }
  if (scope === 'Cluster' && params.namespace != null) errs.push(field.forbidden(`${fld}.namespace`, "`parameters.scope` is set to 'Cluster'"));
  return errs;
}

export function validateIngressClass(ic: Json): FieldError[] {
  const errs = validateObjectMeta(ic?.metadata, false, nameIsDNSSubdomain);
  const controller = str(ic?.spec?.controller);
  if (controller.length === 0) errs.push(field.required('spec.controller', ''));
  else {
    if (controller.length > MAX_LEN_INGRESS_CLASS_CONTROLLER) errs.push(field.tooLong('spec.controller', '', MAX_LEN_INGRESS_CLASS_CONTROLLER));
    errs.push(...isDomainPrefixedPath('spec.controller', controller));
  }
  errs.push(...validateIngressClassParameters(ic?.spec?.parameters, 'spec.parameters'));
  return errs;
}

export function validateIngressClassUpdate(ic: Json, old: Json): FieldError[] {
  return [
    ...validateObjectMetaUpdate(ic?.metadata, old?.metadata),
    ...validateImmutableField(str(ic?.spec?.controller), str(old?.spec?.controller), 'spec.controller'),
    ...validateIngressClass(ic),
  ];
}

// ---------------------------------------------------------------------------------------------

register(`${G}/Ingress`, { validateCreate: validateIngressCreate, validateUpdate: validateIngressUpdate, validateStatusUpdate: validateIngressStatusUpdate });
register(`${G}/IngressClass`, { validateCreate: validateIngressClass, validateUpdate: validateIngressClassUpdate });
register(`${G}/NetworkPolicy`, { validateCreate: validateNetworkPolicy, validateUpdate: validateNetworkPolicyUpdate });
