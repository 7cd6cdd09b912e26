// TLS bootstrapping, as upstream's kubelet does it: with the join token as bearer (over TLS verified
// with the CA the token pins), the agent asks for a node client certificate through a
// CertificateSigningRequest (signer kubernetes.io/kube-apiserver-client-kubelet, CN
// system:node:<name>, O system:nodes), waits for the controller-manager to approve and sign it,
// and keeps the result under <data-dir>/agent:
//
//   client-kubelet.crt / .key   the node's client certificate (then the client CA) and key
//   server-ca.crt               the CA that signs the API server's serving certificate
//   client-ca.crt               the CA of client certificates (the kubelet API trusts it)
//   kubelet.kubeconfig          a kubeconfig naming those files
//
// A later start reuses them while they are valid for this node and this cluster; the join token
// is then only checked against the CA it pins. A token the server refuses is a one-line error and
// nothing is written.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StatusError } from '../api/errors.ts';
import type { KObject } from '../api/meta.ts';
import type { Transport } from '../api/transport.ts';
import { Client } from '../client/client.ts';
import { realClock, type Clock } from '../client/clock.ts';
import { HttpsTransport } from '../client/https.ts';
import { caCertHash, certInfo, issuedBy, keyMatches, newKeyAndRequest } from './certs.ts';
import { discoverCa } from './discovery.ts';
import type { JoinToken } from './join-token.ts';

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
export const KUBE_APISERVER_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
/** What upstream's kubelet asks for with an ECDSA key. */
export const CLIENT_USAGES = ['digital signature', 'client auth'];
export const SERVING_USAGES = ['digital signature', 'server auth'];

export const AGENT_USER_AGENT = 'kubelet/v1.33.0 (linux/amd64) rudder';

export interface CredentialPaths {
  dir: string;
  cert: string;
  key: string;
  serverCa: string;
  clientCa: string;
  kubeconfig: string;
  servingCert: string;
  servingKey: string;
}

export function credentialPaths(dataDir: string): CredentialPaths {
  const dir = join(dataDir, 'agent');
  return {
    dir,
    cert: join(dir, 'client-kubelet.crt'),
    key: join(dir, 'client-kubelet.key'),
    serverCa: join(dir, 'server-ca.crt'),
    clientCa: join(dir, 'client-ca.crt'),
    kubeconfig: join(dir, 'kubelet.kubeconfig'),
    servingCert: join(dir, 'serving-kubelet.crt'),
    servingKey: join(dir, 'serving-kubelet.key'),
  };
}

export interface NodeCredentials {
  server: string;
  certPem: string;
  keyPem: string;
  /** The server CA (trusts the API server). */
  serverCaPem: string;
  /** The CA that issued the node's client certificate (and the API server's), when known. */
  clientCaPem?: string;
  paths: CredentialPaths;
}

/** Writes a file through a temporary name and a rename, so a reader never sees half of it. */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

/** The PEM blocks of a bundle, in order. */
export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map((b) => b + '\n') ?? [];
}

export function kubeconfigYaml(server: string, paths: { serverCa: string; cert: string; key: string }): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: default',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${paths.serverCa}`,
    'contexts:',
    '- name: default',
    '  context:',
    '    cluster: default',
    '    user: default',
    'current-context: default',
    'users:',
    '- name: default',
    '  user:',
    `    client-certificate: ${paths.cert}`,
    `    client-key: ${paths.key}`,
    'preferences: {}',
    '',
  ].join('\n');
}

/**
 * The saved credentials when they still serve this node in the cluster the token pins, else why not
 * (for the log). Expiring within a minute counts as expired.
 */
export function loadNodeCredentials(dataDir: string, o: { server: string; nodeName: string; caHash: string; now: number }): NodeCredentials | { problem: string } {
  const paths = credentialPaths(dataDir);
  if (![paths.cert, paths.key, paths.serverCa].every((f) => existsSync(f))) return { problem: 'no saved node certificate' };
  try {
    const serverCaPem = readFileSync(paths.serverCa, 'utf8');
    if (caCertHash(serverCaPem) !== o.caHash) return { problem: 'the saved certificate is of another cluster' };
    const certPem = readFileSync(paths.cert, 'utf8');
    const keyPem = readFileSync(paths.key, 'utf8');
    const info = certInfo(certPem);
    if (info.commonName !== `system:node:${o.nodeName}`) return { problem: `the saved certificate is for ${info.commonName}` };
    if (info.notAfter - 60_000 <= o.now) return { problem: 'the saved certificate has expired' };
    if (!keyMatches(certPem, keyPem)) return { problem: 'the saved key does not match the saved certificate' };
    const clientCaPem = existsSync(paths.clientCa) ? readFileSync(paths.clientCa, 'utf8') : undefined;
    if (clientCaPem && !issuedBy(certPem, clientCaPem)) return { problem: 'the saved certificate is not from the saved client CA' };
    return { server: o.server, certPem, keyPem, serverCaPem, clientCaPem, paths };
  } catch (e) {
    return { problem: `the saved certificate cannot be read: ${(e as Error).message}` };
  }
}

/** Saves credentials (key first, then certificate, then the kubeconfig naming them). */
export function saveNodeCredentials(c: NodeCredentials): void {
  writeFileAtomic(c.paths.serverCa, c.serverCaPem, 0o644);
  if (c.clientCaPem) writeFileAtomic(c.paths.clientCa, c.clientCaPem, 0o644);
  writeFileAtomic(c.paths.key, c.keyPem, 0o600);
  writeFileAtomic(c.paths.cert, c.certPem, 0o644);
  writeFileAtomic(c.paths.kubeconfig, kubeconfigYaml(c.server, c.paths), 0o600);
}

export interface CertificateRequest {
  client: Client;
  csrPem: string;
  signerName: string;
  usages: string[];
  expirationSeconds?: number;
  /** How long to wait for the certificate (default 5 min). */
  timeoutMs?: number;
  clock?: Clock;
  signal?: AbortSignal;
}

/** Why a request ended without a certificate; `code` tells a refused token from a denied request. */
export class CertificateRequestError extends Error {
  readonly reason: 'unauthorized' | 'forbidden' | 'denied' | 'failed' | 'timeout';
  constructor(reason: CertificateRequestError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

interface CsrStatus {
  certificate?: string;
  conditions?: { type: string; status?: string; reason?: string; message?: string }[];
}

/** Creates a CertificateSigningRequest and waits for its certificate (the PEM chain, leaf first). */
export async function requestCertificate(r: CertificateRequest): Promise<{ name: string; chainPem: string }> {
  const clock = r.clock ?? realClock;
  const csrs = r.client.resource<KObject & { status?: CsrStatus }>('certificates.k8s.io', 'certificatesigningrequests');
  let created: KObject;
  try {
    created = await csrs.create({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { generateName: 'csr-' },
      spec: {
        request: Buffer.from(r.csrPem).toString('base64'),
        signerName: r.signerName,
        usages: r.usages,
        ...(r.expirationSeconds ? { expirationSeconds: r.expirationSeconds } : {}),
      },
    } as KObject);
  } catch (e) {
    if (e instanceof StatusError && e.code === 401) throw new CertificateRequestError('unauthorized', e.message);
    if (e instanceof StatusError && e.code === 403) throw new CertificateRequestError('forbidden', e.message);
    throw e;
  }
  const name = created.metadata.name!;
  const deadline = clock.now() + (r.timeoutMs ?? 300_000);
  let wait = 100;
  for (;;) {
    const cur = await csrs.get(name, { signal: r.signal });
    const st = cur.status ?? {};
    const cond = (t: string) => st.conditions?.find((c) => c.type === t && c.status !== 'False');
    const denied = cond('Denied');
    if (denied) throw new CertificateRequestError('denied', `the certificate request ${name} was denied${denied.message ? `: ${denied.message}` : ''}`);
    const failed = cond('Failed');
    if (failed) throw new CertificateRequestError('failed', `the certificate request ${name} failed${failed.message ? `: ${failed.message}` : ''}`);
    if (st.certificate) return { name, chainPem: Buffer.from(st.certificate, 'base64').toString('utf8') };
    if (clock.now() >= deadline) {
      throw new CertificateRequestError(
        'timeout',
        `no certificate was issued for the request ${name} within ${Math.round((r.timeoutMs ?? 300_000) / 1000)}s${cond('Approved') ? ' (approved, not signed: does the controller-manager have the signing CA?)' : ' (still pending: is the controller-manager running?)'}`,
      );
    }
    await clock.after(wait, r.signal);
    wait = Math.min(wait * 2, 1000);
  }
}

/** How the agent reaches the API server with some credentials (tests substitute in-process ones). */
export type TransportFactory = (creds: { server: string; caPem: string; token?: string; certPem?: string; keyPem?: string }) => Transport;

export const httpsTransportFactory: TransportFactory = (c) =>
  new HttpsTransport({ server: c.server, ca: c.caPem, token: c.token, cert: c.certPem, key: c.keyPem, userAgent: AGENT_USER_AGENT });

export interface BootstrapOptions {
  server: string;
  joinToken: JoinToken;
  nodeName: string;
  dataDir: string;
  transportFor?: TransportFactory;
  /** The server CA when already known (else fetched and checked against the token's pin). */
  serverCaPem?: string;
  timeoutMs?: number;
  clock?: Clock;
  log?: (msg: string) => void;
}

/**
 * The node's credentials: the saved ones while valid, else new ones through a bootstrap
 * CertificateSigningRequest. Throws a one-line error (and writes nothing) when the server refuses
 * the token or the request.
 */
export async function bootstrapNodeCredentials(o: BootstrapOptions): Promise<NodeCredentials> {
  const clock = o.clock ?? realClock;
  const log = o.log ?? (() => {});
  const saved = loadNodeCredentials(o.dataDir, { server: o.server, nodeName: o.nodeName, caHash: o.joinToken.caHash, now: clock.now() });
  if (!('problem' in saved)) {
    log(`using the saved node certificate ${saved.paths.cert} (valid until ${new Date(certInfo(saved.certPem).notAfter).toISOString()})`);
    return saved;
  }
  // Nothing is logged before the outcome: a refused token is one line, the error.
  const serverCaPem = o.serverCaPem ?? (await discoverCa(o.server, o.joinToken.caHash));
  if (caCertHash(serverCaPem) !== o.joinToken.caHash) throw new Error('the server CA does not match the join token');
  const transport = (o.transportFor ?? httpsTransportFactory)({ server: o.server, caPem: serverCaPem, token: o.joinToken.bootstrapToken });
  try {
    const { keyPem, csrPem } = await newKeyAndRequest({ commonName: `system:node:${o.nodeName}`, organizations: ['system:nodes'] });
    let issued: { name: string; chainPem: string };
    try {
      issued = await requestCertificate({ client: new Client(transport), csrPem, signerName: KUBELET_CLIENT_SIGNER, usages: CLIENT_USAGES, timeoutMs: o.timeoutMs, clock });
    } catch (e) {
      if (e instanceof CertificateRequestError && e.reason === 'unauthorized') {
        throw new Error(`the server at ${new URL(o.server).origin} refused the join token ${o.joinToken.id}: it is wrong, expired or revoked (make a new one with "rudder token create" on a server)`);
      }
      if (e instanceof CertificateRequestError && e.reason === 'forbidden') {
        throw new Error(`the join token ${o.joinToken.id} may not request node certificates: ${e.message}`);
      }
      throw e;
    }
    const blocks = pemBlocks(issued.chainPem);
    const certPem = blocks.join('');
    const leaf = blocks[0] ?? '';
    const clientCaPem = blocks.slice(1).find((b) => issuedBy(leaf, b));
    const info = certInfo(leaf);
    if (info.commonName !== `system:node:${o.nodeName}` || !keyMatches(leaf, keyPem)) {
      throw new Error(`the server issued a certificate for ${info.commonName} that does not match the request ${issued.name}`);
    }
    const creds: NodeCredentials = { server: o.server, certPem, keyPem, serverCaPem, clientCaPem, paths: credentialPaths(o.dataDir) };
    saveNodeCredentials(creds);
    log(`joined with the token ${o.joinToken.id} (${saved.problem}) as system:node:${o.nodeName}: certificate request ${issued.name}, valid until ${new Date(info.notAfter).toISOString()}`);
    return creds;
  } finally {
    await transport.close();
  }
}
