// Impersonation, as upstream's filters.WithImpersonation: the Impersonate-User, Impersonate-Group,
// Impersonate-Uid and Impersonate-Extra-<key> headers make a request act as another identity when
// the requesting user may `impersonate` each part (users, serviceaccounts, groups, uids,
// userextras/<key>), checked with the request's authorizer.
import { StatusError } from '../../api/errors.ts';
import type { UserInfo } from '../registry.ts';
import { ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ANONYMOUS_USER, forbiddenError, type Attributes, type Authorizer } from './authorizer.ts';

export const IMPERSONATE_USER = 'impersonate-user';
export const IMPERSONATE_GROUP = 'impersonate-group';
export const IMPERSONATE_UID = 'impersonate-uid';
export const IMPERSONATE_EXTRA_PREFIX = 'impersonate-extra-';

/**
 * Request headers by lowercased name. A header sent several times (Impersonate-Group) must arrive
 * as an array (node's `req.headersDistinct`); a string is one value.
 */
export type HeaderMap = Record<string, string | string[] | undefined>;

interface ImpersonationRequest {
  kind: 'User' | 'ServiceAccount' | 'Group' | 'UserExtra' | 'UID';
  namespace: string;
  name: string;
  apiVersion: string;
  fieldPath: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** upstream's serviceaccount.SplitUsername, with its namespace and name validation. */
function splitServiceAccount(username: string): { namespace: string; name: string } | undefined {
  const prefix = 'system:serviceaccount:';
  if (!username.startsWith(prefix)) return undefined;
  const parts = username.slice(prefix.length).split(':');
  if (parts.length !== 2) return undefined;
  const [ns, name] = parts as [string, string];
  if (ns.length > 63 || !DNS1123_LABEL.test(ns)) return undefined;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return undefined;
  return { namespace: ns, name };
}

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => x !== '');
}

/** url.PathUnescape, leaving a malformed escape as it is (upstream's unescapeExtraKey). */
function unescapeExtraKey(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** Go's %v of the []ObjectReference upstream reports. */
function describeRequests(reqs: ImpersonationRequest[]): string {
  return `[${reqs.map((r) => `{${r.kind} ${r.namespace} ${r.name}  ${r.apiVersion}  ${r.fieldPath}}`).join(' ')}]`;
}

/** upstream's buildImpersonationRequests. */
function buildRequests(headers: HeaderMap): ImpersonationRequest[] {
  const reqs: ImpersonationRequest[] = [];
  const user = values(headers[IMPERSONATE_USER])[0];
  if (user) {
    const sa = splitServiceAccount(user);
    if (sa) reqs.push({ kind: 'ServiceAccount', namespace: sa.namespace, name: sa.name, apiVersion: '', fieldPath: '' });
    else reqs.push({ kind: 'User', namespace: '', name: user, apiVersion: '', fieldPath: '' });
  }
  let others = false;
  for (const g of values(headers[IMPERSONATE_GROUP])) {
    others = true;
    reqs.push({ kind: 'Group', namespace: '', name: g, apiVersion: '', fieldPath: '' });
  }
  for (const [header, v] of Object.entries(headers)) {
    const h = header.toLowerCase();
    if (!h.startsWith(IMPERSONATE_EXTRA_PREFIX)) continue;
    others = true;
    const key = unescapeExtraKey(h.slice(IMPERSONATE_EXTRA_PREFIX.length));
    for (const value of values(v)) reqs.push({ kind: 'UserExtra', namespace: '', name: value, apiVersion: 'authentication.k8s.io/v1', fieldPath: key });
  }
  const uid = values(headers[IMPERSONATE_UID])[0];
  if (uid) {
    others = true;
    reqs.push({ kind: 'UID', namespace: '', name: uid, apiVersion: 'authentication.k8s.io/v1', fieldPath: '' });
  }
  if (others && !user) {
    throw new StatusError({
      reason: 'InternalError',
      code: 500,
      message: `Internal error occurred: requested ${describeRequests(reqs)} without impersonating a user`,
    });
  }
  return reqs;
}

/** Whether the request carries any impersonation header. */
export function hasImpersonation(headers: HeaderMap): boolean {
  for (const h of Object.keys(headers)) {
    const l = h.toLowerCase();
    if (l === IMPERSONATE_USER || l === IMPERSONATE_GROUP || l === IMPERSONATE_UID || l.startsWith(IMPERSONATE_EXTRA_PREFIX)) return true;
  }
  return false;
}

/**
 * The identity a request acts as: `user` itself when no impersonation header is present, else the
 * impersonated user after checking that `user` may impersonate every part of it. Throws upstream's
 * 403 (e.g. `users "jane" is forbidden: User "bob" cannot impersonate resource "users" in API
 * group "" at the cluster scope`) for the first part refused.
 */
export function impersonate(user: UserInfo, headers: HeaderMap, authz: Authorizer): UserInfo {
  if (!hasImpersonation(headers)) return user;
  const reqs = buildRequests(headers);
  if (reqs.length === 0) return user;
  const groupsSpecified = values(headers[IMPERSONATE_GROUP]).length > 0;
  let username = '';
  let uid = '';
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};
  for (const r of reqs) {
    const group = r.apiVersion.includes('/') ? r.apiVersion.split('/')[0]! : '';
    const attrs: Attributes = {
      user,
      verb: 'impersonate',
      resourceRequest: true,
      apiGroup: group,
      apiVersion: r.apiVersion.includes('/') ? r.apiVersion.split('/')[1]! : r.apiVersion,
      namespace: r.namespace,
      name: r.name,
      resource: '',
      subresource: '',
      path: '',
    };
    switch (r.kind) {
      case 'ServiceAccount':
        attrs.resource = 'serviceaccounts';
        username = `system:serviceaccount:${r.namespace}:${r.name}`;
        if (!groupsSpecified) groups = ['system:serviceaccounts', `system:serviceaccounts:${r.namespace}`];
        break;
      case 'User':
        attrs.resource = 'users';
        username = r.name;
        break;
      case 'Group':
        attrs.resource = 'groups';
        groups.push(r.name);
        break;
      case 'UserExtra':
        attrs.resource = 'userextras';
        attrs.subresource = r.fieldPath;
        (extra[r.fieldPath] ??= []).push(r.name);
        break;
      case 'UID':
        attrs.resource = 'uids';
        uid = r.name;
        break;
    }
    const res = authz.authorize(attrs);
    if (res.decision !== 'Allow') throw forbiddenError(attrs, res.reason);
  }
  if (username !== ANONYMOUS_USER) {
    if (!groups.some((g) => g === ALL_AUTHENTICATED || g === ALL_UNAUTHENTICATED)) groups.push(ALL_AUTHENTICATED);
  } else if (!groups.includes(ALL_UNAUTHENTICATED)) {
    groups.push(ALL_UNAUTHENTICATED);
  }
  const out: UserInfo = { name: username, groups };
  if (uid) out.uid = uid;
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}
