// Certificates for the kubelet's HTTPS port: a self-signed serving certificate when the agent
// provides none (upstream's kubelet makes "<hostname>@<timestamp>" the same way), and a small CA
// for tests that need the API server's client certificate. ECDSA P-256 via @peculiar/x509, loaded
// only when something must be signed.
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

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

export interface CertAndKey {
  cert: string;
  key: string;
}

async function keyPem(k: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString('hex');
}

function sanEntries(sans: string[]): { type: 'ip' | 'dns'; value: string }[] {
  return sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s }));
}

/**
 * A self-signed serving certificate for hostname and the node's addresses, valid for a year,
 * named "<hostname>@<unix seconds>" as upstream's kubelet names its own.
 */
export async function selfSignedServingCert(hostname: string, addresses: string[]): Promise<CertAndKey> {
  const m = await x509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await m.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${hostname}@${Math.floor(now / 1000)}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new m.BasicConstraintsExtension(false, undefined, true),
      new m.KeyUsagesExtension(m.KeyUsageFlags.digitalSignature | m.KeyUsageFlags.keyEncipherment, true),
      new m.ExtendedKeyUsageExtension([m.ExtendedKeyUsage.serverAuth]),
      new m.SubjectAlternativeNameExtension(sanEntries([hostname, ...addresses])),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

export interface TestCa extends CertAndKey {
  /** Signs a client certificate for cn (with organizations as groups). */
  clientCert(cn: string, groups?: string[]): Promise<CertAndKey>;
  /** Signs a serving certificate for the given names and addresses. */
  servingCert(sans: string[]): Promise<CertAndKey>;
}

/** A throwaway CA for tests (ten days). */
export async function testCa(cn = 'rudder-test-ca'): Promise<TestCa> {
  const m = await x509();
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const caCert = await m.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${cn}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * DAY),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new m.BasicConstraintsExtension(true, undefined, true),
      new m.KeyUsagesExtension(m.KeyUsageFlags.keyCertSign | m.KeyUsageFlags.digitalSignature, true),
      await m.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leaf = async (subject: string, usage: 'client' | 'server', sans: string[]): Promise<CertAndKey> => {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const exts = [
      new m.BasicConstraintsExtension(false, undefined, true),
      new m.KeyUsagesExtension(m.KeyUsageFlags.digitalSignature | m.KeyUsageFlags.keyEncipherment, true),
      new m.ExtendedKeyUsageExtension([usage === 'server' ? m.ExtendedKeyUsage.serverAuth : m.ExtendedKeyUsage.clientAuth]),
      await m.AuthorityKeyIdentifierExtension.create(caCert, false),
      ...(sans.length ? [new m.SubjectAlternativeNameExtension(sanEntries(sans))] : []),
    ];
    const c = await m.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 10 * DAY),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: exts,
    });
    return { cert: c.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
  };
  return {
    cert: caCert.toString('pem') + '\n',
    key: await keyPem(caKeys.privateKey),
    clientCert: (cn2, groups = []) => leaf([...groups.map((g) => `O=${g}`), `CN=${cn2}`].join(', '), 'client', []),
    servingCert: (sans) => leaf(`CN=${sans[0] ?? 'localhost'}`, 'server', sans),
  };
}
