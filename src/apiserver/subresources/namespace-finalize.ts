// PUT namespaces/NAME/finalize, as upstream's FinalizeREST: writes the Namespace's
// spec.finalizers (the namespace controller removes "kubernetes" once the namespace is empty);
// status stays as stored. A Namespace that is being deleted, whose spec.finalizers and
// metadata.finalizers are then both empty, is removed from storage by this very write, as
// upstream's ShouldDeleteNamespaceDuringUpdate does.
import { badRequest } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import { validateNamespaceFinalizeUpdate } from '../../api/validation/core.ts';
import type { Ctx } from '../http.ts';
import type { Registry, ResourceRegistry } from '../registry.ts';
import type { Json } from '../admission/common.ts';
import { identity, isDryRun, readObject, reply, requireVerb } from './io.ts';
import { updateWithStrategy } from './storage-update.ts';

const NAMESPACE = { group: '', versions: ['v1'], kind: 'Namespace' };

/** Whether a namespace update completes its deletion (upstream's ShouldDeleteNamespaceDuringUpdate). */
export function namespaceFinalized(ns: KObject): boolean {
  const o = ns as Json;
  return !!o.metadata?.deletionTimestamp && !(o.spec?.finalizers ?? []).length && !(o.metadata?.finalizers ?? []).length;
}

export function namespaceFinalizeHandler(reg: Registry): (ctx: Ctx, r: ResourceRegistry) => Promise<void> {
  return async (ctx, namespaces) => {
    requireVerb(ctx, namespaces, 'finalize', 'update');
    const body = (await readObject(ctx, NAMESPACE)) as Json;
    const name = ctx.info.name;
    if (body.metadata.name && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    const who = identity(ctx);
    const { obj } = await updateWithStrategy(reg, namespaces, '', name, {
      subresource: 'finalize',
      resourceVersion: body.metadata.resourceVersion || undefined,
      admit: true,
      managedFields: true,
      dryRun: isDryRun(ctx),
      ...who,
      apply(cur) {
        const finalizers = body.spec?.finalizers;
        const spec = { ...((cur as Json).spec ?? {}) };
        if (Array.isArray(finalizers) && finalizers.length) spec.finalizers = finalizers;
        else delete spec.finalizers;
        return { ...cur, spec };
      },
      validate: (obj, old) => validateNamespaceFinalizeUpdate(obj, old),
      deleteIf: namespaceFinalized,
    });
    reply(ctx, 200, obj);
  };
}
