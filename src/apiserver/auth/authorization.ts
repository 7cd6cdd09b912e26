// The API server's authorization, assembled in kube-apiserver's order: the privileged group
// (system:masters) first, then the modes Node and RBAC; the same members answer
// SelfSubjectRulesReview. Also runs the ClusterRole aggregation over the watch cache.
//
// Create it after the watch cache has started (the RBAC index and the node graph load from it).
import type { Ctx } from '../http.ts';
import type { AdmissionPlugin, Registry } from '../registry.ts';
import type { KObject } from '../../api/meta.ts';
import { accessReviewHandlers } from './access-reviews.ts';
import { authorizeRequest, privilegedGroupAuthorizer, unionAuthorizer, unionRuleResolver, type AuthorizationResult, type Attributes, type Authorizer, type RuleResolver } from './authorizer.ts';
import { NodeAuthorizer, NodeGraph } from './node-authorizer.ts';
import { RBACAuthorizer, rbacCaches } from './rbac.ts';
import { startClusterRoleAggregation, type ClusterRoleAggregator } from './rbac-aggregation.ts';
import { rbacEscalationAdmission } from './rbac-escalation.ts';
import { nodeRestriction } from './node-restriction.ts';

export interface Authorization {
  /** The union: privileged group, Node, RBAC. */
  authorizer: Authorizer;
  ruleResolver: RuleResolver;
  rbac: RBACAuthorizer;
  nodeGraph: NodeGraph;
  aggregator?: ClusterRoleAggregator;
  /** SubjectAccessReview, LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview. */
  reviews: Map<string, (ctx: Ctx, obj: KObject) => KObject>;
  /** NodeRestriction (upstream's place: after ServiceAccount). */
  nodeRestriction: AdmissionPlugin;
  /** RBAC escalation prevention on the four RBAC kinds (upstream does it in RBAC storage: run it last). */
  rbacEscalation: AdmissionPlugin;
  /** Authorizes ctx's request as ctx.user; throws upstream's 403. */
  authorize(ctx: Pick<Ctx, 'info' | 'user' | 'query'>): { attrs: Attributes; result: AuthorizationResult };
  stop(): void;
}

export interface AuthorizationOptions {
  /** Run the ClusterRole aggregation on ClusterRole changes (default true). */
  aggregateClusterRoles?: boolean;
  log?: (msg: string) => void;
}

export function createAuthorization(reg: Registry, o: AuthorizationOptions = {}): Authorization {
  const privileged = privilegedGroupAuthorizer();
  const nodeGraph = new NodeGraph().attach(reg);
  const node = new NodeAuthorizer(nodeGraph);
  const rbac = new RBACAuthorizer(rbacCaches(reg));
  const authorizer = unionAuthorizer([privileged, node, rbac]);
  const ruleResolver = unionRuleResolver([privileged, node, rbac]);
  const aggregator = o.aggregateClusterRoles === false ? undefined : startClusterRoleAggregation(reg, o.log);
  return {
    authorizer,
    ruleResolver,
    rbac,
    nodeGraph,
    aggregator,
    reviews: accessReviewHandlers({ authorizer, ruleResolver, now: () => reg.now() }),
    nodeRestriction: nodeRestriction(),
    rbacEscalation: rbacEscalationAdmission({ authorizer, rbac }),
    authorize(ctx) {
      if (!ctx.user) throw new Error('authorize: the request has no user (authenticate first)');
      return authorizeRequest(authorizer, { info: ctx.info, user: ctx.user, query: ctx.query });
    },
    stop() {
      aggregator?.stop();
      rbac.stop();
      nodeGraph.stop();
    },
  };
}
