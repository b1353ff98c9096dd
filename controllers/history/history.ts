// ControllerRevisions: the immutable snapshots StatefulSets and DaemonSets keep of their
// pod templates (upstream: pkg/controller/history/controller_history.go). A revision
// is named `<parent>-<hash of its data>`, carries the parent's template labels plus
// `controller.kubernetes.io/hash`, is controlled by the parent, and has a revision
// number; rolling back to an old template re-numbers the old revision instead of
// making a new one.
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { jsonEqual } from '../../machinery/object.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ApiObject, ApiTransport } from '../../client/transport.js';
import { isAlreadyExists } from '../../client/transport.js';
import type { Informer } from '../../client/informer.js';
import { getControllerOf, newControllerRef, parseTime, selectorMatches } from '../replicaset/controller-utils.js';
import { ControllerRefManager } from '../replicaset/ref-manager.js';
import type { ClaimOwner } from '../replicaset/ref-manager.js';
import { hashControllerRevision } from './hash.js';

export const CONTROLLER_REVISIONS = resourceByPath('apps', 'v1', 'controllerrevisions')!;

/** Label every ControllerRevision carries: the hash its name ends with. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

/** `<prefix>-<hash>`, the prefix cut to 223 characters so the name stays valid. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

export interface ParentKind {
  apiVersion: string;
  kind: string;
}

/** A new (not yet stored) revision of `parent` holding `data`. */
export function newControllerRevision(
  parent: ApiObject,
  parentKind: ParentKind,
  templateLabels: Record<string, string> | undefined,
  data: unknown,
  revision: number,
  collisionCount?: number,
): ControllerRevision {
  const hash = hashControllerRevision(data, collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: controllerRevisionName(parent.metadata?.name ?? '', hash),
      namespace: parent.metadata?.namespace,
      labels: { ...(templateLabels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ownerReferences: [newControllerRef(parent, parentKind.apiVersion, parentKind.kind)],
    },
    data: data as ControllerRevision['data'],
    revision,
  };
}

/** Oldest first: by revision number, then creation time, then name. */
export function compareRevisions(a: ControllerRevision, b: ControllerRevision): number {
  if (a.revision !== b.revision) return a.revision - b.revision;
  const ta = parseTime(a.metadata?.creationTimestamp) ?? 0;
  const tb = parseTime(b.metadata?.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

export function sortControllerRevisions(revs: ControllerRevision[]): ControllerRevision[] {
  return revs.sort(compareRevisions);
}

/** Revisions are equal when they hold the same data (upstream also compares hash labels that parse as numbers; kite's never do). */
export function equalRevision(a: ControllerRevision | undefined, b: ControllerRevision | undefined): boolean {
  if (!a || !b) return a === b;
  return jsonEqual(a.data, b.data);
}

export function findEqualRevisions(revs: readonly ControllerRevision[], needle: ControllerRevision): ControllerRevision[] {
  return revs.filter((r) => equalRevision(r, needle));
}

/** One more than the highest revision (revisions sorted oldest first), or 1. */
export function nextRevision(sorted: readonly ControllerRevision[]): number {
  return sorted.length === 0 ? 1 : sorted[sorted.length - 1].revision + 1;
}

export function maxRevision(revs: readonly ControllerRevision[]): number {
  let max = 0;
  for (const r of revs) if (r.revision > max) max = r.revision;
  return max;
}

/** Reads, writes and claims ControllerRevisions (upstream realHistory). */
export class ControllerHistory {
  constructor(
    private readonly transport: ApiTransport,
    readonly informer: Informer<ControllerRevision>,
  ) {}

  /** Revisions in the parent's namespace its selector matches, claimed for it (adopting orphans, releasing strays). */
  async claimRevisions(owner: ClaimOwner, selector: LabelSelector | undefined): Promise<ControllerRevision[]> {
    const ns = owner.obj.metadata?.namespace ?? '';
    const all = this.informer.store.listNamespace(ns);
    const mgr = new ControllerRefManager<ControllerRevision>(this.transport, owner, CONTROLLER_REVISIONS, (cr) => selectorMatches(selector, cr.metadata?.labels));
    return mgr.claim(all);
  }

  /** Revisions the parent controls (no adoption), whatever their labels. */
  ownedRevisions(parent: ApiObject): ControllerRevision[] {
    const uid = parent.metadata?.uid;
    return this.informer.store.listNamespace(parent.metadata?.namespace ?? '').filter((cr) => getControllerOf(cr)?.uid === uid);
  }

  /**
   * Store `revision`; when its name is taken by different data, bump the collision count
   * and try the next name (the caller persists the count). Same data: that revision.
   */
  async createControllerRevision(parent: ApiObject, revision: ControllerRevision, collision: { count: number }): Promise<ControllerRevision> {
    for (;;) {
      const hash = hashControllerRevision(revision.data, collision.count);
      const clone: ControllerRevision = {
        ...revision,
        metadata: {
          ...revision.metadata,
          name: controllerRevisionName(parent.metadata?.name ?? '', hash),
          labels: { ...(revision.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
        },
      };
      try {
        return await this.transport.create<ControllerRevision>(CONTROLLER_REVISIONS, parent.metadata?.namespace, clone);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const existing = await this.transport.get<ControllerRevision>(CONTROLLER_REVISIONS, parent.metadata?.namespace, clone.metadata!.name!);
        if (jsonEqual(existing.data, clone.data)) return existing;
        collision.count++;
      }
    }
  }

  /** Give an existing revision a new revision number (a rollback to it). */
  async updateControllerRevision(revision: ControllerRevision, newRevision: number): Promise<ControllerRevision> {
    if (revision.revision === newRevision) return revision;
    let cur = revision;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.transport.update<ControllerRevision>(CONTROLLER_REVISIONS, cur.metadata?.namespace, { ...cur, revision: newRevision });
      } catch (err) {
        if (attempt >= 4 || (err as { code?: number }).code !== 409) throw err;
        cur = await this.transport.get<ControllerRevision>(CONTROLLER_REVISIONS, revision.metadata?.namespace, revision.metadata?.name ?? '');
      }
    }
  }

  /** Make `parent` the controller of an orphaned revision (a patch carrying the revision's UID). */
  async adoptControllerRevision(parent: ApiObject, parentKind: ParentKind, revision: ControllerRevision): Promise<ControllerRevision> {
    const body = { metadata: { ownerReferences: [newControllerRef(parent, parentKind.apiVersion, parentKind.kind)], uid: revision.metadata?.uid } };
    return this.transport.patch<ControllerRevision>(CONTROLLER_REVISIONS, revision.metadata?.namespace, revision.metadata?.name ?? '', 'strategic', body);
  }

  async deleteControllerRevision(revision: ControllerRevision): Promise<void> {
    try {
      await this.transport.delete(CONTROLLER_REVISIONS, revision.metadata?.namespace, revision.metadata?.name ?? '');
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }
}

/**
 * A pod template as a Go client re-encodes it (what `kubectl rollout undo` compares a
 * revision's bytes with): keys sorted at every level, nulls dropped, and the zero
 * structs Go always writes — `metadata.creationTimestamp: null` and each container's
 * `resources: {}` — present.
 */
export function encodedTemplate(template: unknown): Record<string, unknown> {
  const t = dropNulls(JSON.parse(JSON.stringify(template ?? {}))) as Record<string, unknown>;
  const meta = (t.metadata && typeof t.metadata === 'object' ? t.metadata : {}) as Record<string, unknown>;
  meta.creationTimestamp = null;
  t.metadata = meta;
  const spec = (t.spec && typeof t.spec === 'object' ? t.spec : {}) as Record<string, unknown>;
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    for (const c of list) if (c && typeof c === 'object' && !(c as Record<string, unknown>).resources) (c as Record<string, unknown>).resources = {};
  }
  t.spec = spec;
  return sortedCopy(t) as Record<string, unknown>;
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

function sortedCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedCopy);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) out[k] = sortedCopy((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * The patch a StatefulSet or DaemonSet revision stores (upstream getPatch): its pod
 * template, marked to replace the whole template when `kubectl rollout undo` applies it
 * as a strategic merge patch, encoded as a Go client would (so kubectl's byte-for-byte
 * "already matches" check works).
 */
export function templatePatch(template: unknown): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { $patch: 'replace', ...encodedTemplate(template) } } };
}

/** The template a revision's data holds (without the `$patch` directive). */
export function templateFromRevision<T>(revision: ControllerRevision): T | undefined {
  const data = revision.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const t = data?.spec?.template;
  if (!t) return undefined;
  const { $patch: _p, ...rest } = t;
  return JSON.parse(JSON.stringify(rest)) as T;
}

/**
 * Revisions in the parent's namespace that its selector matches and that it controls or
 * nobody does (upstream realHistory.ListControllerRevisions).
 */
export function listControllerRevisions(informer: Informer<ControllerRevision>, parent: ApiObject, selector: LabelSelector | undefined): ControllerRevision[] {
  const uid = parent.metadata?.uid;
  return informer.store.listNamespace(parent.metadata?.namespace ?? '').filter((cr) => {
    if (!selectorMatches(selector, cr.metadata?.labels)) return false;
    const ref = getControllerOf(cr);
    return !ref || ref.uid === uid;
  });
}
