// The certificatesigningrequests/approval subresource, as upstream's ApprovalREST with its
// csrApprovalStrategy: GET answers the CSR; PUT (and PATCH) write status.conditions only — the
// Approved/Denied conditions that `kubectl certificate approve|deny` add — taking everything else
// from the stored object, stamping lastUpdateTime and lastTransitionTime as upstream does, and
// validating with validateCertificateSigningRequestApprovalUpdate.
import { badRequest, unsupportedMediaType } from '../../api/errors.ts';
import { rfc3339, type KObject } from '../../api/meta.ts';
import { validateCertificateSigningRequestApprovalUpdate } from '../../api/validation/certificates.ts';
import type { Codecs } from '../handlers.ts';
import { mediaType, readBody, decodeText, JSON_TYPE, type Ctx } from '../http.ts';
import type { Registry, ResourceRegistry } from '../registry.ts';
import type { Json } from '../admission/common.ts';
import { identity, isDryRun, readObject, reply, requireVerb } from './io.ts';
import { updateWithStrategy } from './storage-update.ts';

const CSR = { group: 'certificates.k8s.io', versions: ['v1'], kind: 'CertificateSigningRequest' };
const PATCH_TYPES: Record<string, 'json' | 'merge' | 'strategic'> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};

/** upstream's csrApprovalStrategy.PrepareForUpdate with populateConditionTimestamps. */
export function prepareApproval(requested: Json, old: Json, now: Date): Json {
  const t = rfc3339(now);
  const conditions: Json[] = structuredClone(requested?.status?.conditions ?? []);
  for (const c of conditions) {
    if (!c.lastUpdateTime) c.lastUpdateTime = t;
    if (!c.lastTransitionTime) {
      const prior = (old.status?.conditions ?? []).find((o: Json) => o?.type === c.type && o?.status === c.status && o?.lastTransitionTime);
      c.lastTransitionTime = prior?.lastTransitionTime ?? t;
    }
  }
  const out = structuredClone(old);
  out.status = { ...(out.status ?? {}) };
  if (conditions.length) out.status.conditions = conditions;
  else delete out.status.conditions;
  return out;
}

export function csrApprovalHandler(reg: Registry, codecs?: Pick<Codecs, 'patch'>): (ctx: Ctx, r: ResourceRegistry) => Promise<void> {
  return async (ctx, csrs) => {
    requireVerb(ctx, csrs, 'approval', 'get', 'update', 'patch');
    const name = ctx.info.name;
    if (ctx.info.verb === 'get') return reply(ctx, 200, (await csrs.get('', name)).obj);
    let requested: (cur: Json) => Json;
    let rv: string | undefined;
    if (ctx.info.verb === 'update') {
      const body = (await readObject(ctx, CSR)) as Json;
      if (body.metadata.name && body.metadata.name !== name) {
        throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
      }
      rv = body.metadata.resourceVersion || undefined;
      requested = () => body;
    } else {
      const pt = PATCH_TYPES[mediaType(ctx.req.headers['content-type'])];
      if (!pt || !codecs) throw unsupportedMediaType(mediaType(ctx.req.headers['content-type']));
      const patch = ctx.local ? structuredClone(ctx.local.body) : decodeText(await readBody(ctx.req), JSON_TYPE);
      requested = (cur) => codecs.patch(pt, { group: CSR.group, version: 'v1', kind: CSR.kind }, cur as KObject, patch);
    }
    const who = identity(ctx);
    const { obj } = await updateWithStrategy(reg, csrs, '', name, {
      subresource: 'approval',
      resourceVersion: rv,
      admit: true,
      managedFields: true,
      dryRun: isDryRun(ctx),
      ...who,
      apply: (cur) => prepareApproval(requested(cur), cur, reg.now()),
      validate: (obj, old) => validateCertificateSigningRequestApprovalUpdate(obj, old),
    });
    reply(ctx, 200, obj);
  };
}
