// One recorded change, made from a store event: the JSON Patch from the previous
// version (Secrets' values as digests), its type and field manager. Runs in the
// history's worker thread (worker.ts), never on the request path.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../machinery/object.js';
import { diffObjects, type PatchOp } from './diff.js';

export type ChangeType = 'create' | 'update' | 'delete';

/** Volatile fields every write touches: the revision and manager are recorded beside the diff. */
const IGNORED = new Set(['/metadata/resourceVersion', '/metadata/managedFields']);
const SECRETS_PREFIX = '/registry/core/secrets/';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A Secret's values become digests: history shows that a key changed, never its value. */
function redactSecret(obj: KubeObject): KubeObject {
  const out = { ...obj } as Record<string, unknown>;
  for (const field of ['data', 'stringData']) {
    const m = out[field] as Record<string, string> | undefined;
    if (!m) continue;
    out[field] = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, `<redacted sha256:${createHash('sha256').update(String(v)).digest('hex').slice(0, 12)}>`]));
  }
  const ann = obj.metadata?.annotations;
  if (ann?.[LAST_APPLIED]) out.metadata = { ...obj.metadata, annotations: { ...ann, [LAST_APPLIED]: '<redacted>' } };
  return out as KubeObject;
}

interface ManagedEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string;
  fieldsV1?: unknown;
}

/** The manager of the newest managedFields entry (by time; the later entry wins a tie). */
export function newestManager(obj: KubeObject | undefined, among?: ManagedEntry[]): string | undefined {
  let best: ManagedEntry | undefined;
  for (const e of among ?? ((obj?.metadata?.managedFields ?? []) as ManagedEntry[])) {
    if (!best || (e.time ?? '') >= (best.time ?? '')) best = e;
  }
  return best?.manager;
}

/**
 * The field manager of a write: the newest managedFields entry this write added or
 * touched (times have second granularity, so "newest overall" alone often names an
 * earlier writer), else undefined.
 */
export function writingManager(prev: KubeObject | undefined, next: KubeObject): string | undefined {
  const before = new Map(((prev?.metadata?.managedFields ?? []) as ManagedEntry[]).map((e) => [`${e.manager}\0${e.operation}\0${e.subresource ?? ''}`, JSON.stringify(e)]));
  const touched = ((next.metadata?.managedFields ?? []) as ManagedEntry[]).filter((e) => before.get(`${e.manager}\0${e.operation}\0${e.subresource ?? ''}`) !== JSON.stringify(e));
  return touched.length ? newestManager(undefined, touched) : undefined;
}

function snapshot(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = obj.metadata ?? {};
  return { ...obj, metadata: meta };
}

/**
 * A create is kept as the stored JSON itself, not decoded on the way in (most changes
 * are creates, and this is the cheapest record of one); reads turn it into its patch.
 * Secrets are the exception: their values must never reach history.db.
 */
export function keptRaw(key: string, deleted: boolean, prev: Buffer | undefined): boolean {
  return !deleted && !prev && !key.startsWith(SECRETS_PREFIX);
}

/** The patch and manager of a create kept raw (`manager`: the request's). */
export function rawCreate(raw: string, manager: string | null): { patch: PatchOp[]; uid?: string; manager?: string } {
  const obj = JSON.parse(raw) as KubeObject;
  return { patch: [{ op: 'add', path: '', value: snapshot(obj) }], uid: obj.metadata?.uid, manager: newestManager(obj) ?? manager ?? undefined };
}

export interface Change {
  type: ChangeType;
  uid: string | null;
  /** The managedFields entry the write touched, else the newest one; the request's manager goes before the latter. */
  touchedManager?: string;
  newestManager?: string;
  /** JSON of the patch. */
  patch: string;
}

/**
 * The change a store event made to the object under `key` (`value`: the new version,
 * absent for a delete; `prev`: the one before, absent for a create), or undefined when
 * the values are not objects (e.g. an allocator's range).
 */
export function changeOf(key: string, deleted: boolean, value: Buffer | undefined, prev: Buffer | undefined): Change | undefined {
  let next: KubeObject | undefined;
  let before: KubeObject | undefined;
  try {
    next = !deleted && value ? (JSON.parse(value.toString()) as KubeObject) : undefined;
    before = prev ? (JSON.parse(prev.toString()) as KubeObject) : undefined;
  } catch {
    return undefined;
  }
  if (!deleted && !next) return undefined;
  const secret = key.startsWith(SECRETS_PREFIX);
  const shown = (o: KubeObject) => snapshot(secret ? redactSecret(o) : o);
  let type: ChangeType;
  let patch: PatchOp[];
  if (deleted || !next) {
    type = 'delete';
    patch = [{ op: 'remove', path: '' }];
  } else if (!before) {
    type = 'create';
    patch = [{ op: 'add', path: '', value: shown(next) }];
  } else {
    type = 'update';
    patch = diffObjects(shown(before), shown(next), IGNORED);
  }
  return {
    type,
    uid: (next ?? before)?.metadata?.uid ?? null,
    touchedManager: next ? writingManager(before, next) : undefined,
    newestManager: newestManager(next ?? before),
    patch: JSON.stringify(patch),
  };
}
