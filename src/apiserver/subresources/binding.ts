// Binding a pod to a node, as upstream's BindingREST: POST pods/NAME/binding (and the deprecated
// namespaced `bindings` resource) sets spec.nodeName and the PodScheduled=True condition in one
// write, refusing a pod that is already bound, being deleted, or still gated. The binding's
// metadata.uid and resourceVersion, when given, are preconditions on the pod; its annotations
// are copied onto the pod.
import { StatusError, conflict, field, fieldErrorString, type FieldError } from '../../api/errors.ts';
import { rfc3339, type KObject } from '../../api/meta.ts';
import type { Ctx } from '../http.ts';
import type { Registry, ResourceRegistry } from '../registry.ts';
import type { Json } from '../admission/common.ts';
import { isDryRun, readObject, reply, requireVerb, successStatus } from './io.ts';
import { updateWithStrategy } from './storage-update.ts';

const BINDING = { group: '', versions: ['v1'], kind: 'Binding' };

/** upstream's ValidatePodBinding. */
function validateBinding(b: Json): FieldError[] {
  const errs: FieldError[] = [];
  const kind = b.target?.kind ?? '';
  if (kind !== '' && kind !== 'Node') errs.push(field.notSupported('target.kind', kind, ['Node', '<empty>']));
  if (!b.target?.name) errs.push(field.required('target.name', ''));
  return errs;
}

/** upstream's UpdatePodCondition: a changed status moves lastTransitionTime; an unchanged one keeps it. */
export function setPodCondition(pod: Json, cond: Json, now: Date): void {
  const status = (pod.status ??= {});
  const conditions: Json[] = (status.conditions ??= []);
  const next = { type: cond.type, status: cond.status, lastProbeTime: null, lastTransitionTime: rfc3339(now), ...(cond.reason ? { reason: cond.reason } : {}), ...(cond.message ? { message: cond.message } : {}) };
  const i = conditions.findIndex((c) => c?.type === cond.type);
  if (i < 0) {
    conditions.push(next);
    return;
  }
  if (conditions[i].status === cond.status && conditions[i].lastTransitionTime) next.lastTransitionTime = conditions[i].lastTransitionTime;
  if (conditions[i].lastProbeTime) next.lastProbeTime = conditions[i].lastProbeTime;
  conditions[i] = next;
}

class BindRefused extends Error {}

/** Binds namespace/binding.metadata.name to binding.target.name. */
export async function bindPod(reg: Registry, namespace: string, binding: Json, dryRun: boolean): Promise<KObject> {
  const errs = validateBinding(binding);
  if (errs.length) {
    // upstream returns the bare aggregate, which the HTTP layer reports as an unknown 500
    const msgs = [...new Set(errs.map(fieldErrorString))];
    throw new StatusError({ code: 500, message: msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]` });
  }
  const pods = reg.must('', 'pods');
  const name: string = binding.metadata?.name ?? '';
  const uid: string | undefined = binding.metadata?.uid || undefined;
  const rv: string | undefined = binding.metadata?.resourceVersion || undefined;
  try {
    const { obj } = await updateWithStrategy(reg, pods, namespace, name, {
      subresource: 'binding',
      uid,
      dryRun,
      copyOnWrite: true,
      // Both handlers answer with a Status and drop the pod.
      handOff: true,
      apply(pod) {
        const p = pod as Json;
        if (rv && rv !== p.metadata.resourceVersion) {
          throw conflict(pods.gr, name, `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${p.metadata.resourceVersion}`);
        }
        if (p.metadata.deletionTimestamp) throw new BindRefused(`pod ${p.metadata.name} is being deleted, cannot be assigned to a host`);
        if (p.spec?.nodeName) throw new BindRefused(`pod ${p.metadata.name} is already assigned to node "${p.spec.nodeName}"`);
        if ((p.spec?.schedulingGates ?? []).length) throw new BindRefused(`pod ${p.metadata.name} has non-empty .spec.schedulingGates`);
        // The pod is the cache's (frozen): only what the binding changes is copied.
        const status = { ...(p.status ?? {}), conditions: [...(p.status?.conditions ?? [])] };
        const bound: Json = {
          ...p,
          metadata: { ...p.metadata, annotations: { ...(p.metadata.annotations ?? {}), ...(binding.metadata?.annotations ?? {}) } },
          spec: { ...(p.spec ?? {}), nodeName: binding.target.name },
          status,
        };
        setPodCondition(bound, { type: 'PodScheduled', status: 'True' }, reg.now());
        return bound;
      },
    });
    return obj;
  } catch (e) {
    if (e instanceof BindRefused) throw conflict({ group: '', resource: 'pods/binding' }, name, e.message);
    throw e;
  }
}

/** The connect handler for pods/binding. */
export function podBindingHandler(reg: Registry): (ctx: Ctx, r: ResourceRegistry) => Promise<void> {
  return async (ctx, r) => {
    requireVerb(ctx, r, 'binding', 'create');
    const binding = (await readObject(ctx, BINDING)) as Json;
    if (binding.metadata.name !== ctx.info.name) throw new StatusError({ reason: 'BadRequest', code: 400, message: 'name in URL does not match name in Binding object' });
    await bindPod(reg, ctx.info.namespace, binding, isDryRun(ctx));
    reply(ctx, 201, successStatus(201));
  };
}

/** The review-style handler of the deprecated POST namespaces/NS/bindings. */
export function bindingsResourceHandler(reg: Registry): (ctx: Ctx, obj: KObject) => Promise<KObject> {
  return async (ctx, obj) => {
    await bindPod(reg, ctx.info.namespace, obj, isDryRun(ctx));
    return successStatus(201) as unknown as KObject;
  };
}
