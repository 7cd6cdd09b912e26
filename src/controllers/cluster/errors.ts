// Predicates over the StatusErrors the client throws, as upstream's apimachinery/pkg/api/errors
// (IsNotFound, IsConflict, HasStatusCause …), for the controllers of this cluster set.
import { StatusError } from '../../api/errors.ts';

export function isNotFound(e: unknown): boolean {
  return e instanceof StatusError && e.code === 404;
}

export function isConflict(e: unknown): boolean {
  return e instanceof StatusError && e.code === 409 && e.reason !== 'AlreadyExists';
}

export function isAlreadyExists(e: unknown): boolean {
  return e instanceof StatusError && e.reason === 'AlreadyExists';
}

export function isForbidden(e: unknown): boolean {
  return e instanceof StatusError && e.code === 403;
}

/** upstream's HasStatusCause: the error's details carry a cause of this type (reason). */
export function hasStatusCause(e: unknown, cause: string): boolean {
  return e instanceof StatusError && !!e.status.details?.causes?.some((c) => c.reason === cause);
}

/** v1.NamespaceTerminatingCause: a create refused because the namespace is being deleted. */
export const NAMESPACE_TERMINATING_CAUSE = 'NamespaceTerminating';

/** Whether a create failed only because its namespace is going away (or gone): not worth a retry. */
export function isNamespaceGoneOrTerminating(e: unknown): boolean {
  return hasStatusCause(e, NAMESPACE_TERMINATING_CAUSE) || (isNotFound(e) && (e as StatusError).status.details?.kind === 'namespaces');
}
