// certificates.k8s.io/v1 CertificateSigningRequest validation with upstream's field paths and
// wording (pkg/apis/certificates/validation/validation.go, 1.33): the request must be a PEM
// PKCS#10 request with a valid self-signature, signerName is required and well formed, usages
// are known and unique, and status conditions follow the approval rules: Approved and Denied
// exclude each other, Approved/Denied/Failed may only be True and can never be removed,
// Approved/Denied may only be added through the approval subresource, and status.certificate
// only through the status subresource.
//
// Objects are the v1 wire form: spec.request and status.certificate are base64 of PEM text.

import { field, goQuote, goSyntax, type FieldError } from '../errors.ts';
import { register } from './registry.ts';
import { jsonEqual, validateObjectMeta, validateObjectMetaUpdate, type Json } from './meta.ts';
import { DNS1123_LABEL_MAX_LENGTH, DNS1123_SUBDOMAIN_MAX_LENGTH, isDNS1123Label, isDNS1123Subdomain } from './names.ts';
import { checkCertificateChain, checkCertificateRequest } from './x509.ts';

export const LEGACY_UNKNOWN_SIGNER_NAME = 'kubernetes.io/legacy-unknown';

export const VALID_USAGES = [
  'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment',
  'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing',
  'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing',
  'microsoft sgc', 'netscape sgc',
].sort();

const TRUE_ONLY_CONDITIONS = new Set(['Approved', 'Denied', 'Failed']);
const ALL_STATUS_VALUES = ['False', 'True', 'Unknown'];

const arr = (v: unknown): Json[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (v == null ? '' : String(v));

/** The text of a base64 []byte field. */
function bytesText(v: unknown): string {
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('latin1') : '';
}

/** Go's %#v of a []byte, as upstream prints a rejected request. */
function goBytes(v: unknown): unknown {
  if (v == null) return goSyntax('[]byte(nil)');
  const b = Buffer.from(String(v), 'base64');
  return goSyntax(`[]byte{${[...b].map((x) => '0x' + x.toString(16)).join(', ')}}`);
}

/** core's ValidateSignerName: "<domain with at least two labels>/<path of DNS subdomains>". */
export function validateSignerName(fld: string, signerName: string): FieldError[] {
  if (signerName.length === 0) return [field.required(fld, '')];
  const segments = signerName.split('/');
  if (segments.length !== 2) {
    return [field.invalid(fld, signerName, "must be a fully qualified domain and path of the form 'example.com/signer-name'")];
  }
  const [domain, path] = segments as [string, string];
  const errs: FieldError[] = [];
  if (domain.length > DNS1123_SUBDOMAIN_MAX_LENGTH) errs.push(field.tooLong(fld, '', DNS1123_SUBDOMAIN_MAX_LENGTH));
  const domainLabels = domain.split('.');
  for (const lbl of domainLabels) {
    const e = isDNS1123Label(lbl);
    if (e.length) {
      for (const m of e) errs.push(field.invalid(fld, domain, `validating label ${goQuote(lbl)}: ${m}`));
      break;
    }
  }
  if (domainLabels.length < 2) errs.push(field.invalid(fld, domain, 'should be a domain with at least two segments separated by dots'));
  for (const lbl of path.split('.')) {
    const e = isDNS1123Subdomain(lbl);
    if (e.length) {
      for (const m of e) errs.push(field.invalid(fld, path, `validating label ${goQuote(lbl)}: ${m}`));
      break;
    }
  }
  const maxSignerNameLength = DNS1123_SUBDOMAIN_MAX_LENGTH + (DNS1123_SUBDOMAIN_MAX_LENGTH + DNS1123_LABEL_MAX_LENGTH + 1) + 1;
  if (signerName.length > maxSignerNameLength) errs.push(field.tooLong(fld, '', maxSignerNameLength));
  return errs;
}

interface Options {
  allowSettingApprovalConditions?: boolean;
  allowSettingCertificate?: boolean;
  allowBothApprovedAndDenied?: boolean;
  allowLegacySignerName?: boolean;
  allowDuplicateConditionTypes?: boolean;
  allowEmptyConditionType?: boolean;
  allowArbitraryCertificate?: boolean;
  allowUnknownUsages?: boolean;
  allowDuplicateUsages?: boolean;
}

const conditionsOf = (csr: Json): Json[] => arr(csr?.status?.conditions);

function hasDuplicates(xs: string[]): boolean {
  return new Set(xs).size !== xs.length;
}

/** Leniency for problems already present in the stored object (upstream's getValidationOptions). */
function optionsFor(csr: Json, old: Json | undefined): Options {
  if (old == null) return {};
  const oldTypes = conditionsOf(old).map((c) => str(c?.type));
  const usages = arr(old?.spec?.usages).map(str);
  const sameCert = str(csr?.status?.certificate) === str(old?.status?.certificate);
  return {
    allowBothApprovedAndDenied: oldTypes.includes('Approved') && oldTypes.includes('Denied'),
    allowLegacySignerName: old?.spec?.signerName === LEGACY_UNKNOWN_SIGNER_NAME,
    allowDuplicateConditionTypes: hasDuplicates(oldTypes),
    allowEmptyConditionType: oldTypes.includes(''),
    allowArbitraryCertificate: sameCert || checkCertificateChain(bytesText(old?.status?.certificate)) !== undefined,
    allowUnknownUsages: usages.some((u) => !VALID_USAGES.includes(u)),
    allowDuplicateUsages: hasDuplicates(usages),
  };
}

function validateConditions(csr: Json, opts: Options): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  let approved = false;
  let denied = false;
  conditionsOf(csr).forEach((c0, i) => {
    const c = c0 ?? {};
    const p = `status.conditions[${i}]`;
    const type = str(c.type);
    if (!opts.allowEmptyConditionType && type === '') errs.push(field.required(`${p}.type`, ''));
    const allowed = TRUE_ONLY_CONDITIONS.has(type) ? ['True'] : ALL_STATUS_VALUES;
    const status = str(c.status);
    if (status === '') errs.push(field.required(`${p}.status`, ''));
    else if (!allowed.includes(status)) errs.push(field.notSupported(`${p}.status`, status, allowed));
    if (!opts.allowBothApprovedAndDenied) {
      if (type === 'Approved') {
        approved = true;
        if (denied) errs.push(field.invalid(`${p}.type`, type, 'Approved and Denied conditions are mutually exclusive'));
      } else if (type === 'Denied') {
        denied = true;
        if (approved) errs.push(field.invalid(`${p}.type`, type, 'Approved and Denied conditions are mutually exclusive'));
      }
    }
    if (!opts.allowDuplicateConditionTypes) {
      if (seen.has(type)) errs.push(field.duplicate(`${p}.type`, type));
      seen.add(type);
    }
  });
  return errs;
}

function validateCSR(csr: Json, opts: Options): FieldError[] {
  const errs = validateObjectMeta(csr?.metadata, false, () => []);
  const spec = csr?.spec ?? {};
  const requestErr = checkCertificateRequest(bytesText(spec.request));
  if (requestErr) errs.push(field.invalid('spec.request', goBytes(spec.request), requestErr));
  const usages = arr(spec.usages).map(str);
  if (usages.length === 0) errs.push(field.required('spec.usages', ''));
  if (!opts.allowUnknownUsages) {
    usages.forEach((u, i) => {
      if (!VALID_USAGES.includes(u)) errs.push(field.notSupported(`spec.usages[${i}]`, u, VALID_USAGES));
    });
  }
  if (!opts.allowDuplicateUsages) {
    const seen = new Set<string>();
    usages.forEach((u, i) => {
      if (seen.has(u)) errs.push(field.duplicate(`spec.usages[${i}]`, u));
      seen.add(u);
    });
  }
  const signerName = str(spec.signerName);
  if (!opts.allowLegacySignerName && signerName === LEGACY_UNKNOWN_SIGNER_NAME) {
    errs.push(field.invalid('spec.signerName', signerName, 'the legacy signerName is not allowed via this API version'));
  } else {
    errs.push(...validateSignerName('spec.signerName', signerName));
  }
  if (typeof spec.expirationSeconds === 'number' && spec.expirationSeconds < 600) {
    errs.push(field.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  }
  errs.push(...validateConditions(csr, opts));
  if (!opts.allowArbitraryCertificate) {
    const certErr = checkCertificateChain(bytesText(csr?.status?.certificate));
    if (certErr) errs.push(field.invalid('status.certificate', '<certificate data>', certErr));
  }
  return errs;
}

function conditionsOfType(csr: Json, type: string): Json[] {
  return conditionsOf(csr).filter((c) => c?.type === type);
}

function validateCSRUpdate(csr: Json, old: Json, opts: Options): FieldError[] {
  const errs = validateCSR(csr, opts);
  for (const t of ['Approved', 'Denied', 'Failed']) {
    if (conditionsOfType(csr, t).length < conditionsOfType(old, t).length) {
      errs.push(field.forbidden('status.conditions', `updates may not remove a condition of type ${goQuote(t)}`));
    }
  }
  if (!opts.allowSettingApprovalConditions) {
    for (const t of ['Approved', 'Denied']) {
      const oldC = conditionsOfType(old, t);
      const newC = conditionsOfType(csr, t);
      if (newC.length > oldC.length) {
        errs.push(field.forbidden('status.conditions', `updates may not add a condition of type ${goQuote(t)}`));
      } else if (newC.length === oldC.length && !jsonEqual(oldC, newC)) {
        // upstream appends a go-cmp diff of the conditions, which has no stable text to match.
        errs.push(field.forbidden('status.conditions', `updates may not modify a condition of type ${goQuote(t)}\n${diffText(oldC, newC)}`));
      }
    }
  }
  const newCert = str(csr?.status?.certificate);
  const oldCert = str(old?.status?.certificate);
  if (newCert !== oldCert) {
    if (!opts.allowSettingCertificate) errs.push(field.forbidden('status.certificate', 'updates may not set certificate content'));
    else if (oldCert.length > 0) errs.push(field.forbidden('status.certificate', 'updates may not modify existing certificate content'));
  }
  errs.push(...validateObjectMetaUpdate(csr?.metadata, old?.metadata));
  return errs;
}

function diffText(a: unknown, b: unknown): string {
  return `  - ${JSON.stringify(a)}\n  + ${JSON.stringify(b)}\n`;
}

export function validateCertificateSigningRequestCreate(csr: Json): FieldError[] {
  return validateCSR(csr, {});
}

export function validateCertificateSigningRequestUpdate(csr: Json, old: Json): FieldError[] {
  return validateCSRUpdate(csr, old, optionsFor(csr, old));
}

/** The status subresource: the signer may set status.certificate (once). */
export function validateCertificateSigningRequestStatusUpdate(csr: Json, old: Json): FieldError[] {
  return validateCSRUpdate(csr, old, { ...optionsFor(csr, old), allowSettingCertificate: true });
}

/** The approval subresource: Approved/Denied conditions may be added. */
export function validateCertificateSigningRequestApprovalUpdate(csr: Json, old: Json): FieldError[] {
  return validateCSRUpdate(csr, old, { ...optionsFor(csr, old), allowSettingApprovalConditions: true });
}

register('certificates.k8s.io/CertificateSigningRequest', {
  validateCreate: validateCertificateSigningRequestCreate,
  validateUpdate: validateCertificateSigningRequestUpdate,
  validateStatusUpdate: validateCertificateSigningRequestStatusUpdate,
});
