// First contact with a server the agent does not trust yet: a TLS handshake that accepts any
// certificate, only to read the chain the server presents (rudder's serving certificate is sent
// with the server CA after it). The CA whose DER hashes to the join token's pin is taken, and only
// if it really issued the serving certificate; everything after this uses ordinary verified TLS
// with that CA. No request — and so no token — is sent over the unverified connection.
import { X509Certificate, createHash } from 'node:crypto';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { derToPem } from './certs.ts';

export interface DiscoveryOptions {
  timeoutMs?: number;
}

function describe(e: NodeJS.ErrnoException): string {
  return e.code ? `${e.code}${e.message.includes(e.code) ? '' : ` (${e.message})`}` : e.message;
}

/** The chain the server at url presents, leaf first, as DER buffers. */
export function presentedChain(url: string, o: DiscoveryOptions = {}): Promise<Buffer[]> {
  const u = new URL(url);
  if (u.protocol !== 'https:') return Promise.reject(new Error(`--server ${url}: expected https://HOST:PORT`));
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u.port || 443);
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`cannot reach the server at ${u.origin}: no TLS answer within ${(o.timeoutMs ?? 10_000) / 1000}s`));
    }, o.timeoutMs ?? 10_000);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const chain: Buffer[] = [];
      const seen = new Set<string>();
      let c: DetailedPeerCertificate | undefined = sock.getPeerCertificate(true);
      while (c && c.raw && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        chain.push(c.raw);
        c = c.issuerCertificate;
      }
      sock.end();
      resolve(chain);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the server at ${u.origin}: ${describe(e)}`));
    });
  });
}

/**
 * The server CA (PEM) that the join token pins, fetched from the server and checked. Throws a
 * one-line error when the server is unreachable or presents no certificate with that hash.
 */
export async function discoverCa(url: string, caHash: string, o: DiscoveryOptions = {}): Promise<string> {
  const chain = await presentedChain(url, o);
  if (chain.length === 0) throw new Error(`the server at ${new URL(url).origin} presented no certificate`);
  const leaf = new X509Certificate(chain[0]!);
  for (const der of chain) {
    if (createHash('sha256').update(der).digest('hex') !== caHash) continue;
    const ca = new X509Certificate(der);
    if (!ca.ca) break;
    if (der !== chain[0] && !(leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) break;
    return derToPem(der);
  }
  const presented = chain.length > 1 ? chain[chain.length - 1]! : chain[0]!;
  const got = createHash('sha256').update(presented).digest('hex');
  throw new Error(
    `the server at ${new URL(url).origin} presents a CA (sha256 ${got.slice(0, 16)}…) that is not the one the join token pins (sha256 ${caHash.slice(0, 16)}…): wrong --server, or a token of another cluster`,
  );
}
