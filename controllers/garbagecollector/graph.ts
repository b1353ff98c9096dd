// The garbage collector's dependency graph (upstream: pkg/controller/garbagecollector
// graph.go + graph_builder.go): one node per object uid, linked to the nodes of its
// owners. Objects seen through the informers are "observed" nodes; an owner that is
// referenced but not (yet) seen gets a "virtual" node, which the collector checks
// against the API. The graph only records; what to look at next goes to two queues
// through the sink: attemptToDelete (is this object garbage? is this foreground
// deletion finished?) and attemptToOrphan (detach the dependents of this owner).
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ApiObject } from '../../client/transport.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** Where an object lives: enough to GET, PATCH or DELETE it. */
export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  /** The dependent's namespace for virtual owners (used only if the kind is namespaced). */
  namespace: string;
  name: string;
  uid: string;
}

export function identityString(id: ObjectIdentity): string {
  return `[${id.apiVersion}/${id.kind}, namespace: ${id.namespace}, name: ${id.name}, uid: ${id.uid}]`;
}

export class GraphNode {
  readonly dependents = new Set<GraphNode>();
  /** deletionTimestamp is set. */
  beingDeleted = false;
  /** deletionTimestamp is set and the foregroundDeletion finalizer is present. */
  deletingDependents = false;

  constructor(
    public identity: ObjectIdentity,
    public owners: readonly OwnerReference[],
    /** Seen through an informer (false: a virtual node standing in for an owner). */
    public observed: boolean,
  ) {}

  get uid(): string {
    return this.identity.uid;
  }

  /** Dependents whose reference to this node has blockOwnerDeletion set. */
  blockingDependents(): GraphNode[] {
    const out: GraphNode[] = [];
    for (const dep of this.dependents) {
      if (dep.owners.some((o) => o.uid === this.uid && o.blockOwnerDeletion === true)) out.push(dep);
    }
    return out;
  }
}

export interface GraphSink {
  attemptToDelete(uid: string): void;
  attemptToOrphan(uid: string): void;
  /** A dependent refers to an owner seen in another namespace. */
  invalidNamespaceOwnerRef?(dependent: GraphNode, owner: OwnerReference): void;
}

function hasFinalizer(obj: ApiObject | undefined, finalizer: string): boolean {
  return (obj?.metadata?.finalizers ?? []).includes(finalizer);
}

function isBeingDeleted(obj: ApiObject | undefined): boolean {
  return !!obj?.metadata?.deletionTimestamp;
}

export function isDeletingDependents(obj: ApiObject | undefined): boolean {
  return isBeingDeleted(obj) && hasFinalizer(obj, FINALIZER_FOREGROUND);
}

export function isOrphaning(obj: ApiObject | undefined): boolean {
  return isBeingDeleted(obj) && hasFinalizer(obj, FINALIZER_ORPHAN);
}

/** Owner-reference differences by uid: added, removed, and those whose blockOwnerDeletion changed. */
function referenceDiffs(
  old: readonly OwnerReference[],
  now: readonly OwnerReference[],
): { added: OwnerReference[]; removed: OwnerReference[]; changed: { old: OwnerReference; now: OwnerReference }[] } {
  const before = new Map(old.map((r) => [r.uid, r]));
  const after = new Map(now.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const removed: OwnerReference[] = [];
  const changed: { old: OwnerReference; now: OwnerReference }[] = [];
  for (const r of now) {
    const o = before.get(r.uid);
    if (!o) added.push(r);
    else if (!!o.blockOwnerDeletion !== !!r.blockOwnerDeletion || o.name !== r.name || o.kind !== r.kind || o.apiVersion !== r.apiVersion) changed.push({ old: o, now: r });
  }
  for (const r of old) if (!after.has(r.uid)) removed.push(r);
  return { added, removed, changed };
}

export class DependencyGraph {
  readonly nodes = new Map<string, GraphNode>();

  constructor(
    private readonly sink: GraphSink,
    /** Whether a kind is namespaced (undefined: unknown kind). */
    private readonly namespacedKind: (apiVersion: string, kind: string) => boolean | undefined,
  ) {}

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  /** An add or update seen through an informer. */
  observe(identity: ObjectIdentity, obj: ApiObject, oldObj?: ApiObject): void {
    const owners = obj.metadata?.ownerReferences ?? [];
    let node = this.nodes.get(identity.uid);
    if (node && !node.observed) {
      // A virtual node turns out to exist: take the identity we actually saw.
      if (node.identity.kind !== identity.kind || node.identity.apiVersion !== identity.apiVersion || node.identity.name !== identity.name || node.identity.namespace !== identity.namespace) {
        // Dependents that called it something else get re-checked.
        for (const dep of node.dependents) this.sink.attemptToDelete(dep.uid);
      }
      node.identity = identity;
      node.observed = true;
    }
    if (!node) {
      node = new GraphNode(identity, owners, true);
      node.beingDeleted = isBeingDeleted(obj);
      node.deletingDependents = isDeletingDependents(obj);
      this.nodes.set(identity.uid, node);
      this.addDependentToOwners(node, owners);
      this.processTransitions(undefined, obj, node);
      return;
    }
    node.identity = identity;
    const { added, removed, changed } = referenceDiffs(node.owners, owners);
    if (added.length || removed.length || changed.length) {
      this.addUnblockedOwnersToDeleteQueue(removed, changed);
      node.owners = owners;
      this.addDependentToOwners(node, added);
      this.removeDependentFromOwners(node, removed);
    }
    if (isBeingDeleted(obj)) node.beingDeleted = true;
    this.processTransitions(oldObj, obj, node);
  }

  /**
   * The object is gone: seen deleted through an informer, or (virtual) confirmed absent
   * by the API. Its dependents get checked; an owner waiting for its dependents too.
   */
  remove(identity: ObjectIdentity, virtual = false): void {
    const node = this.nodes.get(identity.uid);
    if (!node) return;
    if (virtual && node.observed && (node.identity.kind !== identity.kind || node.identity.name !== identity.name || node.identity.namespace !== identity.namespace)) {
      // The API said "absent" for other coordinates than the ones observed: the node stays,
      // the dependents that used those coordinates get a look.
      for (const dep of node.dependents) {
        if (dep.owners.some((o) => o.uid === identity.uid && o.kind === identity.kind && o.name === identity.name)) this.sink.attemptToDelete(dep.uid);
      }
      return;
    }
    this.nodes.delete(identity.uid);
    this.removeDependentFromOwners(node, node.owners);
    for (const dep of node.dependents) this.sink.attemptToDelete(dep.uid);
    for (const ref of node.owners) {
      const owner = this.nodes.get(ref.uid);
      if (owner?.deletingDependents) this.sink.attemptToDelete(owner.uid);
    }
  }

  private addDependentToOwners(node: GraphNode, owners: readonly OwnerReference[]): void {
    let suspicious = false;
    for (const ref of owners) {
      let owner = this.nodes.get(ref.uid);
      if (!owner) {
        const namespaced = this.namespacedKind(ref.apiVersion, ref.kind);
        owner = new GraphNode(
          { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: namespaced === false ? '' : node.identity.namespace },
          [],
          false,
        );
        this.nodes.set(ref.uid, owner);
        owner.dependents.add(node);
        // The collector asks the API whether it exists.
        this.sink.attemptToDelete(owner.uid);
        continue;
      }
      owner.dependents.add(node);
      const ownerNamespaced = owner.identity.namespace !== '';
      if (ownerNamespaced && owner.identity.namespace !== node.identity.namespace) {
        if (owner.observed) this.sink.invalidNamespaceOwnerRef?.(node, ref);
        suspicious = true;
      } else if (owner.identity.kind !== ref.kind || owner.identity.name !== ref.name) {
        suspicious = true;
      }
    }
    // The collector checks whether those references are dangling.
    if (suspicious) this.sink.attemptToDelete(node.uid);
  }

  private removeDependentFromOwners(node: GraphNode, owners: readonly OwnerReference[]): void {
    for (const ref of owners) {
      const owner = this.nodes.get(ref.uid);
      if (!owner) continue;
      owner.dependents.delete(node);
      // A virtual owner nobody refers to any more has no reason to stay.
      if (!owner.observed && owner.dependents.size === 0) this.nodes.delete(owner.uid);
    }
  }

  /** Owners waiting for their dependents, that a removed or no longer blocking reference may unblock. */
  private addUnblockedOwnersToDeleteQueue(removed: readonly OwnerReference[], changed: readonly { old: OwnerReference; now: OwnerReference }[]): void {
    for (const ref of removed) {
      if (!ref.blockOwnerDeletion) continue;
      const owner = this.nodes.get(ref.uid);
      if (owner?.deletingDependents) this.sink.attemptToDelete(owner.uid);
    }
    for (const c of changed) {
      if (c.old.blockOwnerDeletion && !c.now.blockOwnerDeletion) {
        const owner = this.nodes.get(c.now.uid);
        if (owner?.deletingDependents) this.sink.attemptToDelete(owner.uid);
      }
    }
  }

  private processTransitions(oldObj: ApiObject | undefined, obj: ApiObject, node: GraphNode): void {
    if (isOrphaning(obj) && !isOrphaning(oldObj)) {
      this.sink.attemptToOrphan(node.uid);
      return;
    }
    if (isDeletingDependents(obj) && !isDeletingDependents(oldObj)) {
      node.deletingDependents = true;
      for (const dep of node.dependents) this.sink.attemptToDelete(dep.uid);
      this.sink.attemptToDelete(node.uid);
    }
  }
}
