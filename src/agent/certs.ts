// The agent's key material: ECDSA P-256 keys (as upstream's kubelet makes for its certificates),
// PKCS#10 requests for a node's client and serving certificates, and reading what a certificate
// says (names, validity), all with node:crypto. The request is DER written here (RFC 2986 with an
// extensionRequest for the subjectAltName, RFC 5280): a general X.509 library loaded into the
// agent for it held ~15 MiB of its resident memory for good (BENCHMARKS.md, "Kubelet and agent").
import { X509Certificate, createHash, createPrivateKey, generateKeyPair, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';

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

// ---- DER (X.690), only what a certification request needs ---------------------------------------

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  if (n > 0xffff) throw new Error('DER: value too long');
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const utf8 = (v: string): Buffer => tlv(0x0c, Buffer.from(v, 'utf8'));

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * a! + b!];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    for (let x = v >>> 7; x > 0; x >>>= 7) chunk.unshift((x & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const OID = {
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  extensionRequest: '1.2.840.113549.1.9.14',
  subjectAltName: '2.5.29.17',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
};

/** An IP address's octets (4 for IPv4, 16 for IPv6), as GeneralName iPAddress holds it. */
function ipOctets(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const groups = (x: string | undefined) => (x ? x.split(':') : []);
  const hs = groups(head);
  const ts = groups(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  const v4 = (g: string[]) => {
    const last = g.at(-1);
    if (last && last.includes('.')) {
      const o = last.split('.').map(Number);
      g.splice(-1, 1, ((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16));
    }
  };
  if (tail === undefined) v4(hs);
  else v4(ts);
  const fill = tail === undefined ? [] : Array(8 - hs.length - ts.length).fill('0');
  const all = [...hs, ...fill, ...ts];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The subject Name: one RDN per organization, then the common name (the order Go's pkix.Name writes). */
function name(subject: Subject): Buffer {
  const rdn = (type: string, value: string) => set(seq(oid(type), utf8(value)));
  return seq(...(subject.organizations ?? []).map((o) => rdn(OID.organization, o)), rdn(OID.commonName, subject.commonName));
}

/** The request's attributes ([0]): an extensionRequest with the subjectAltName when there are names. */
function attributes(names: string[]): Buffer {
  if (!names.length) return tlv(0xa0, Buffer.alloc(0));
  // GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING, both implicit.
  const general = names.map((n) => (isIP(n) ? tlv(0x87, ipOctets(n)) : tlv(0x82, Buffer.from(n, 'ascii'))));
  const san = seq(oid(OID.subjectAltName), tlv(0x04, seq(...general)));
  return tlv(0xa0, seq(oid(OID.extensionRequest), set(seq(san))));
}

const generateEcKey = promisify(generateKeyPair);

/** A fresh key and a request for `subject` signed with it. */
export async function newKeyAndRequest(subject: Subject): Promise<KeyAndRequest> {
  const { publicKey, privateKey } = await generateEcKey('ec', { namedCurve: 'P-256' });
  const names = [...new Set(subject.names ?? [])];
  const info = seq(tlv(0x02, Buffer.from([0])), name(subject), publicKey.export({ type: 'spki', format: 'der' }), attributes(names));
  // ECDSA signatures are DER Ecdsa-Sig-Value by default, as X.509 wants them; no parameters for ecdsa-with-SHA256.
  const signature = sign('sha256', info, privateKey);
  const der = seq(info, seq(oid(OID.ecdsaWithSha256)), tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, csrPem: pem('CERTIFICATE REQUEST', der) };
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
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
  return pem('CERTIFICATE', der);
}
