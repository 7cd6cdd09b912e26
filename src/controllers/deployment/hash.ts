// The pod-template-hash: upstream's controller.ComputeHash. It is FNV-1a (32 bit) over a printout
// of the pod template, then over collisionCount as 8 little-endian bytes when the Deployment has
// one, and the decimal digits of the sum mapped through rand.SafeEncodeString (every character to
// a consonant or digit, so no words appear in names). The label value and the ReplicaSet name
// suffix (`<deployment>-<hash>`) are this string.
//
// Upstream prints the Go struct with go-spew; that printout depends on Go's type layout and cannot
// be reproduced from JSON, so rudder prints the template as canonical JSON (keys sorted). Hashes
// are therefore rudder's own, with upstream's form, alphabet and stability: the same template
// always gives the same hash, and a collisionCount changes it.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv32a(bytes: Uint8Array, seed = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/** apimachinery's rand.SafeEncodeString alphabet: no vowels, no 0/1/3 that read as letters. */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += ALPHANUMS[ch.codePointAt(0)! % ALPHANUMS.length];
  return out;
}

/** JSON with object keys sorted at every level: the same value always prints the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** The pod-template-hash of a template, with the Deployment's status.collisionCount when set. */
export function computeHash(template: unknown, collisionCount?: number | null): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJson(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}
