// The cluster's PKI, made on first start and kept under <data-dir>/server/tls, as k3s does:
// a server CA that signs the serving certificate, a client CA that signs client certificates
// (the admin's, later the components' and nodes'), and the keys. ECDSA P-256 throughout: quick to
// make and to verify. @peculiar/x509 is loaded only when something must be signed, so a restart
// with existing certificates pays nothing for it.
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  serverCaCert: string;
  clientCaCert: string;
  servingCert: string;
  servingKey: string;
  /** Signs a client certificate for the given user and groups with the client CA. */
  signClientCert(cn: string, groups: string[], days?: number): Promise<{ cert: string; key: string }>;
}

export interface PkiOptions {
  /** DNS names and IP addresses the serving certificate must cover. */
  sans: string[];
}

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

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyToPem(k: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', k));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

async function pemToKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

function write(path: string, data: string, mode = 0o600): void {
  writeFileSync(path, data, { mode });
}

async function makeCa(cn: string): Promise<{ cert: string; key: string }> {
  const m = await x509();
  const keys = await newKeys();
  const now = Date.now();
  const cert = await m.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${cn}@${Math.floor(now / 1000)}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new m.BasicConstraintsExtension(true, undefined, true),
      new m.KeyUsagesExtension(m.KeyUsageFlags.keyCertSign | m.KeyUsageFlags.cRLSign | m.KeyUsageFlags.digitalSignature, true),
      await m.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyToPem(keys.privateKey) };
}

async function signLeaf(
  ca: { cert: string; key: string },
  subject: string,
  usage: 'server' | 'client',
  sans: string[],
  days: number,
): Promise<{ cert: string; key: string }> {
  const m = await x509();
  const keys = await newKeys();
  const caCert = new m.X509Certificate(ca.cert);
  const caKey = await pemToKey(ca.key);
  const now = Date.now();
  const exts: InstanceType<X509Module['Extension']>[] = [
    new m.BasicConstraintsExtension(false, undefined, true),
    new m.KeyUsagesExtension(m.KeyUsageFlags.digitalSignature | m.KeyUsageFlags.keyEncipherment, true),
    new m.ExtendedKeyUsageExtension([usage === 'server' ? m.ExtendedKeyUsage.serverAuth : m.ExtendedKeyUsage.clientAuth]),
    await m.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  if (sans.length) {
    exts.push(
      new m.SubjectAlternativeNameExtension(
        sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s })),
      ),
    );
  }
  const cert = await m.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALG,
    extensions: exts,
  });
  return { cert: cert.toString('pem') + '\n', key: await keyToPem(keys.privateKey) };
}

function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f; // positive
  return Buffer.from(b).toString('hex');
}

/** The names a certificate covers, as "DNS:x" / "IP Address:y" entries parsed from node's X509Certificate. */
function certSans(pem: string): Set<string> {
  const c = new X509Certificate(pem);
  const out = new Set<string>();
  for (const part of (c.subjectAltName ?? '').split(', ')) {
    const m = /^(DNS|IP Address):(.*)$/.exec(part);
    if (m) out.add(m[2]!);
  }
  return out;
}

function escapeDn(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1');
}

/**
 * Loads the PKI from dir, creating what is missing. The serving certificate is (re)issued when it
 * is missing, expires within 30 days, or does not cover every requested SAN.
 */
export async function ensurePki(dir: string, opts: PkiOptions): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string) => join(dir, f);
  const loadOrMakeCa = async (name: string, cn: string) => {
    if (existsSync(p(`${name}.crt`)) && existsSync(p(`${name}.key`))) {
      return { cert: readFileSync(p(`${name}.crt`), 'utf8'), key: readFileSync(p(`${name}.key`), 'utf8') };
    }
    const ca = await makeCa(cn);
    write(p(`${name}.key`), ca.key);
    write(p(`${name}.crt`), ca.cert, 0o644);
    return ca;
  };
  const serverCa = await loadOrMakeCa('server-ca', 'rudder-server-ca');
  const clientCa = await loadOrMakeCa('client-ca', 'rudder-client-ca');

  let serving: { cert: string; key: string } | undefined;
  if (existsSync(p('serving.crt')) && existsSync(p('serving.key'))) {
    const cert = readFileSync(p('serving.crt'), 'utf8');
    const have = certSans(cert);
    const fresh = new Date(new X509Certificate(cert).validTo).getTime() - Date.now() > 30 * DAY;
    if (fresh && opts.sans.every((s) => have.has(s))) serving = { cert, key: readFileSync(p('serving.key'), 'utf8') };
  }
  if (!serving) {
    serving = await signLeaf(serverCa, 'CN=kube-apiserver', 'server', [...new Set(opts.sans)], 365);
    write(p('serving.key'), serving.key);
    write(p('serving.crt'), serving.cert + serverCa.cert, 0o644);
    serving.cert += serverCa.cert;
  }
  return {
    dir,
    serverCaCert: serverCa.cert,
    clientCaCert: clientCa.cert,
    servingCert: serving.cert,
    servingKey: serving.key,
    signClientCert: (cn, groups, days = 365) =>
      signLeaf(clientCa, [...groups.map((g) => `O=${escapeDn(g)}`), `CN=${escapeDn(cn)}`].join(', '), 'client', [], days),
  };
}

/** The admin's client certificate, made once and reused across restarts. */
export async function ensureAdminCert(pki: Pki): Promise<{ cert: string; key: string }> {
  const crt = join(pki.dir, 'client-admin.crt');
  const key = join(pki.dir, 'client-admin.key');
  if (existsSync(crt) && existsSync(key)) return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
  const c = await pki.signClientCert('system:admin', ['system:masters'], 3650);
  write(key, c.key);
  write(crt, c.cert, 0o644);
  return c;
}

/**
 * The API server's client certificate for kubelets (logs, exec, port-forward), made once:
 * CN kube-apiserver-kubelet-client in system:masters, as kubeadm names it.
 */
export async function ensureKubeletClientCert(pki: Pki): Promise<{ cert: string; key: string }> {
  const crt = join(pki.dir, 'client-kube-apiserver-kubelet.crt');
  const key = join(pki.dir, 'client-kube-apiserver-kubelet.key');
  if (existsSync(crt) && existsSync(key)) return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
  const c = await pki.signClientCert('kube-apiserver-kubelet-client', ['system:masters'], 3650);
  write(key, c.key);
  write(crt, c.cert, 0o644);
  return c;
}
