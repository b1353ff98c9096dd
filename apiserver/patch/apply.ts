// Server-side apply (PATCH application/apply-patch+yaml), following upstream's field
// manager chain: version check, last-applied annotation sync and client-side-apply
// upgrade for the `kubectl` manager, `before-first-apply` for objects without
// managedFields, then structured-merge-diff's Updater.Apply (merge, prune of fields
// the manager stopped applying, conflict detection against other managers).

import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { isPlainObject, jsonEqual, type KubeObject } from '../../machinery/object.js';
import { badRequest, type StatusError } from '../../machinery/status.js';
import { rawServerError } from './errors.js';
import { FieldSet } from './fieldpath.js';
import { goJson, cloneJson } from './gojson.js';
import {
  LAST_APPLIED_ANNOTATION,
  STRIP_SET,
  capManagers,
  conflictError,
  decodeManagedFields,
  defaultResetFields,
  fieldSetOf,
  formatTime,
  managerKey,
  recordUpdate,
  setManagedFields,
  typeOf,
  updateOwners,
  withoutManagedFields,
  zeroObject,
  type Conflict,
  type Managed,
  type SchemaLike,
} from './managedfields.js';
import type { TypeNode } from './schema.js';
import { ensureNamedFieldsAreMembers, merge, removeItems, toFieldSet, validate, compare } from './typed.js';

export interface ApplyOptions {
  /** The fieldManager query parameter (required for apply). */
  manager: string;
  force?: boolean;
  /** The resource's group/version, e.g. `apps/v1` or `v1`. */
  apiVersion: string;
  /** The resource's kind; when given, the applied object's kind must match. */
  kind?: string;
  now?: Date;
  subresource?: string;
  /** Fields the strategy resets (default: status on the main resource, spec+labels for /status). */
  resetFields?: readonly (readonly string[])[];
}

export interface ApplyResult {
  /** The merged object with metadata.managedFields set (not yet defaulted). */
  object: KubeObject;
  /** True when there was no live object (apply creates: answer 201). */
  created: boolean;
  /** False when neither the object nor its managedFields changed. */
  changed: boolean;
  /** Set only by serverSideApplyResult: the 409 conflict instead of throwing. */
  conflicts?: StatusError;
}

function gvkString(apiVersion: unknown, kind: unknown): string {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const k = typeof kind === 'string' ? kind : '';
  const parts = av.split('/');
  let group = '';
  let version = '';
  if (parts.length === 1) version = parts[0];
  else if (parts.length === 2) [group, version] = parts;
  return `${group}/${version}, Kind=${k}`;
}

/**
 * Parses an apply body (YAML or JSON, one document). Throws upstream's 400s:
 * `error decoding patch: ...` for unparsable bodies and, with strict field
 * validation, `error strict decoding patch: ...` for duplicate keys.
 */
export function parseApplyBody(body: string | Uint8Array, strict = false): KubeObject {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  let value: unknown;
  try {
    const docs = parseAllDocuments(text, { uniqueKeys: false });
    const list = Array.isArray(docs) ? docs : [docs];
    const first = list.find((d) => d.contents !== null) ?? list[0];
    if (first && first.errors.length > 0) throw first.errors[0];
    value = first ? first.toJS({ maxAliasCount: 100 }) : null;
  } catch (e) {
    throw badRequest(`error decoding patch: error converting YAML to JSON: yaml: ${(e as Error).message}`);
  }
  if (value === null || value === undefined) value = {};
  if (!isPlainObject(value)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'bool'} into Go value of type map[string]interface {}`);
  }
  if (strict) {
    try {
      parseYaml(text, { uniqueKeys: true });
    } catch (e) {
      throw badRequest(`error strict decoding patch: yaml: unmarshal errors:\n  ${(e as Error).message}`);
    }
  }
  return value as KubeObject;
}

/** A deep copy without null map values (typed decoding drops them upstream). */
function cloneWithoutNulls(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneWithoutNulls(v[i]);
    return out;
  }
  const out: Record<string, unknown> = {};
  const src = v as Record<string, unknown>;
  for (const k in src) {
    const x = src[k];
    if (x !== null && x !== undefined) out[k] = cloneWithoutNulls(x);
  }
  return out;
}

interface Ctx {
  type: TypeNode | undefined;
  apiVersion: string;
  ignore: FieldSet;
  now: string;
}

/** merge.Updater.prune: drops what `key` applied last time, no longer applies, and nobody else owns. */
function prune(merged: unknown, managed: Managed, key: string, lastSet: FieldSet | undefined, ctx: Ctx): unknown {
  if (!lastSet || lastSet.empty()) return merged;
  // Nothing to prune when the manager still applies everything it applied before.
  const applied = managed.fields.get(key)?.set;
  if (applied && lastSet.difference(applied).empty()) return merged;
  const t = ctx.type;
  const ensure = (s: FieldSet): FieldSet => ensureNamedFieldsAreMembers(s, t);
  const lastEnsured = ensure(lastSet);
  let pruned = removeItems(merged, lastEnsured, t) ?? {};
  // addBackOwnedItems
  let owned = new FieldSet();
  for (const vs of managed.fields.values()) owned = owned.union(vs.set);
  const mergedSet = ensure(toFieldSet(merged, t));
  const prunedSet = ensure(toFieldSet(pruned, t));
  pruned = removeItems(merged, mergedSet.difference(prunedSet.union(ensure(owned))), t) ?? {};
  // addBackDanglingItems
  const prunedSet2 = ensure(toFieldSet(pruned, t));
  return removeItems(merged, mergedSet.difference(prunedSet2).intersection(lastEnsured), t) ?? {};
}

/**
 * structured-merge-diff's Updater.Apply: merges `config` into `live`, makes `key`
 * own exactly the fields of `config` (minus `ignore`), prunes what it applied before
 * but no longer applies and nobody else owns, and detects conflicts with other
 * managers (or, with `force`, takes the fields from them). Mutates `managed`.
 * Returns the new object (undefined when equal to `live`), or the conflicts.
 */
export function updaterApply(
  live: unknown,
  config: unknown,
  managed: Managed,
  key: string,
  apiVersion: string,
  force: boolean,
  type: TypeNode | undefined,
  ignore: FieldSet = new FieldSet(),
): { object?: unknown; conflicts?: Conflict[] } {
  const ctx: Ctx = { type, apiVersion, ignore, now: '' };
  // Work on a copy: on a conflict, `managed` is left as it was.
  const work: Managed = { fields: new Map(managed.fields), times: managed.times };
  let next = merge(live, config, type);
  const lastSet = work.fields.get(key)?.set;
  let set = toFieldSet(config, type);
  if (!ignore.empty()) set = set.recursiveDifference(ignore);
  work.fields.set(key, { set, apiVersion, applied: true });
  next = prune(next, work, key, lastSet, ctx);
  const { conflicts } = updateOwners(live, next, work, key, force, ignore, type);
  if (conflicts) return { conflicts };
  managed.fields.clear();
  for (const [k, v] of work.fields) managed.fields.set(k, v);
  return { object: jsonEqual(live, next) ? undefined : next };
}

/** updaterApply plus stripMeta (the identity fields are never owned). */
function applyCore(
  live: KubeObject,
  applied: KubeObject,
  managed: Managed,
  key: string,
  force: boolean,
  ctx: Ctx,
): { object?: KubeObject; conflicts?: Conflict[] } {
  const r = updaterApply(live, applied, managed, key, ctx.apiVersion, force, ctx.type, ctx.ignore);
  if (r.conflicts) return { conflicts: r.conflicts };
  const vs = managed.fields.get(key);
  if (vs) {
    const s = vs.set.difference(STRIP_SET);
    if (s.empty()) managed.fields.delete(key);
    else managed.fields.set(key, { ...vs, set: s });
  }
  return { object: r.object as KubeObject | undefined };
}

/** lastAppliedManager: the conflicts a `kubectl` client-side-apply → server-side upgrade may override. */
function allowedFromLastApplied(live: KubeObject | undefined, ctx: Ctx): FieldSet | undefined {
  const ann = (live?.metadata?.annotations as Record<string, string> | undefined)?.[LAST_APPLIED_ANNOTATION];
  if (!ann) return undefined;
  let last: unknown;
  try {
    last = JSON.parse(ann);
  } catch {
    return undefined;
  }
  if (!isPlainObject(last) || last.apiVersion !== ctx.apiVersion) return undefined;
  if (validate(last, ctx.type).length > 0) return undefined;
  const lastSet = toFieldSet(last, ctx.type);
  const cmp = compare(last, withoutManagedFields(live!), ctx.type);
  return lastSet.difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
}

/** The annotation value upstream writes: the applied object without the annotation, Go JSON + newline. */
function buildLastApplied(applied: KubeObject): string {
  const copy = cloneJson(applied) as KubeObject;
  const ann = copy.metadata?.annotations as Record<string, string> | undefined;
  if (ann) delete ann[LAST_APPLIED_ANNOTATION];
  return goJson(copy) + '\n';
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

function setLastApplied(obj: KubeObject, value: string): void {
  const meta = (obj.metadata ??= {});
  const ann = { ...((meta.annotations as Record<string, string> | undefined) ?? {}) };
  ann[LAST_APPLIED_ANNOTATION] = value;
  let size = 0;
  for (const [k, v] of Object.entries(ann)) size += Buffer.byteLength(k) + Buffer.byteLength(v ?? '');
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) delete ann[LAST_APPLIED_ANNOTATION];
  meta.annotations = ann;
}

function runApply(live: KubeObject | undefined, appliedIn: KubeObject, opts: ApplyOptions, schema: SchemaLike): ApplyResult & { conflictList?: Conflict[] } {
  if (!isPlainObject(appliedIn)) throw badRequest('error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}');
  // Nothing below modifies the inputs; the result is copied once at the end.
  const applied = appliedIn;
  const expectedKind = opts.kind ?? (typeof live?.kind === 'string' ? live.kind : undefined);
  const appliedGvk = gvkString(applied.apiVersion, applied.kind);
  if (applied.apiVersion !== opts.apiVersion || (expectedKind !== undefined && applied.kind !== expectedKind)) {
    throw badRequest(`invalid object type: ${appliedGvk}`);
  }
  const ameta = isPlainObject(applied.metadata) ? (applied.metadata as Record<string, unknown>) : undefined;
  if (ameta && ameta.managedFields !== undefined && ameta.managedFields !== null) throw badRequest('metadata.managedFields must be nil');

  const type = typeOf(schema);
  const errs = validate(applied, type);
  if (errs.length > 0) {
    const ns = typeof ameta?.namespace === 'string' ? ameta.namespace : '';
    const name = typeof ameta?.name === 'string' ? ameta.name : '';
    const detail = errs.length === 1 ? errs[0] : ['errors:', ...errs.map((e) => '  ' + e)].join('\n');
    throw rawServerError(`failed to create typed patch object (${ns}/${name}; ${appliedGvk}): ${detail}`);
  }

  let managed: Managed;
  try {
    managed = decodeManagedFields(live?.metadata?.managedFields);
  } catch (e) {
    throw rawServerError(`failed to decode managed fields: ${(e as Error).message}`);
  }
  const liveObj: KubeObject = live ? (withoutManagedFields(live) as KubeObject) : {};
  const ctx: Ctx = {
    type,
    apiVersion: opts.apiVersion,
    ignore: opts.resetFields ? fieldSetOf(opts.resetFields) : defaultResetFields(type, opts.subresource || undefined),
    now: formatTime(opts.now ?? new Date()),
  };
  const key = managerKey({ manager: opts.manager, operation: 'Apply', subresource: opts.subresource || undefined });
  const before = live ? JSON.stringify(live.metadata?.managedFields ?? null) : '';

  const decoded = managed;
  const attempt = (force: boolean): { object?: KubeObject; conflicts?: Conflict[] } => {
    // Each attempt starts from the decoded managedFields (a failed one leaves no trace).
    managed = { fields: new Map(decoded.fields), times: new Map(decoded.times) };
    // skipNonApplied: the fields of an object nobody manages yet go to `before-first-apply`.
    if (managed.fields.size === 0 && live) {
      const bfa = managerKey({ manager: 'before-first-apply', operation: 'Update', apiVersion: opts.apiVersion });
      recordUpdate(zeroObject(type), liveObj, managed, bfa, opts.apiVersion, ctx.ignore, type, ctx.now);
      capManagers(managed);
    }
    return applyCore(liveObj, applied, managed, key, force, ctx);
  };

  let r = attempt(!!opts.force);
  if (r.conflicts && opts.manager === 'kubectl') {
    const allowed = allowedFromLastApplied(live, ctx);
    if (allowed) {
      const remaining = r.conflicts.filter((c) => !allowed.has(c.path));
      if (remaining.length === 0) r = attempt(true);
      else r = { conflicts: remaining };
    }
  }
  if (r.conflicts) {
    return { object: cloneJson(liveObj), created: !live, changed: false, conflicts: conflictError(r.conflicts), conflictList: r.conflicts };
  }

  const changedObject = r.object !== undefined;
  // The one copy: the result must not share anything with the inputs.
  const object = (changedObject ? cloneWithoutNulls(r.object) : cloneJson(liveObj)) as KubeObject;
  if (changedObject) managed.times.set(key, ctx.now);
  let annotationChanged = false;
  if (opts.manager === 'kubectl') {
    const current = (object.metadata?.annotations as Record<string, string> | undefined)?.[LAST_APPLIED_ANNOTATION];
    if (current) {
      const value = buildLastApplied(applied);
      if (value !== current) {
        setLastApplied(object, value);
        annotationChanged = true;
      }
    }
  }
  setManagedFields(object, managed);
  const changed = !live || changedObject || annotationChanged || JSON.stringify(object.metadata?.managedFields ?? null) !== before;
  return { object, created: !live, changed };
}

/**
 * Server-side apply of `applied` (already parsed; see parseApplyBody) onto `live`
 * (undefined: the object does not exist and apply creates it). Neither input is
 * modified. Returns the new object with metadata.managedFields; the caller still
 * runs defaulting, validation and its strategy before storing it.
 *
 * Throws StatusError: 409 Conflict (upstream's message and FieldManagerConflict
 * causes) when other managers own fields whose values change, unless `force`;
 * 400 for a wrong apiVersion/kind ("invalid object type: apps/v1, Kind=Deployment")
 * or managedFields in the body; 500 for objects the schema rejects (unknown fields,
 * duplicate list keys).
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions, schema?: SchemaLike): ApplyResult {
  const r = runApply(live, applied, opts, schema);
  if (r.conflicts) throw r.conflicts;
  return { object: r.object, created: r.created, changed: r.changed };
}

/** As serverSideApply, but returns a conflict as `{ conflicts }` instead of throwing it. */
export function serverSideApplyResult(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions, schema?: SchemaLike): ApplyResult {
  const r = runApply(live, applied, opts, schema);
  const { conflictList: _c, ...rest } = r;
  void _c;
  return rest;
}
