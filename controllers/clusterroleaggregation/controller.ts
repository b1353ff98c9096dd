// The ClusterRole aggregation controller (upstream: pkg/controller/
// clusterroleaggregation): a ClusterRole with an aggregationRule gets as its rules the
// union of the rules of every other ClusterRole matching any of its selectors —
// selectors in order, matching roles by name, each rule once, in order of first
// appearance. Written with server-side apply under its own field manager.
import type { ClusterRole, PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import { labelSelectorMatches } from '../../machinery/labels.js';
import { semanticEqual } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';

const CLUSTER_ROLES = resourceByPath('rbac.authorization.k8s.io', 'v1', 'clusterroles')!;
export const FIELD_MANAGER = 'clusterrole-aggregation-controller';

export interface ClusterRoleAggregationOptions {
  workers?: number;
  log?: (msg: string) => void;
}

function isAggregated(role: ClusterRole): boolean {
  return role.aggregationRule !== undefined && role.aggregationRule !== null;
}

/** The rules `role` should hold, given every ClusterRole there is. */
export function aggregatedRules(role: ClusterRole, all: readonly ClusterRole[]): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const name = role.metadata?.name;
  for (const selector of role.aggregationRule?.clusterRoleSelectors ?? []) {
    const matching = all.filter((r) => r.metadata?.name !== name && labelSelectorMatches(selector, r.metadata?.labels)).sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
    for (const r of matching) {
      for (const rule of r.rules ?? []) if (!rules.some((have) => semanticEqual(have, rule))) rules.push(rule);
    }
  }
  return rules;
}

export class ClusterRoleAggregationController extends QueueController {
  readonly clusterRoles: Informer<ClusterRole>;
  private readonly transport: ApiTransport;

  constructor(ctx: ControllerContext, opts: ClusterRoleAggregationOptions = {}) {
    super({ name: 'clusterrole-aggregation', workers: opts.workers ?? 5, log: opts.log });
    this.transport = ctx.transport;
    this.clusterRoles = ctx.informers.informerFor<ClusterRole>(CLUSTER_ROLES);
    // Any ClusterRole change may feed any aggregated role: look at all of them.
    this.watch(this.clusterRoles, () => this.aggregatedRoleNames());
  }

  private aggregatedRoleNames(): string[] {
    const out: string[] = [];
    this.clusterRoles.store.forEach((r) => {
      if (isAggregated(r) && r.metadata?.name) out.push(r.metadata.name);
    });
    return out;
  }

  protected override async reconcile(name: string): Promise<void> {
    const role = this.clusterRoles.store.get(undefined, name);
    if (!role || !isAggregated(role)) return;
    const rules = aggregatedRules(role, this.clusterRoles.store.list());
    if (semanticEqual(rules, role.rules)) return;
    try {
      await this.transport.patch(CLUSTER_ROLES, undefined, name, 'apply', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules }, { fieldManager: FIELD_MANAGER, force: true });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }
}

export function newClusterRoleAggregationController(ctx: ControllerContext, opts: ClusterRoleAggregationOptions = {}): ClusterRoleAggregationController {
  return new ClusterRoleAggregationController(ctx, opts);
}
