// PEM decoding and PKCS#10 certificate request checks, as Go's encoding/pem and crypto/x509
// do them for CSR validation, with Go's error texts. Synchronous (node:crypto), so validation
// stays a pure function.

import { goQuote } from '../errors.ts';
import { createPublicKey, verify, X509Certificate, type KeyObject } from 'node:crypto';

export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  bytes: Buffer;
}

const PEM_RE = /-----BEGIN ([^\r\n-]*)-----\r?\n([\s\S]*?)-----END \1-----[ \t]*(?:\r?\n|$)/g;

/** Every PEM block in `data`, in order, ignoring text between blocks (as repeated pem.Decode). */
export function decodePem(data: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of data.matchAll(PEM_RE)) {
    const lines = m[2]!.split(/\r?\n/);
    const headers: Record<string, string> = {};
    let i = 0;
    // RFC 1421 headers: "Key: value" lines, then a blank line, before the base64 body.
    if (lines[0]?.includes(':')) {
      for (; i < lines.length && lines[i]!.trim() !== ''; i++) {
        const line = lines[i]!;
        const c = line.indexOf(':');
        if (c < 0) break;
        headers[line.slice(0, c).trim()] = line.slice(c + 1).trim();
      }
    }
    const body = lines.slice(i).join('').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    out.push({ type: m[1]!, headers, bytes: Buffer.from(body, 'base64') });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A minimal DER reader: enough to find the parts of a CertificationRequest.

interface Tlv {
  tag: number;
  /** The whole element (header and content). */
  raw: Buffer;
  content: Buffer;
}

class DerError extends Error {}

function readTlv(buf: Buffer, off: number): { tlv: Tlv; next: number } {
  if (off + 2 > buf.length) throw new DerError('truncated');
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || off + 2 + n > buf.length) throw new DerError('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i]!;
    hdr += n;
  }
  const end = off + hdr + len;
  if (end > buf.length) throw new DerError('truncated');
  return { tlv: { tag, raw: buf.subarray(off, end), content: buf.subarray(off + hdr, end) }, next: end };
}

function children(t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = 0; off < t.content.length; ) {
    const { tlv, next } = readTlv(t.content, off);
    out.push(tlv);
    off = next;
  }
  return out;
}

function oidString(content: Buffer): string {
  const parts: number[] = [Math.floor(content[0]! / 40), content[0]! % 40];
  let v = 0;
  for (let i = 1; i < content.length; i++) {
    v = v * 128 + (content[i]! & 0x7f);
    if (!(content[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

interface ParsedCSR {
  tbs: Buffer;
  spki: Buffer;
  algorithm: string;
  signature: Buffer;
}

const SEQUENCE = 0x30;

function parseCertificationRequest(der: Buffer): ParsedCSR {
  const { tlv: top, next } = readTlv(der, 0);
  if (top.tag !== SEQUENCE || next !== der.length) throw new DerError('not a sequence');
  const [info, alg, sig] = children(top);
  if (!info || !alg || !sig || info.tag !== SEQUENCE || alg.tag !== SEQUENCE || sig.tag !== 0x03) throw new DerError('bad structure');
  const infoParts = children(info);
  const spki = infoParts[2];
  if (!spki || spki.tag !== SEQUENCE) throw new DerError('bad info');
  const oid = children(alg)[0];
  if (!oid || oid.tag !== 0x06) throw new DerError('bad algorithm');
  // BIT STRING: first content byte counts unused bits (0 for signatures).
  return { tbs: info.raw, spki: spki.raw, algorithm: oidString(oid.content), signature: sig.content.subarray(1) };
}

type Verifier = (tbs: Buffer, key: KeyObject, sig: Buffer) => boolean;

const rsa = (hash: string): Verifier => (tbs, key, sig) => verify(hash, tbs, key, sig);
const ecdsa = (hash: string): Verifier => (tbs, key, sig) => verify(hash, tbs, key, sig);
const SIGNATURE_ALGORITHMS: Record<string, { verify: Verifier; failure: string }> = {
  '1.2.840.113549.1.1.5': { verify: rsa('sha1'), failure: 'crypto/rsa: verification error' },
  '1.2.840.113549.1.1.11': { verify: rsa('sha256'), failure: 'crypto/rsa: verification error' },
  '1.2.840.113549.1.1.12': { verify: rsa('sha384'), failure: 'crypto/rsa: verification error' },
  '1.2.840.113549.1.1.13': { verify: rsa('sha512'), failure: 'crypto/rsa: verification error' },
  // RSASSA-PSS: Go accepts SHA-256/384/512 with a salt as long as the hash.
  '1.2.840.113549.1.1.10': {
    verify: (tbs, key, sig) =>
      [['sha256', 32], ['sha384', 48], ['sha512', 64]].some(([h, salt]) =>
        verify(h as string, tbs, { key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: salt as number }, sig),
      ),
    failure: 'crypto/rsa: verification error',
  },
  '1.2.840.10045.4.1': { verify: ecdsa('sha1'), failure: 'x509: ECDSA verification failure' },
  '1.2.840.10045.4.3.2': { verify: ecdsa('sha256'), failure: 'x509: ECDSA verification failure' },
  '1.2.840.10045.4.3.3': { verify: ecdsa('sha384'), failure: 'x509: ECDSA verification failure' },
  '1.2.840.10045.4.3.4': { verify: ecdsa('sha512'), failure: 'x509: ECDSA verification failure' },
  '1.3.101.112': { verify: (tbs, key, sig) => verify(null, tbs, key, sig), failure: 'x509: Ed25519 verification failure' },
};

/**
 * upstream's certificates.ParseCSR plus CheckSignature on PEM text: undefined when the request
 * is a well-formed, correctly self-signed PKCS#10 request, else Go's error text.
 */
export function checkCertificateRequest(pem: string): string | undefined {
  const block = decodePem(pem)[0];
  if (!block || block.type !== 'CERTIFICATE REQUEST') return 'PEM block type must be CERTIFICATE REQUEST';
  let csr: ParsedCSR;
  let key: KeyObject;
  try {
    csr = parseCertificationRequest(block.bytes);
    key = createPublicKey({ key: csr.spki, format: 'der', type: 'spki' });
  } catch {
    return 'x509: malformed certificate request';
  }
  const alg = SIGNATURE_ALGORITHMS[csr.algorithm];
  if (!alg) return 'x509: cannot verify signature: algorithm unimplemented';
  try {
    return alg.verify(csr.tbs, key, csr.signature) ? undefined : alg.failure;
  } catch {
    return alg.failure;
  }
}

/** upstream's CSR status.certificate check: one or more CERTIFICATE blocks without headers. */
export function checkCertificateChain(pem: string): string | undefined {
  if (pem.length === 0) return undefined;
  const blocks = decodePem(pem);
  for (const b of blocks) {
    if (b.type !== 'CERTIFICATE') return `only CERTIFICATE PEM blocks are allowed, found ${goQuote(b.type)}`;
    if (Object.keys(b.headers).length > 0) return 'no PEM block headers are permitted';
    try {
      new X509Certificate(b.bytes);
    } catch {
      return 'x509: malformed certificate';
    }
  }
  if (blocks.length === 0) return 'must contain at least one CERTIFICATE PEM block';
  return undefined;
}
