// NamespaceLifecycle admission (first in upstream's order; see plugins.ts for the chain).
import { StatusError, forbidden, notFound } from '../../api/errors.ts';
import type { AdmissionPlugin } from '../registry.ts';
import { BUILTIN_NAMESPACES } from '../bootstrap.ts';

/** Kinds that may be created in a namespace that is being deleted (upstream's exemptions). */
const TERMINATING_EXEMPT = new Set(['/events', 'events.k8s.io/events', 'authorization.k8s.io/localsubjectaccessreviews', '/serviceaccounts/token']);

/**
 * NamespaceLifecycle: objects go only into namespaces that exist and are not terminating; the
 * built-in namespaces cannot be deleted.
 */
export function namespaceLifecycle(): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    async admit(a, reg) {
      const r = a.resource;
      if (r.group === '' && r.plural === 'namespaces') {
        if (a.operation === 'DELETE' && BUILTIN_NAMESPACES.includes(a.name)) {
          throw forbidden({ group: '', resource: 'namespaces' }, a.name, 'this namespace may not be deleted');
        }
        return;
      }
      if (!r.namespaced || a.operation !== 'CREATE') return;
      const ns = reg.must('', 'namespaces').cache.get(`/registry/namespaces/${a.namespace}`) ?? (await reg.must('', 'namespaces').current('', a.namespace));
      if (!ns) throw notFound({ group: '', resource: 'namespaces' }, a.namespace);
      const phase = (ns.obj as { status?: { phase?: string } }).status?.phase;
      if ((phase === 'Terminating' || ns.obj.metadata.deletionTimestamp) && !TERMINATING_EXEMPT.has(`${r.group}/${r.plural}`)) {
        throw new StatusError({
          reason: 'Forbidden',
          code: 403,
          message: `${r.group ? `${r.plural}.${r.group}` : r.plural} "${a.name}" is forbidden: unable to create new content in namespace ${a.namespace} because it is being terminated`,
          details: { name: a.name, group: r.group || undefined, kind: r.plural, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${a.namespace} is being terminated`, field: 'metadata.namespace' }] },
        });
      }
    },
  };
}
