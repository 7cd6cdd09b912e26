// The agent's key material: ECDSA P-256 keys (as upstream's kubelet makes for its certificates),
// PKCS#10 requests for a node's client and serving certificates, and reading what a certificate
// says (names, validity) with node:crypto. @peculiar/x509 is loaded only when a request is made.
import { X509Certificate, createHash, createPrivateKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

type X509Module = typeof import('@peculiar/x509');
let x509mod: Promise<X509Module> | undefined;
function x509(): Promise<X509Module> {
  // @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
  x509mod ??= import('reflect-metadata').then(() => import('@peculiar/x509')).then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Parameters<typeof m.cryptoProvider.set>[0]);
    return m;
  });
  return x509mod;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyAndRequest {
  /** PKCS#8 PEM private key. */
  keyPem: string;
  /** PKCS#10 PEM request. */
  csrPem: string;
}

export interface Subject {
  commonName: string;
  organizations?: string[];
  /** Serving certificates: DNS names and IP addresses (told apart by form). */
  names?: string[];
}

function escapeDn(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1');
}

/** A fresh key and a request for `subject` signed with it. */
export async function newKeyAndRequest(subject: Subject): Promise<KeyAndRequest> {
  const m = await x509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions: InstanceType<X509Module['Extension']>[] = [];
  const names = [...new Set(subject.names ?? [])];
  if (names.length) {
    extensions.push(new m.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))));
  }
  const dn = [...(subject.organizations ?? []).map((o) => `O=${escapeDn(o)}`), `CN=${escapeDn(subject.commonName)}`].join(', ');
  const req = await m.Pkcs10CertificateRequestGenerator.create({ name: dn, keys, signingAlgorithm: ALG, extensions });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  return { keyPem, csrPem: req.toString('pem') + '\n' };
}

export interface CertInfo {
  commonName: string;
  organizations: string[];
  notBefore: number;
  notAfter: number;
  /** DNS names and IP addresses. */
  names: string[];
}

/** The subject fields of a node:crypto subject string ("O=a\nCN=b"). */
function field(subject: string, key: string): string[] {
  return subject
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

/** What the first certificate of a PEM bundle says. */
export function certInfo(pem: string): CertInfo {
  const c = new X509Certificate(pem);
  const names: string[] = [];
  for (const part of (c.subjectAltName ?? '').split(', ')) {
    const m = /^(DNS|IP Address):(.*)$/.exec(part);
    if (m) names.push(m[2]!);
  }
  return {
    commonName: field(c.subject, 'CN')[0] ?? '',
    organizations: field(c.subject, 'O'),
    notBefore: Date.parse(c.validFrom),
    notAfter: Date.parse(c.validTo),
    names,
  };
}

/** Whether `certPem` was issued by `caPem` (signature and issuer name). */
export function issuedBy(certPem: string, caPem: string): boolean {
  try {
    const c = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return c.checkIssued(ca) && c.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** Whether a certificate and a private key belong together. */
export function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** sha256 (hex) of the DER of the first certificate in a PEM bundle: what a join token pins. */
export function caCertHash(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/** The PEM of a DER certificate. */
export function derToPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
