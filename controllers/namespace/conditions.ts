// The status conditions the namespace deleter keeps on a Terminating namespace
// (upstream: pkg/controller/namespace/deletion/status_condition_utils.go): every
// condition type is always present — True with the failure, or False with the
// "ok" reason and message — and only rewritten when its status, reason or message
// changes (the transition time moves only when the status does).
import type { NamespaceCondition } from 'kubernetes-types/core/v1.js';
import type { Mutable } from '../../machinery/object.js';

export type Condition = Mutable<NamespaceCondition>;

export const NAMESPACE_CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

type ConditionType = (typeof NAMESPACE_CONDITION_TYPES)[number];

const OK_MESSAGES: Record<ConditionType, string> = {
  NamespaceDeletionDiscoveryFailure: 'All resources successfully discovered',
  NamespaceDeletionGroupVersionParsingFailure: 'All legacy kube types successfully parsed',
  NamespaceDeletionContentFailure: 'All content successfully deleted, may be waiting on finalization',
  NamespaceContentRemaining: 'All content successfully removed',
  NamespaceFinalizersRemaining: 'All content-preserving finalizers finished',
};

const OK_REASONS: Record<ConditionType, string> = {
  NamespaceDeletionDiscoveryFailure: 'ResourcesDiscovered',
  NamespaceDeletionGroupVersionParsingFailure: 'ParsedGroupVersions',
  NamespaceDeletionContentFailure: 'ContentDeleted',
  NamespaceContentRemaining: 'ContentRemoved',
  NamespaceFinalizersRemaining: 'ContentHasNoFinalizers',
};

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What one deletion pass found; turned into conditions by update(). */
export class NamespaceConditionUpdater {
  private readonly conditions: Condition[] = [];
  private readonly contentErrors: string[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  processDiscoveryError(message: string): void {
    this.conditions.push({ type: 'NamespaceDeletionDiscoveryFailure', status: 'True', lastTransitionTime: rfc3339(this.now()), reason: 'DiscoveryFailed', message });
  }

  processDeleteContentError(message: string): void {
    this.contentErrors.push(message);
  }

  /** Remaining instances per `<resource>.<group>`, and per finalizer. */
  processContentTotals(remaining: ReadonlyMap<string, number>, finalizers: ReadonlyMap<string, number>): void {
    const at = rfc3339(this.now());
    const byResource = [...remaining].filter(([, n]) => n > 0).map(([gr, n]) => `${gr} has ${n} resource instances`);
    if (remaining.size > 0) {
      byResource.sort();
      this.conditions.push({ type: 'NamespaceContentRemaining', status: 'True', lastTransitionTime: at, reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${byResource.join(', ')}` });
    }
    const byFinalizer = [...finalizers].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`);
    if (finalizers.size > 0) {
      byFinalizer.sort();
      this.conditions.push({
        type: 'NamespaceFinalizersRemaining',
        status: 'True',
        lastTransitionTime: at,
        reason: 'SomeFinalizersRemain',
        message: `Some content in the namespace has finalizers remaining: ${byFinalizer.join(', ')}`,
      });
    }
  }

  /** Merge into `status.conditions`; true when anything changed. */
  update(status: { conditions?: Condition[] }): boolean {
    if (!this.conditions.some((c) => c.type === 'NamespaceDeletionContentFailure') && this.contentErrors.length > 0) {
      const msgs = [...this.contentErrors].sort();
      this.conditions.push({
        type: 'NamespaceDeletionContentFailure',
        status: 'True',
        lastTransitionTime: rfc3339(this.now()),
        reason: 'ContentDeletionFailed',
        message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}`,
      });
    }
    let changed = false;
    const list = (status.conditions ??= []);
    for (const type of NAMESPACE_CONDITION_TYPES) {
      const next = this.conditions.find((c) => c.type === type) ?? { type, status: 'False', lastTransitionTime: rfc3339(this.now()), reason: OK_REASONS[type], message: OK_MESSAGES[type] };
      const old = list.find((c) => c.type === type);
      if (!old) {
        list.push(next);
        changed = true;
      } else if (old.status !== next.status || old.message !== next.message || old.reason !== next.reason) {
        if (old.status !== next.status) old.lastTransitionTime = rfc3339(this.now());
        old.status = next.status;
        old.reason = next.reason;
        old.message = next.message;
        changed = true;
      }
    }
    return changed;
  }
}
