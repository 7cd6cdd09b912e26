// Encryption at rest, in upstream's EncryptionConfiguration format (apiserver.config.k8s.io/v1):
// per resource, an ordered list of providers; the first encrypts new writes, every one is tried
// to read. Stored values carry upstream's prefix (`k8s:enc:<provider>:v1:<key name>:`), so a store
// written by rudder reads like one written by kube-apiserver.
//
// Providers: aescbc (AES-256-CBC, PKCS#7, random IV), aesgcm (AES-GCM with the storage key as
// additional data, random nonce), secretbox (XSalsa20-Poly1305), identity (plain).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

type ProviderName = 'aescbc' | 'aesgcm' | 'secretbox' | 'identity';

interface Key {
  name: string;
  secret: Buffer;
}

interface Provider {
  kind: ProviderName;
  keys: Key[];
}

export interface EncryptionConfiguration {
  kind: 'EncryptionConfiguration';
  apiVersion: 'apiserver.config.k8s.io/v1';
  resources: { resources: string[]; providers: Record<string, { keys?: { name: string; secret: string }[] }>[] }[];
}

export class EncryptionError extends Error {}

const PREFIX = 'k8s:enc:';

function parseProviders(conf: EncryptionConfiguration['resources'][number]['providers']): Provider[] {
  return conf.map((p) => {
    const entries = Object.entries(p);
    if (entries.length !== 1) throw new EncryptionError('each provider must name exactly one of aescbc, aesgcm, secretbox, identity');
    const [kind, body] = entries[0]!;
    if (kind !== 'aescbc' && kind !== 'aesgcm' && kind !== 'secretbox' && kind !== 'identity') {
      throw new EncryptionError(`unsupported provider "${kind}": rudder supports aescbc, aesgcm, secretbox and identity`);
    }
    const keys = (body?.keys ?? []).map((k) => {
      const secret = Buffer.from(k.secret, 'base64');
      const ok = kind === 'aesgcm' ? [16, 24, 32].includes(secret.length) : secret.length === 32;
      if (!ok) throw new EncryptionError(`key "${k.name}" of provider ${kind} has ${secret.length} bytes; ${kind === 'aesgcm' ? '16, 24 or 32' : '32'} are required`);
      return { name: k.name, secret };
    });
    if (kind !== 'identity' && keys.length === 0) throw new EncryptionError(`provider ${kind} needs at least one key`);
    return { kind, keys } as Provider;
  });
}

function encryptWith(p: Provider, plain: Buffer, storageKey: string): Buffer {
  if (p.kind === 'identity') return plain;
  const k = p.keys[0]!;
  const head = Buffer.from(`${PREFIX}${p.kind}:v1:${k.name}:`);
  switch (p.kind) {
    case 'aescbc': {
      const iv = randomBytes(16);
      const c = createCipheriv('aes-256-cbc', k.secret, iv);
      return Buffer.concat([head, iv, c.update(plain), c.final()]);
    }
    case 'aesgcm': {
      const nonce = randomBytes(12);
      const c = createCipheriv(`aes-${k.secret.length * 8}-gcm` as 'aes-256-gcm', k.secret, nonce);
      c.setAAD(Buffer.from(storageKey));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([head, nonce, body, c.getAuthTag()]);
    }
    case 'secretbox': {
      const nonce = randomBytes(24);
      return Buffer.concat([head, nonce, Buffer.from(xsalsa20poly1305(k.secret, nonce).encrypt(plain))]);
    }
  }
}

function decryptWith(kind: ProviderName, key: Key, data: Buffer, storageKey: string): Buffer {
  switch (kind) {
    case 'aescbc': {
      const d = createDecipheriv('aes-256-cbc', key.secret, data.subarray(0, 16));
      return Buffer.concat([d.update(data.subarray(16)), d.final()]);
    }
    case 'aesgcm': {
      const d = createDecipheriv(`aes-${key.secret.length * 8}-gcm` as 'aes-256-gcm', key.secret, data.subarray(0, 12));
      d.setAAD(Buffer.from(storageKey));
      d.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
    }
    case 'secretbox':
      return Buffer.from(xsalsa20poly1305(key.secret, data.subarray(0, 24)).decrypt(data.subarray(24)));
    default:
      return data;
  }
}

/** Value transformers per storage prefix: what the registry calls on every write and read. */
export class Encryption {
  private readonly byResource = new Map<string, Provider[]>();
  readonly config: EncryptionConfiguration;

  constructor(config: EncryptionConfiguration) {
    if (config?.kind !== 'EncryptionConfiguration') throw new EncryptionError('not an EncryptionConfiguration');
    this.config = config;
    for (const r of config.resources ?? []) {
      const providers = parseProviders(r.providers ?? []);
      for (const res of r.resources ?? []) this.byResource.set(res, providers);
    }
  }

  /** The resources (e.g. "secrets") whose values are transformed. */
  resources(): string[] {
    return [...this.byResource.keys()];
  }

  /** The provider and key name new writes of a resource use, e.g. "aescbc:key-2". */
  writeKey(resource: string): string {
    const p = this.byResource.get(resource)?.[0];
    if (!p) return 'identity';
    return p.kind === 'identity' ? 'identity' : `${p.kind}:${p.keys[0]!.name}`;
  }

  encrypt(resource: string, storageKey: string, plain: Buffer): Buffer {
    const p = this.byResource.get(resource)?.[0];
    return p ? encryptWith(p, plain, storageKey) : plain;
  }

  /** Decrypts with whichever configured key wrote the value; plain values pass through. */
  decrypt(resource: string, storageKey: string, stored: Buffer): Buffer {
    if (stored.length < PREFIX.length || stored.subarray(0, PREFIX.length).toString() !== PREFIX) return stored;
    const head = stored.subarray(0, Math.min(stored.length, 256)).toString('latin1');
    const m = /^k8s:enc:(aescbc|aesgcm|secretbox):v1:([^:]+):/.exec(head);
    if (!m) throw new EncryptionError(`stored value of ${storageKey} has an unknown encryption prefix`);
    const kind = m[1] as ProviderName;
    const providers = this.byResource.get(resource) ?? [];
    const key = providers.filter((p) => p.kind === kind).flatMap((p) => p.keys).find((k) => k.name === m[2]);
    if (!key) throw new EncryptionError(`no ${kind} key named "${m[2]}" is configured to read ${storageKey}`);
    return decryptWith(kind, key, stored.subarray(m[0].length), storageKey);
  }

  /** Whether a stored value is written with the current write key (so re-encryption can skip it). */
  current(resource: string, stored: Buffer): boolean {
    const want = this.writeKey(resource);
    if (want === 'identity') return stored.subarray(0, PREFIX.length).toString() !== PREFIX;
    return stored.subarray(0, PREFIX.length + want.length + 4).toString('latin1').startsWith(`${PREFIX}${want.replace(':', ':v1:')}:`);
  }
}

function newKeyName(): string {
  return `aescbckey-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
}

/** A fresh configuration encrypting secrets with one new aescbc key (rudder's default, as k3s --secrets-encryption). */
export function defaultEncryptionConfig(): EncryptionConfiguration {
  return {
    kind: 'EncryptionConfiguration',
    apiVersion: 'apiserver.config.k8s.io/v1',
    resources: [{ resources: ['secrets'], providers: [{ aescbc: { keys: [{ name: newKeyName(), secret: randomBytes(32).toString('base64') }] } }, { identity: {} }] }],
  };
}

/** Reads the configuration file (YAML or JSON), creating the default one when it does not exist. */
export function loadEncryptionConfig(file: string, createIfMissing: boolean): Encryption | undefined {
  if (!existsSync(file)) {
    if (!createIfMissing) return undefined;
    saveEncryptionConfig(file, defaultEncryptionConfig());
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EncryptionError(`cannot read encryption configuration ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  return new Encryption(doc as EncryptionConfiguration);
}

export function saveEncryptionConfig(file: string, conf: EncryptionConfiguration): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, stringifyYaml(conf), { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * k3s's key rotation steps on a configuration (for `rudder secrets-encrypt`):
 * prepare adds a new key after the current one (every server can read it before anyone writes
 * with it); rotate makes the newest key the write key; reencrypt (done by the server) then drops
 * keys no stored value uses any more — here: every key but the write key.
 */
export function prepareKey(conf: EncryptionConfiguration): EncryptionConfiguration {
  const c = structuredClone(conf);
  const r = c.resources.find((x) => x.resources.includes('secrets'));
  if (!r) throw new EncryptionError('secrets are not encrypted: no configuration for them');
  const aes = r.providers.find((p) => 'aescbc' in p) as { aescbc: { keys: { name: string; secret: string }[] } } | undefined;
  const key = { name: newKeyName(), secret: randomBytes(32).toString('base64') };
  if (aes) {
    if (aes.aescbc.keys.some((k) => k.name === key.name)) key.name += '-2';
    aes.aescbc.keys.push(key);
  } else {
    r.providers.push({ aescbc: { keys: [key] } });
  }
  return c;
}

export function rotateKey(conf: EncryptionConfiguration): EncryptionConfiguration {
  const c = structuredClone(conf);
  const r = c.resources.find((x) => x.resources.includes('secrets'));
  if (!r) throw new EncryptionError('secrets are not encrypted: no configuration for them');
  const i = r.providers.findIndex((p) => 'aescbc' in p);
  if (i < 0) throw new EncryptionError('no aescbc provider to rotate: run prepare first');
  const aes = r.providers[i] as { aescbc: { keys: { name: string; secret: string }[] } };
  if (aes.aescbc.keys.length < 2) throw new EncryptionError('no prepared key to rotate to: run prepare first');
  const newest = aes.aescbc.keys.pop()!;
  aes.aescbc.keys.unshift(newest);
  // the aescbc provider writes new values
  r.providers.splice(i, 1);
  r.providers.unshift(aes);
  return c;
}

export function pruneKeys(conf: EncryptionConfiguration): EncryptionConfiguration {
  const c = structuredClone(conf);
  for (const r of c.resources) {
    const first = r.providers[0];
    if (!first) continue;
    const kind = Object.keys(first)[0]!;
    if (first[kind]?.keys) first[kind]!.keys = first[kind]!.keys!.slice(0, 1);
    r.providers = [first, ...r.providers.slice(1).filter((p) => 'identity' in p)];
  }
  return c;
}
