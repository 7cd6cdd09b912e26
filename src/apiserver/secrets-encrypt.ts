// `rudder secrets-encrypt` on the server side: status, prepare, rotate and reencrypt as k3s
// names them, at /rudder/v1/secrets-encrypt/<action> for system:masters. Keys change in the
// running server (no restart): prepare adds a read key, rotate makes it the write key, reencrypt
// rewrites every stored secret with it and then drops the keys nothing uses.
import { badRequest, forbidden, methodNotSupported, notFoundPath } from '../api/errors.ts';
import { Encryption, prepareKey, pruneKeys, rotateKey, saveEncryptionConfig } from './encryption.ts';
import { writeObject, type Ctx } from './http.ts';
import type { Registry } from './registry.ts';

export const SECRETS_ENCRYPT_PATH = '/rudder/v1/secrets-encrypt/';

export function secretsEncryptRoute(reg: Registry, file: string | undefined, log: (m: string) => void): (ctx: Ctx) => Promise<void> {
  const secrets = reg.must('', 'secrets');
  const reload = (conf: Encryption['config']) => {
    const next = new Encryption(conf);
    saveEncryptionConfig(file!, conf);
    reg.encryption = next;
  };
  const counts = async () => {
    const r = await reg.store.list(`${secrets.prefix}/`);
    let current = 0;
    let stale = 0;
    for (const kv of r.kvs) {
      if (reg.encryption!.current(secrets.encryptionResource, Buffer.from(kv.value))) current++;
      else stale++;
    }
    return { current, stale };
  };
  const status = async () => {
    if (!reg.encryption) return { enabled: false };
    const conf = reg.encryption.config;
    const r = conf.resources.find((x) => x.resources.includes('secrets'));
    const keys = (r?.providers ?? []).flatMap((p) => Object.entries(p).flatMap(([kind, b]) => (b?.keys ?? []).map((k) => ({ type: kind, name: k.name }))));
    return { enabled: true, writeKey: reg.encryption.writeKey('secrets'), keys, secrets: await counts() };
  };
  return async (ctx) => {
    if (!ctx.user?.groups.includes('system:masters')) throw forbidden({ group: '', resource: '' }, '', `User "${ctx.user?.name}" cannot manage secrets encryption`);
    const action = ctx.path.slice(SECRETS_ENCRYPT_PATH.length);
    if (action === 'status') {
      if (ctx.method !== 'GET') throw methodNotSupported({ group: '', resource: 'secrets-encrypt' }, ctx.method);
      return writeObject(ctx, 200, await status());
    }
    if (!['prepare', 'rotate', 'reencrypt'].includes(action)) throw notFoundPath();
    if (ctx.method !== 'POST') throw methodNotSupported({ group: '', resource: 'secrets-encrypt' }, ctx.method);
    if (!reg.encryption || !file) throw badRequest('secrets encryption is disabled on this server');
    try {
      if (action === 'prepare') reload(prepareKey(reg.encryption.config));
      else if (action === 'rotate') reload(rotateKey(reg.encryption.config));
      else {
        let rewritten = 0;
        let cont: string | undefined;
        for (;;) {
          const page = await reg.store.list(`${secrets.prefix}/`, { limit: 500, startKey: cont });
          for (const kv of page.kvs) if (await secrets.reseal(kv.key)) rewritten++;
          if (!page.more || page.kvs.length === 0) break;
          cont = page.kvs[page.kvs.length - 1]!.key + '\0';
        }
        const left = await counts();
        if (left.stale === 0) reload(pruneKeys(reg.encryption.config));
        log(`secrets-encrypt: re-encrypted ${rewritten} secrets with ${reg.encryption.writeKey('secrets')}`);
      }
    } catch (e) {
      if (e instanceof Error && e.name === 'EncryptionError') throw badRequest(e.message);
      throw e;
    }
    log(`secrets-encrypt: ${action} done; writes use ${reg.encryption.writeKey('secrets')}`);
    return writeObject(ctx, 200, await status());
  };
}
