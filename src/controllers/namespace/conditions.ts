// Namespace status conditions the namespace controller maintains while a namespace terminates
// (upstream's pkg/controller/namespace/deletion/status_condition_utils.go): each condition type is
// always present, True with the failure's reason and message, or False with its "ok" wording.

export const CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

export type NamespaceConditionType = (typeof CONDITION_TYPES)[number];

export interface NamespaceCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

const OK_MESSAGES: Record<NamespaceConditionType, string> = {
  NamespaceDeletionDiscoveryFailure: 'All resources successfully discovered',
  NamespaceDeletionGroupVersionParsingFailure: 'All legacy kube types successfully parsed',
  NamespaceDeletionContentFailure: 'All content successfully deleted, may be waiting on finalization',
  NamespaceContentRemaining: 'All content successfully removed',
  NamespaceFinalizersRemaining: 'All content successfully removed',
};

const OK_REASONS: Record<NamespaceConditionType, string> = {
  NamespaceDeletionDiscoveryFailure: 'ResourcesDiscovered',
  NamespaceDeletionGroupVersionParsingFailure: 'ParsedGroupVersions',
  NamespaceDeletionContentFailure: 'ContentDeleted',
  NamespaceContentRemaining: 'ContentRemoved',
  NamespaceFinalizersRemaining: 'ContentRemoved',
};

/** What one pass over the namespace's content found. */
export interface ContentTotals {
  /** "<resource>.<group>" (group may be empty, as upstream prints it: "pods.") → items remaining. */
  remainingByResource: Map<string, number>;
  /** finalizer → items carrying it among the remaining ones. */
  remainingByFinalizer: Map<string, number>;
  /** Errors deleting content, one per resource type that failed. */
  deleteErrors: string[];
  discoveryError?: string;
}

/** The failure conditions a pass implies (types absent here are "ok"). */
export function failureConditions(t: ContentTotals, now: string): NamespaceCondition[] {
  const out: NamespaceCondition[] = [];
  if (t.discoveryError) out.push({ type: 'NamespaceDeletionDiscoveryFailure', status: 'True', lastTransitionTime: now, reason: 'DiscoveryFailed', message: t.discoveryError });
  const resources = [...t.remainingByResource].filter(([, n]) => n > 0).map(([gr, n]) => `${gr} has ${n} resource instances`);
  if (t.remainingByResource.size > 0) {
    out.push({ type: 'NamespaceContentRemaining', status: 'True', lastTransitionTime: now, reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${resources.sort().join(', ')}` });
  }
  const finalizers = [...t.remainingByFinalizer].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`);
  if (t.remainingByFinalizer.size > 0) {
    out.push({ type: 'NamespaceFinalizersRemaining', status: 'True', lastTransitionTime: now, reason: 'SomeFinalizerRemain', message: `Some finalizers are remaining: ${finalizers.sort().join(', ')}` });
  }
  if (t.deleteErrors.length > 0) {
    const msgs = [...t.deleteErrors].sort();
    out.push({ type: 'NamespaceDeletionContentFailure', status: 'True', lastTransitionTime: now, reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}` });
  }
  return out;
}

/**
 * The namespace's conditions after a pass: every managed type present, taking the new failure
 * or the ok variant; lastTransitionTime changes only when the status does. Answers the new list
 * and whether anything changed. Other condition types are kept as they are.
 */
export function updateConditions(current: readonly NamespaceCondition[], failures: readonly NamespaceCondition[], now: string): { conditions: NamespaceCondition[]; changed: boolean } {
  const conditions = current.map((c) => ({ ...c }));
  let changed = false;
  for (const type of CONDITION_TYPES) {
    const next = failures.find((c) => c.type === type) ?? { type, status: 'False', lastTransitionTime: now, reason: OK_REASONS[type], message: OK_MESSAGES[type] };
    const old = conditions.find((c) => c.type === type);
    if (!old) {
      conditions.push({ ...next });
      changed = true;
    } else if (old.status !== next.status || old.message !== next.message || old.reason !== next.reason) {
      if (old.status !== next.status) old.lastTransitionTime = now;
      old.status = next.status;
      old.reason = next.reason;
      old.message = next.message;
      changed = true;
    }
  }
  return { conditions, changed };
}
