// X.509 for the certificate controllers: parsing a CertificateSigningRequest's PKCS#10 request,
// upstream's kubelet client and serving request checks (pkg/apis/certificates/helpers.go, with its
// error wording), and signing with a CA the way upstream's local signer does (subject and SANs
// from the request, usages from spec.usages, five minutes of back-dating, never past the CA's own
// expiry). @peculiar/x509 is loaded on first use, so a controller-manager that never signs pays
// nothing for it.
import { createPrivateKey, webcrypto } from 'node:crypto';

type X509Module = typeof import('@peculiar/x509');
let x509mod: Promise<X509Module> | undefined;
export function x509(): Promise<X509Module> {
  // @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata API.
  x509mod ??= import('reflect-metadata').then(() => import('@peculiar/x509')).then((m) => {
    m.cryptoProvider.set(webcrypto as unknown as Parameters<typeof m.cryptoProvider.set>[0]);
    return m;
  });
  return x509mod;
}

export const KUBE_APISERVER_CLIENT_KUBELET_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';

/** What the checks need from a PKCS#10 request. */
export interface ParsedCsr {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
  /** 'EC', 'RSA', 'Ed25519', … from the request's public key. */
  publicKeyAlgorithm: string;
  /** Whether the request is signed by the key it carries. */
  verify(): Promise<boolean>;
}

/** The request's subjectAltName extension (from its extensionRequest attribute), if any. */
function subjectAltNames(x: X509Module, req: InstanceType<X509Module['Pkcs10CertificateRequest']>): InstanceType<X509Module['SubjectAlternativeNameExtension']> | undefined {
  const e = req.extensions.find((ext) => ext.type === '2.5.29.17');
  if (!e) return undefined;
  return e instanceof x.SubjectAlternativeNameExtension ? e : new x.SubjectAlternativeNameExtension(e.rawData);
}

/** upstream's ParseCSR: the PEM block must be a CERTIFICATE REQUEST. */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  const m = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]*?-----END CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new Error('PEM block type must be CERTIFICATE REQUEST');
  const x = await x509();
  const req = new x.Pkcs10CertificateRequest(m[0]);
  const names = req.subjectName;
  const out: ParsedCsr = {
    commonName: names.getField('CN')[0] ?? '',
    organizations: names.getField('O'),
    dnsNames: [],
    ipAddresses: [],
    emailAddresses: [],
    uris: [],
    publicKeyAlgorithm: String((req.publicKey.algorithm as { name?: string }).name ?? ''),
    verify: () => req.verify(),
  };
  if (out.publicKeyAlgorithm === 'ECDSA') out.publicKeyAlgorithm = 'EC';
  else if (/^RSA/.test(out.publicKeyAlgorithm)) out.publicKeyAlgorithm = 'RSA';
  const san = subjectAltNames(x, req);
  for (const n of san?.names.items ?? []) {
    if (n.type === 'dns') out.dnsNames.push(n.value);
    else if (n.type === 'ip') out.ipAddresses.push(n.value);
    else if (n.type === 'email') out.emailAddresses.push(n.value);
    else if (n.type === 'url') out.uris.push(n.value);
  }
  return out;
}

const setEq = (a: string[], b: string[]) => new Set(a).size === new Set(b).size && b.every((x) => a.includes(x));
const listOf = (xs: string[]) => `[${[...xs].sort().join(' ')}]`;

const KUBELET_CLIENT_USAGES = ['digital signature', 'key encipherment', 'client auth'];
const KUBELET_CLIENT_USAGES_NO_RSA = ['digital signature', 'client auth'];
const KUBELET_SERVING_USAGES = ['digital signature', 'key encipherment', 'server auth'];
const KUBELET_SERVING_USAGES_NO_RSA = ['digital signature', 'server auth'];

/** upstream's ValidateKubeletClientCSR: the error, or undefined when the request is a kubelet client one. */
export function validateKubeletClientCsr(req: ParsedCsr, usages: string[]): string | undefined {
  if (req.organizations.length !== 1 || req.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  if (req.dnsNames.length) return 'DNS subjectAltNames are not allowed';
  if (req.emailAddresses.length) return 'Email subjectAltNames are not allowed';
  if (req.ipAddresses.length) return 'IP subjectAltNames are not allowed';
  if (req.uris.length) return 'URI subjectAltNames are not allowed';
  if (!req.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  if (!setEq(usages, KUBELET_CLIENT_USAGES) && !setEq(usages, KUBELET_CLIENT_USAGES_NO_RSA)) return `usages did not match ${listOf(KUBELET_CLIENT_USAGES)}`;
  return undefined;
}

/** upstream's ValidateKubeletServingCSR. */
export function validateKubeletServingCsr(req: ParsedCsr, usages: string[]): string | undefined {
  if (req.organizations.length !== 1 || req.organizations[0] !== 'system:nodes') return 'subject organization is not system:nodes';
  if (req.dnsNames.length === 0 && req.ipAddresses.length === 0) return 'DNS or IP subjectAltName is required';
  if (req.emailAddresses.length) return 'Email subjectAltNames are not allowed';
  if (req.uris.length) return 'URI subjectAltNames are not allowed';
  if (!setEq(usages, KUBELET_SERVING_USAGES) && !setEq(usages, KUBELET_SERVING_USAGES_NO_RSA)) return `usages did not match ${listOf(KUBELET_SERVING_USAGES)}`;
  if (!req.commonName.startsWith('system:node:')) return 'subject common name does not begin with system:node:';
  return undefined;
}

/** upstream's validAPIServerClientUsages. */
export function validateApiServerClientUsages(usages: string[]): string | undefined {
  let clientAuth = false;
  for (const u of usages) {
    if (u === 'client auth') clientAuth = true;
    else if (u !== 'digital signature' && u !== 'key encipherment') return `invalid usage for client certificate: ${u}`;
  }
  return clientAuth ? undefined : 'missing required usage for client certificate: client auth';
}

/** A CA that signs: its certificate and private key (PEM), as read from the signing files. */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

const KEY_USAGES: Record<string, number> = {
  signing: 1,
  'digital signature': 1,
  'content commitment': 2,
  'key encipherment': 4,
  'data encipherment': 8,
  'key agreement': 16,
  'cert sign': 32,
  'crl sign': 64,
  'encipher only': 128,
  'decipher only': 256,
};
const EXT_KEY_USAGES: Record<string, string> = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};

export interface SignOptions {
  usages: string[];
  /** The certificate's lifetime. */
  ttlMs: number;
  now: number;
}

const BACKDATE_MS = 5 * 60_000;
const SHORT_MS = 8 * 3600_000;

async function importSigningKey(keyPem: string): Promise<{ key: webcrypto.CryptoKey; alg: { name: string; hash: string } }> {
  const k = createPrivateKey(keyPem);
  const der = k.export({ format: 'der', type: 'pkcs8' });
  if (k.asymmetricKeyType === 'ec') {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!namedCurve) throw new Error(`unsupported CA key curve ${curve}`);
    const hash = namedCurve === 'P-256' ? 'SHA-256' : namedCurve === 'P-384' ? 'SHA-384' : 'SHA-512';
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, alg: { name: 'ECDSA', hash } };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { key, alg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
  }
  throw new Error(`unsupported CA key type ${k.asymmetricKeyType}`);
}

function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString('hex');
}

/**
 * Signs a PKCS#10 request (PEM) with the CA; returns the certificate (PEM). Throws upstream's
 * errors for a request whose signature does not verify, an unknown usage, or a CA past its expiry.
 */
export async function signCsr(ca: CertificateAuthority, csrPem: string, o: SignOptions): Promise<string> {
  const x = await x509();
  const m = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]*?-----END CERTIFICATE REQUEST-----/.exec(csrPem);
  if (!m) throw new Error('PEM block type must be CERTIFICATE REQUEST');
  const req = new x.Pkcs10CertificateRequest(m[0]);
  if (!(await req.verify())) throw new Error('unable to verify certificate request signature: x509: ECDSA verification failure');
  let keyUsage = 0;
  const ext: string[] = [];
  const unknown: string[] = [];
  for (const u of o.usages) {
    if (KEY_USAGES[u] !== undefined) keyUsage |= KEY_USAGES[u]!;
    else if (EXT_KEY_USAGES[u] !== undefined) {
      if (!ext.includes(EXT_KEY_USAGES[u]!)) ext.push(EXT_KEY_USAGES[u]!);
    } else unknown.push(u);
  }
  if (unknown.length) throw new Error(`unrecognized usage values: [${unknown.map((u) => JSON.stringify(u)).join(' ')}]`);
  const caCert = new x.X509Certificate(ca.certPem);
  const caNotAfter = caCert.notAfter.getTime();
  if (o.now > caNotAfter) throw new Error(`the signer has expired: NotAfter=${caCert.notAfter.toISOString()}`);
  // Back-dating covers clock skew between machines; a short-lived certificate keeps its whole
  // lifetime ahead of it, a long-lived one gives the back-dated minutes up at the end (upstream).
  const notBefore = o.now - BACKDATE_MS;
  const notAfter = Math.min(o.ttlMs < SHORT_MS ? o.now + o.ttlMs : o.now + o.ttlMs - BACKDATE_MS, caNotAfter);
  const exts: InstanceType<X509Module['Extension']>[] = [new x.BasicConstraintsExtension(false, undefined, true)];
  if (keyUsage) exts.push(new x.KeyUsagesExtension(keyUsage, true));
  if (ext.length) exts.push(new x.ExtendedKeyUsageExtension(ext));
  exts.push(await x.AuthorityKeyIdentifierExtension.create(caCert, false));
  const san = subjectAltNames(x, req);
  if (san && san.names.items.length) exts.push(new x.SubjectAlternativeNameExtension(san.names.toJSON()));
  const { key, alg } = await importSigningKey(ca.keyPem);
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: req.subjectName,
    issuer: caCert.subjectName,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    publicKey: req.publicKey,
    signingKey: key,
    signingAlgorithm: alg,
    extensions: exts,
  });
  return cert.toString('pem') + '\n';
}
