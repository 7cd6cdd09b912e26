import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import './certificates.ts';
import { validateCertificateSigningRequestApprovalUpdate, validateSignerName } from './certificates.ts';
import { checkCertificateRequest, checkCertificateChain } from './x509.ts';
import { validateCreate, validateUpdate, validateStatusUpdate } from './index.ts';
import { fieldErrorString } from '../errors.ts';

type Obj = Record<string, any>;
const GVK = { group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

let ecRequest = '';
let rsaRequest = '';
let certificate = '';

before(async () => {
  // @peculiar/x509 (used here only to make test requests) needs the Reflect metadata API first.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const ecAlg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const ecKeys = await webcrypto.subtle.generateKey(ecAlg, true, ['sign', 'verify']);
  ecRequest = (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=system:node:n1,O=system:nodes', keys: ecKeys, signingAlgorithm: ecAlg })).toString('pem');
  const rsaAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 1024 };
  const rsaKeys = await webcrypto.subtle.generateKey(rsaAlg, true, ['sign', 'verify']);
  rsaRequest = (await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=alice', keys: rsaKeys, signingAlgorithm: rsaAlg })).toString('pem');
  certificate = (
    await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=ca', keys: ecKeys, signingAlgorithm: ecAlg, notBefore: new Date(), notAfter: new Date(Date.now() + 86400000) })
  ).toString('pem');
});

function csr(over: Obj = {}): Obj {
  return {
    metadata: { name: 'node-csr', resourceVersion: '1' },
    spec: { request: b64(ecRequest), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth'], ...over },
  };
}
const create = (o: Obj) => validateCreate(GVK, o).map(fieldErrorString);

test('PKCS#10 requests are parsed and their self-signature checked, with Go error texts', () => {
  assert.equal(checkCertificateRequest(ecRequest), undefined);
  assert.equal(checkCertificateRequest(rsaRequest), undefined);
  assert.equal(checkCertificateRequest('not pem'), 'PEM block type must be CERTIFICATE REQUEST');
  assert.equal(checkCertificateRequest(certificate), 'PEM block type must be CERTIFICATE REQUEST');
  assert.equal(checkCertificateRequest('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'), 'x509: malformed certificate request');
  // Flip one byte of the signature (the last bytes of the DER) and the signature no longer verifies.
  const der = Buffer.from(ecRequest.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der[der.length - 5] ^= 0xff;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(checkCertificateRequest(tampered), 'x509: ECDSA verification failure');
});

test('a valid CSR passes', () => {
  assert.deepEqual(create(csr()), []);
  assert.deepEqual(create(csr({ request: b64(rsaRequest), signerName: 'example.com/my-signer', expirationSeconds: 3600 })), []);
});

test('request, signerName, usages and expiration errors', () => {
  const bad = create(csr({ request: b64('nope') }));
  assert.deepEqual(bad, ['spec.request: Invalid value: []byte{0x6e, 0x6f, 0x70, 0x65}: PEM block type must be CERTIFICATE REQUEST']);
  assert.deepEqual(create(csr({ signerName: '' })), ['spec.signerName: Required value']);
  assert.deepEqual(create(csr({ signerName: 'kubernetes.io/legacy-unknown' })), ['spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version']);
  assert.deepEqual(create(csr({ signerName: 'example' })), ["spec.signerName: Invalid value: \"example\": must be a fully qualified domain and path of the form 'example.com/signer-name'"]);
  assert.deepEqual(create(csr({ signerName: 'example/signer' })), ['spec.signerName: Invalid value: "example": should be a domain with at least two segments separated by dots']);
  assert.deepEqual(create(csr({ usages: [] })), ['spec.usages: Required value']);
  assert.deepEqual(create(csr({ usages: ['client auth', 'client auth'] })), ['spec.usages[1]: Duplicate value: "client auth"']);
  const unknown = create(csr({ usages: ['flying'] }));
  assert.equal(unknown.length, 1);
  assert.match(unknown[0]!, /^spec\.usages\[0\]: Unsupported value: "flying": supported values: "any", "cert sign", "client auth", /);
  assert.deepEqual(create(csr({ expirationSeconds: 60 })), ['spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)']);
  assert.equal(validateSignerName('f', 'Example.com/x')[0]!.detail!.startsWith('validating label "Example": a lowercase RFC 1123 label must consist of'), true);
});

const cond = (type: string, status = 'True', extra: Obj = {}) => ({ type, status, reason: 'R', message: 'm', ...extra });
const withConditions = (conditions: Obj[], certificate?: string) => ({ ...csr(), status: { conditions, ...(certificate ? { certificate } : {}) } });

test('condition rules: Approved and Denied exclusive, True-only types, duplicates', () => {
  const approval = (conds: Obj[]) => validateCertificateSigningRequestApprovalUpdate(withConditions(conds), csr()).map(fieldErrorString);
  assert.deepEqual(approval([cond('Approved')]), []);
  assert.deepEqual(approval([cond('Approved'), cond('Denied')]), ['status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive']);
  assert.deepEqual(approval([cond('Approved', 'False')]), ['status.conditions[0].status: Unsupported value: "False": supported values: "True"']);
  assert.deepEqual(approval([cond('Approved'), cond('Approved')]), ['status.conditions[1].type: Duplicate value: "Approved"']);
  assert.deepEqual(approval([cond('Custom', '')]), ['status.conditions[0].status: Required value']);
  assert.deepEqual(approval([cond('Custom', 'Maybe')]), ['status.conditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"']);
});

test('approval conditions change only through the approval subresource and are never removed', () => {
  const approved = withConditions([cond('Approved')]);
  assert.deepEqual(validateUpdate(GVK, approved, csr()).map(fieldErrorString), ['status.conditions: Forbidden: updates may not add a condition of type "Approved"']);
  assert.deepEqual(validateStatusUpdate(GVK, approved, csr()).map(fieldErrorString), ['status.conditions: Forbidden: updates may not add a condition of type "Approved"']);
  assert.deepEqual(validateCertificateSigningRequestApprovalUpdate(csr(), approved).map(fieldErrorString), ['status.conditions: Forbidden: updates may not remove a condition of type "Approved"']);
  const modified = validateStatusUpdate(GVK, withConditions([cond('Approved', 'True', { reason: 'Other' })]), approved).map(fieldErrorString);
  assert.equal(modified.length, 1);
  assert.ok(modified[0]!.startsWith('status.conditions: Forbidden: updates may not modify a condition of type "Approved"\n'));
  // Failed may be added through status, like other signer conditions.
  assert.deepEqual(validateStatusUpdate(GVK, withConditions([cond('Approved'), cond('Failed')]), approved).map(fieldErrorString), []);
});

test('status.certificate is set once, through the status subresource, and must be PEM certificates', () => {
  const approved = withConditions([cond('Approved')]);
  const issued = withConditions([cond('Approved')], b64(certificate));
  assert.deepEqual(validateStatusUpdate(GVK, issued, approved).map(fieldErrorString), []);
  assert.deepEqual(validateUpdate(GVK, issued, approved).map(fieldErrorString), ['status.certificate: Forbidden: updates may not set certificate content']);
  const reissued = withConditions([cond('Approved')], b64(certificate + '\n' + certificate));
  assert.deepEqual(validateStatusUpdate(GVK, reissued, issued).map(fieldErrorString), ['status.certificate: Forbidden: updates may not modify existing certificate content']);
  assert.deepEqual(validateStatusUpdate(GVK, withConditions([cond('Approved')], b64('junk')), approved).map(fieldErrorString), [
    'status.certificate: Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block',
  ]);
  assert.equal(checkCertificateChain(ecRequest), 'only CERTIFICATE PEM blocks are allowed, found "CERTIFICATE REQUEST"');
  assert.equal(checkCertificateChain(certificate.replace('-----BEGIN CERTIFICATE-----\n', '-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n')), 'no PEM block headers are permitted');
});
