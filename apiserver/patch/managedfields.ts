// metadata.managedFields: decoding/encoding the wire entries, manager identities,
// conflicts, and the field-ownership bookkeeping of non-apply writes (create, update,
// patch), following k8s.io/apimachinery/pkg/util/managedfields/internal and
// structured-merge-diff's merge.Updater.

import { deepFreeze, isPlainObject, jsonEqual, type KubeObject } from '../../machinery/object.js';
import { StatusError, type StatusCause } from '../../machinery/status.js';
import { createdFieldsV1 } from './created-fields.js';
import { FieldSet, fieldPE, pathToString, type Path } from './fieldpath.js';
import { goQuote, goQuoteString } from './gojson.js';
import type { TypeNode } from './schema.js';
import { compare, toFieldSet, type Comparison } from './typed.js';
import { getHidden, setHidden } from '../../machinery/hidden.js';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update' | string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface VersionedSet {
  set: FieldSet;
  apiVersion: string;
  applied: boolean;
}

/** Managers by identity (see managerKey), with their operation times. */
export interface Managed {
  fields: Map<string, VersionedSet>;
  times: Map<string, string | undefined>;
}

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** Upstream's cap on Update entries before the oldest merge into `ancient-changes`. */
export const MAX_UPDATE_MANAGERS = 10;
const FIELD_MANAGER_MAX_LENGTH = 128;

export function emptyManaged(): Managed {
  return { fields: new Map(), times: new Map() };
}

/**
 * A manager's identity: the JSON of its entry without time and fields (and without
 * apiVersion for appliers), as upstream's BuildManagerIdentifier.
 */
export function managerKey(e: { manager?: string; operation?: string; apiVersion?: string; subresource?: string }): string {
  // The same few identities write most objects: the last one's key is kept.
  const last = lastManagerKey;
  if (e.manager === last.manager && e.operation === last.operation && e.apiVersion === last.apiVersion && e.subresource === last.subresource) return last.key;
  const key = buildManagerKey(e);
  lastManagerKey = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, subresource: e.subresource, key };
  return key;
}

let lastManagerKey: { manager?: string; operation?: string; apiVersion?: string; subresource?: string; key: string } = { key: '{}' };

function buildManagerKey(e: { manager?: string; operation?: string; apiVersion?: string; subresource?: string }): string {
  const parts: string[] = [];
  if (e.manager) parts.push(`"manager":${goQuote(e.manager)}`);
  if (e.operation) parts.push(`"operation":${goQuote(e.operation)}`);
  if (e.apiVersion && e.operation !== 'Apply') parts.push(`"apiVersion":${goQuote(e.apiVersion)}`);
  if (e.subresource) parts.push(`"subresource":${goQuote(e.subresource)}`);
  return '{' + parts.join(',') + '}';
}

type ManagerIdentity = Readonly<{ manager?: string; operation?: string; apiVersion?: string; subresource?: string }>;

/** Parsed manager keys: a handful of identities write every object, and each write encodes them all again. */
const parsedKeys = new Map<string, ManagerIdentity>();
const PARSED_KEYS_MAX = 1000;

function parseKey(key: string): ManagerIdentity {
  let id = parsedKeys.get(key);
  if (id) return id;
  try {
    const v: unknown = JSON.parse(key);
    id = Object.freeze(isPlainObject(v) ? (v as Record<string, string>) : {});
  } catch {
    id = Object.freeze({});
  }
  if (parsedKeys.size < PARSED_KEYS_MAX) parsedKeys.set(key, id);
  return id;
}

/** How a conflict names a manager: `"kubectl"`, `"x" using apps/v1`, `"x" with subresource "status" using v1`. */
export function printManager(key: string): string {
  const e = parseKey(key);
  if (!e.manager && !e.operation) return goQuoteString(key);
  let s = goQuoteString(e.manager ?? '');
  if (e.subresource) s += ` with subresource ${goQuoteString(e.subresource)}`;
  if (e.operation === 'Update') return `${s} using ${e.apiVersion ?? ''}`;
  return s;
}

/** True when the request asks to clear managedFields: `[]` or `[{}]`. */
export function isResetManagedFields(mf: unknown): boolean {
  if (!Array.isArray(mf)) return false;
  if (mf.length === 0) return true;
  if (mf.length !== 1) return false;
  const e = mf[0];
  if (!isPlainObject(e)) return false;
  return Object.keys(e).every((k) => {
    const v = e[k];
    return v === undefined || v === null || v === '';
  });
}

/**
 * Decoded FieldsV1 by object identity: entries this module encoded (or decoded before)
 * are not parsed again while the stored object keeps them. Sets are immutable.
 */
const decodedSets = new WeakMap<object, FieldSet>();

/**
 * The FieldsV1 object of a set, by the set's identity: a manager whose set a write left
 * as it was (every manager but the writer, mostly) keeps the live entry's FieldsV1 object
 * instead of a new encoding of the same set. Shared by the stored objects, which no one
 * changes below their metadata's own fields.
 */
const encodedSets = new WeakMap<FieldSet, Record<string, unknown>>();

function decodeFieldsV1(f: unknown): FieldSet {
  if (f === undefined || f === null) return new FieldSet();
  if (typeof f === 'object') {
    const hit = decodedSets.get(f);
    if (hit) return hit;
  }
  const set = FieldSet.fromFieldsV1(f);
  if (typeof f === 'object') {
    decodedSets.set(f, set);
    encodedSets.set(set, f as Record<string, unknown>);
  }
  return set;
}

/**
 * Marks FieldsV1 objects a create made straight from the object (createdFieldsV1): their
 * keys are the path elements' own ids, one per element, so a set can be read from them as
 * they are. A hidden mark (machinery/hidden.ts), not a weak set's entry per create.
 */
const CREATED_FIELDS_V1 = Symbol('createdFieldsV1');

function isCreatedFieldsV1(f: object): boolean {
  return getHidden<true>(f, CREATED_FIELDS_V1) === true;
}

/**
 * The FieldsV1 of an entry decoded lazily (see lazyVersionedSet) while its set is not
 * decoded yet: what the Update path reads instead, so that the first write after a create
 * by another manager (a pod's first status write) decodes nothing.
 */
const lazyEntries = new WeakMap<VersionedSet, Record<string, unknown>>();

function lazyVersionedSet(fieldsV1: Record<string, unknown>, apiVersion: string, applied: boolean): VersionedSet {
  const vs: VersionedSet = {
    get set(): FieldSet {
      return decodeFieldsV1(fieldsV1);
    },
    apiVersion,
    applied,
  };
  lazyEntries.set(vs, fieldsV1);
  return vs;
}

/** The entry's FieldsV1 when its set has not been decoded yet (it is a created one). */
function undecodedFieldsV1(vs: VersionedSet): Record<string, unknown> | undefined {
  const f = lazyEntries.get(vs);
  return f && !decodedSets.has(f) ? f : undefined;
}

/**
 * `set.intersection(changed)` for the set of a created FieldsV1 object `f`, read from it in
 * place: at each level an element is a member when its object holds `.` or nothing else,
 * and has children when it holds other keys (as FieldSet.fromFieldsV1 reads it).
 */
function intersectCreated(f: Record<string, unknown>, changed: FieldSet): FieldSet {
  const out = new FieldSet();
  for (const [id, pe] of changed.members) {
    const sub = f[id];
    if (isPlainObject(sub) && ('.' in sub || !hasElementKeys(sub))) out.members.set(id, pe);
  }
  for (const [id, n] of changed.children) {
    const sub = f[id];
    if (!isPlainObject(sub) || !hasElementKeys(sub)) continue;
    const i = intersectCreated(sub, n.set);
    if (!i.empty()) out.children.set(id, { pe: n.pe, set: i });
  }
  return out;
}

function hasElementKeys(level: Record<string, unknown>): boolean {
  for (const k in level) if (k !== '.') return true;
  return false;
}

/**
 * The decoded form of the managedFields lists this module encoded, by the list's identity:
 * the list is a stored object's, which never changes, and the object's next write takes
 * copies of its maps instead of checking and decoding every entry again.
 */
const decodedLists = new WeakMap<object, Managed>();

/** Decodes wire entries; throws Error (upstream's wording) on an invalid entry. */
export function decodeManagedFields(entries: unknown): Managed {
  const m = emptyManaged();
  if (entries === undefined || entries === null) return m;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  const known = decodedLists.get(entries);
  if (known) return { fields: new Map(known.fields), times: new Map(known.times) };
  entries.forEach((raw, i) => {
    if (!isPlainObject(raw)) throw new Error(`invalid managed fields entry ${i}`);
    const e = raw as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const key = managerKey(e);
    const f = e.fieldsV1;
    if (f && typeof f === 'object' && isCreatedFieldsV1(f) && !decodedSets.has(f)) {
      m.fields.set(key, lazyVersionedSet(f, e.apiVersion, e.operation === 'Apply'));
      m.times.set(key, typeof e.time === 'string' ? e.time : undefined);
      return;
    }
    let set: FieldSet;
    try {
      set = decodeFieldsV1(e.fieldsV1);
    } catch (err) {
      throw new Error(`error decoding versioned set: error decoding set: ${(err as Error).message}`, { cause: err });
    }
    m.fields.set(key, { set, apiVersion: e.apiVersion, applied: e.operation === 'Apply' });
    m.times.set(key, typeof e.time === 'string' ? e.time : undefined);
  });
  return m;
}

function seconds(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

function cmpStr(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Wire entries, sorted as upstream sorts them (operation, time, manager, apiVersion, subresource). */
export function encodeManagedFields(m: Managed): ManagedFieldsEntry[] | undefined {
  if (m.fields.size === 0) return undefined;
  const out: ManagedFieldsEntry[] = [];
  // Each entry's time in seconds, parsed once for the sort's comparisons.
  const secondsOf = new Map<ManagedFieldsEntry, number>();
  const keyOf = new Map<ManagedFieldsEntry, string>();
  for (const [key, vs] of m.fields) {
    const id = parseKey(key);
    const e: ManagedFieldsEntry = {};
    if (id.manager) e.manager = id.manager;
    e.operation = vs.applied ? 'Apply' : (id.operation ?? 'Update');
    e.apiVersion = vs.apiVersion;
    const t = m.times.get(key);
    if (t) e.time = t;
    e.fieldsType = 'FieldsV1';
    let fieldsV1 = undecodedFieldsV1(vs) ?? encodedSets.get(vs.set);
    if (!fieldsV1) {
      fieldsV1 = vs.set.toFieldsV1();
      decodedSets.set(fieldsV1, vs.set);
      encodedSets.set(vs.set, fieldsV1);
    }
    e.fieldsV1 = fieldsV1;
    if (id.subresource) e.subresource = id.subresource;
    out.push(e);
    secondsOf.set(e, seconds(t));
    keyOf.set(e, key);
  }
  out.sort(
    (p, q) =>
      cmpStr(p.operation, q.operation) ||
      secondsOf.get(p)! - secondsOf.get(q)! ||
      cmpStr(p.manager, q.manager) ||
      cmpStr(p.apiVersion, q.apiVersion) ||
      cmpStr(p.subresource, q.subresource),
  );
  // What decodeManagedFields makes of the list, in its order (which rejects an empty apiVersion).
  if (out.some((e) => !e.apiVersion)) return out;
  const decoded = emptyManaged();
  for (const e of out) {
    const key = keyOf.get(e)!;
    decoded.fields.set(key, m.fields.get(key)!);
    decoded.times.set(key, e.time);
  }
  decodedLists.set(out, decoded);
  return out;
}

/** metav1.Time: RFC 3339 in UTC with second precision. */
let formattedSecond = NaN;
let formattedText = '';

/** RFC 3339 in whole seconds (metav1.Time); each second is formatted once, as every write within it asks for it. */
export function formatTime(d: Date): string {
  return formatTimeMs(d.getTime());
}

/** The time a write records: the one given, else now (Date.now(): no Date to make per write). */
function writeTime(given: Date | undefined): string {
  return given ? formatTime(given) : formatTimeMs(Date.now());
}

/** formatTime of a time in milliseconds since the epoch (Date.now(): no Date to make per write). */
export function formatTimeMs(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== formattedSecond) {
    formattedSecond = second;
    formattedText = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return formattedText;
}

// ---------------------------------------------------------------------------------
// Manager names.

function isPrint(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

/**
 * The default field manager of a request that names none: the User-Agent up to its
 * first `/`, without unprintable characters, cut at 128 bytes
 * (`kubectl/v1.33.0 (linux/amd64) kubernetes/abc` → `kubectl`).
 */
export function managerFromUserAgent(userAgent: string | undefined): string {
  // Most requests come from a few clients, each sending the same User-Agent every time.
  if (userAgent === lastUserAgent) return lastManager;
  lastManager = managerOf(userAgent);
  lastUserAgent = userAgent;
  return lastManager;
}

let lastUserAgent: string | undefined = '';
let lastManager = '';

function managerOf(userAgent: string | undefined): string {
  const first = (userAgent ?? '').split('/')[0];
  let out = '';
  let bytes = 0;
  for (const ch of first) {
    if (!isPrint(ch)) continue;
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** `fieldManager` if set, else derived from the User-Agent (managerOrUserAgent). */
export function fieldManagerFor(fieldManager: string | undefined, userAgent: string | undefined): string {
  return fieldManager ? fieldManager : managerFromUserAgent(userAgent);
}

/** Causes for an invalid fieldManager (too long, unprintable characters), as ValidateFieldManager. */
export function fieldManagerErrors(fieldManager: string | undefined, field = 'fieldManager'): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!fieldManager) return causes;
  if (fieldManager.length > FIELD_MANAGER_MAX_LENGTH) {
    causes.push({ reason: 'FieldValueTooLong', field, message: `Too long: may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes` });
  }
  let i = 0;
  for (const ch of fieldManager) {
    if (!isPrint(ch)) {
      const cp = ch.codePointAt(0)!;
      causes.push({
        reason: 'FieldValueInvalid',
        field,
        message: `Invalid value: ${JSON.stringify(fieldManager)}: invalid character U+${cp.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})`,
      });
    }
    i += ch.length;
  }
  return causes;
}

// ---------------------------------------------------------------------------------
// Conflicts.

export interface Conflict {
  /** Manager identity (managerKey). */
  manager: string;
  path: Path;
}

/** upstream's NewConflictError: 409 Conflict with one FieldManagerConflict cause per field. */
export function conflictError(conflicts: readonly Conflict[]): StatusError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: pathToString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0].manager)}: ${pathToString(conflicts[0].path)}`;
  } else {
    const byManager = new Map<string, Path[]>();
    for (const c of conflicts) {
      const l = byManager.get(c.manager);
      if (l) l.push(c.path);
      else byManager.set(c.manager, [c.path]);
    }
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${printManager(m)}:`);
      for (const p of byManager.get(m)!) lines.push(`- ${pathToString(p)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

// ---------------------------------------------------------------------------------
// Field bookkeeping shared by Update and Apply.

/** Paths never recorded as owned (stripMeta). Removed non-recursively. */
export const STRIP_SET: FieldSet = FieldSet.fromPaths(
  [fieldPE('apiVersion')],
  [fieldPE('kind')],
  [fieldPE('metadata')],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => [
    fieldPE('metadata'),
    fieldPE(f),
  ]),
);

/** A set from dotted field paths, e.g. [['status'], ['metadata', 'labels']]. */
export function fieldSetOf(paths: readonly (readonly string[])[]): FieldSet {
  return FieldSet.fromPaths(...paths.map((p) => p.map((f) => fieldPE(f))));
}

// The reset fields of every write, made once: sets are not changed once built.
const STATUS_SUBRESOURCE_RESET = fieldSetOf([['spec'], ['metadata', 'labels']]);
const STATUS_RESET = fieldSetOf([['status']]);
const NOTHING_RESET = new FieldSet();

/** Fields a write may not change in the given (sub)resource, as upstream's strategies reset them. */
export function defaultResetFields(type: TypeNode | undefined, subresource: string | undefined): FieldSet {
  if (subresource === 'status') return STATUS_SUBRESOURCE_RESET;
  const builtin = !!type && type.kind === 'map' && !!type.definition?.startsWith('io.k8s.');
  if (builtin && type.kind === 'map' && type.field('status')) return STATUS_RESET;
  return NOTHING_RESET;
}

function exclude(c: Comparison, ignore: FieldSet): Comparison {
  if (ignore.empty()) return c;
  return {
    added: c.added.recursiveDifference(ignore),
    removed: c.removed.recursiveDifference(ignore),
    modified: c.modified.recursiveDifference(ignore),
  };
}

/**
 * merge.Updater.update: compares live and new; other managers lose what changed
 * (with `force`) or the changes are conflicts (without). Mutates `managed` only when
 * there is no conflict to report. Returns the conflicts, or undefined.
 */
export function updateOwners(
  live: unknown,
  next: unknown,
  managed: Managed,
  workflow: string,
  force: boolean,
  ignore: FieldSet,
  type: TypeNode | undefined,
): { conflicts?: Conflict[]; comparison: Comparison } {
  const cmp = exclude(compare(live, next, type), ignore);
  const changed = cmp.modified.union(cmp.added);
  const conflicts = new Map<string, FieldSet>();
  const removed = !cmp.removed.empty();
  for (const [key, vs] of managed.fields) {
    if (key === workflow) continue;
    const created = undecodedFieldsV1(vs);
    const c = created ? intersectCreated(created, changed) : vs.set.intersection(changed);
    if (!c.empty()) conflicts.set(key, c);
  }
  if (!force && conflicts.size > 0) {
    const list: Conflict[] = [];
    for (const key of [...conflicts.keys()].sort()) conflicts.get(key)!.iterate((p) => list.push({ manager: key, path: p }));
    return { conflicts: list, comparison: cmp };
  }
  for (const [key, c] of conflicts) {
    const vs = managed.fields.get(key)!;
    managed.fields.set(key, { ...vs, set: vs.set.difference(c) });
  }
  if (removed) {
    for (const [key, vs] of managed.fields) {
      if (key === workflow) continue;
      // A manager that owned none of the removed fields keeps its entry as it is (and with
      // it its FieldsV1 object, or a created one undecoded).
      const created = undecodedFieldsV1(vs);
      if ((created ? intersectCreated(created, cmp.removed) : vs.set.intersection(cmp.removed)).empty()) continue;
      managed.fields.set(key, { ...vs, set: vs.set.difference(cmp.removed) });
    }
  }
  // A created FieldsV1 is never empty (createdFieldsV1 makes none for nothing).
  for (const [key, vs] of [...managed.fields]) if (!undecodedFieldsV1(vs) && vs.set.empty()) managed.fields.delete(key);
  return { comparison: cmp };
}

/**
 * structured-merge-diff's Updater.Update: `key` takes every field the write changed
 * or added and drops those it removed; other managers lose changed and removed
 * fields. Mutates `managed`.
 */
export function updaterUpdate(
  live: unknown,
  next: unknown,
  managed: Managed,
  key: string,
  apiVersion: string,
  type: TypeNode | undefined,
  ignore: FieldSet = new FieldSet(),
): void {
  const { comparison } = updateOwners(live, next, managed, key, true, ignore, type);
  let set = (managed.fields.get(key)?.set ?? new FieldSet()).difference(comparison.removed).union(comparison.modified).union(comparison.added);
  if (!ignore.empty()) set = set.recursiveDifference(ignore);
  if (set.empty()) managed.fields.delete(key);
  else managed.fields.set(key, { set, apiVersion, applied: false });
}

/**
 * The Update path of the manager chain for one write by `key`: other managers lose
 * the fields that changed, and `key` gains them (merged with what it had).
 */
export function recordUpdate(
  live: unknown,
  next: unknown,
  managed: Managed,
  key: string,
  apiVersion: string,
  ignore: FieldSet,
  type: TypeNode | undefined,
  now: string,
): void {
  const self = '\u0000current-operation';
  const { comparison } = updateOwners(live, next, managed, self, true, ignore, type);
  let cur = comparison.modified.union(comparison.added);
  if (!ignore.empty()) cur = cur.recursiveDifference(ignore);
  cur = cur.difference(STRIP_SET);
  if (cur.empty()) return;
  const prev = managed.fields.get(key);
  // A manager that writes again only fields it owns (a kubelet's status, a lease's renewal)
  // keeps its set as it was, and with it the set's encoding (encodedSets).
  const set = !prev ? cur : cur.within(prev.set) ? prev.set : cur.union(prev.set);
  managed.fields.set(key, { set, apiVersion, applied: false });
  managed.times.set(key, now);
}

/** capManagersManager: merges the oldest Update entries into `ancient-changes` beyond the cap. */
export function capManagers(managed: Managed, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managed.fields].filter(([, vs]) => !vs.applied).map(([k]) => k);
  if (updaters.length <= max) return;
  updaters.sort((a, b) => seconds(managed.times.get(a)) - seconds(managed.times.get(b)) || (a < b ? -1 : a > b ? 1 : 0));
  const firstForVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const key = updaters[i];
    const vs = managed.fields.get(key);
    if (!vs) continue;
    const time = managed.times.get(key);
    const version = vs.apiVersion;
    const bucket = managerKey({ manager: 'ancient-changes', operation: 'Update', apiVersion: version });
    const first = firstForVersion.get(version);
    if (first !== undefined) {
      if (!managed.fields.has(bucket)) {
        const s = managed.fields.get(first)!;
        managed.fields.delete(first);
        managed.fields.set(bucket, s);
      }
      managed.fields.set(bucket, { set: vs.set.union(managed.fields.get(bucket)!.set), apiVersion: vs.apiVersion, applied: vs.applied });
      managed.fields.delete(key);
      length--;
      managed.times.set(bucket, time);
    } else {
      firstForVersion.set(version, key);
    }
  }
}

// ---------------------------------------------------------------------------------
// The "empty object" a create is compared against.

type ZeroHow = 'struct' | 'null';

/**
 * Fields present in the Go zero value of built-in types (value structs, and lists or
 * maps without omitempty), so that what a create "added" matches upstream, which
 * compares against a freshly allocated typed object.
 */
const ZERO_FIELDS: Record<string, Record<string, ZeroHow>> = {
  ObjectMeta: { creationTimestamp: 'null' },
  DeploymentSpec: { selector: 'null', template: 'struct', strategy: 'struct' },
  ReplicaSetSpec: { selector: 'null', template: 'struct' },
  StatefulSetSpec: { selector: 'null', template: 'struct', updateStrategy: 'struct' },
  DaemonSetSpec: { selector: 'null', template: 'struct', updateStrategy: 'struct' },
  JobSpec: { template: 'struct' },
  CronJobSpec: { jobTemplate: 'struct' },
  JobTemplateSpec: { metadata: 'struct', spec: 'struct' },
  PodTemplateSpec: { metadata: 'struct', spec: 'struct' },
  PodTemplate: { template: 'struct' },
  PodSpec: { containers: 'null' },
  ServiceStatus: { loadBalancer: 'struct' },
  IngressStatus: { loadBalancer: 'struct' },
  Role: { rules: 'null' },
  ClusterRole: { rules: 'null' },
  RoleBinding: { roleRef: 'struct' },
  ClusterRoleBinding: { roleRef: 'struct' },
  NetworkPolicySpec: { podSelector: 'struct' },
  HorizontalPodAutoscalerSpec: { scaleTargetRef: 'struct' },
  EndpointSlice: { endpoints: 'null' },
};

function zeroOf(t: TypeNode | undefined, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!t || t.kind !== 'map' || depth > 8) return out;
  const def = t.definition ?? '';
  if (!def.startsWith('io.k8s.')) return out;
  const short = def.slice(def.lastIndexOf('.') + 1);
  const isKind = !!t.field('metadata') && !!t.field('apiVersion');
  if (isKind) {
    out.metadata = zeroOf(t.field('metadata')!.type, depth + 1);
    for (const f of ['spec', 'status']) {
      const fi = t.field(f);
      if (fi && fi.type.kind === 'map') out[f] = zeroOf(fi.type, depth + 1);
    }
  }
  for (const [name, how] of Object.entries(ZERO_FIELDS[short] ?? {})) {
    const fi = t.field(name);
    if (!fi) continue;
    out[name] = how === 'null' ? null : zeroOf(fi.type, depth + 1);
  }
  return out;
}

const zeroObjects = new WeakMap<TypeNode, Readonly<Record<string, unknown>>>();

/** What upstream's freshly created, empty object of this type looks like as JSON: made once per type, frozen (callers only compare against it). */
export function zeroObject(type: TypeNode | undefined): Readonly<Record<string, unknown>> {
  if (!type) return zeroOf(type, 0);
  let zero = zeroObjects.get(type);
  if (!zero) {
    zero = deepFreeze(zeroOf(type, 0));
    zeroObjects.set(type, zero);
  }
  return zero;
}

// ---------------------------------------------------------------------------------
// The non-apply write path.

export interface UpdateManagedFieldsOptions {
  manager: string;
  operation?: 'Update';
  apiVersion: string;
  subresource?: string;
  now?: Date;
  /** Schema of the object (navigatorFor(...)/a TypeNode); undefined treats it as untyped. */
  nav?: SchemaLike;
  /** Fields the strategy resets (default: status for the main resource, spec+labels for /status). */
  resetFields?: readonly (readonly string[])[];
}

/** Anything the patch functions accept as a schema. */
export type SchemaLike = TypeNode | { readonly type: TypeNode | undefined } | undefined;

export function typeOf(s: SchemaLike): TypeNode | undefined {
  if (!s) return undefined;
  if ('kind' in s && typeof s.kind === 'string') return s as TypeNode;
  return (s as { type: TypeNode | undefined }).type;
}

function metaOf(o: KubeObject | undefined): Record<string, unknown> | undefined {
  return o && isPlainObject(o.metadata) ? (o.metadata as Record<string, unknown>) : undefined;
}

function withoutManagedFields(o: KubeObject): KubeObject {
  const m = metaOf(o);
  if (!m || !('managedFields' in m)) return o;
  const { managedFields: _drop, ...rest } = m;
  void _drop;
  return { ...o, metadata: rest } as KubeObject;
}

function setManagedFields(o: KubeObject, managed: Managed): void {
  const entries = encodeManagedFields(managed);
  const meta = (o.metadata ??= {}) as Record<string, unknown>;
  if (entries) meta.managedFields = entries;
  else delete meta.managedFields;
}

/**
 * Records field ownership for a create/update/patch (any non-apply write) and sets
 * `newObj.metadata.managedFields` in place (returning `newObj`).
 *  - `oldObj` undefined means a create: the new object is compared against the type's
 *    empty object and the manager owns everything it set.
 *  - Otherwise the manager takes every field it changed or added, other managers lose
 *    those fields and any the write removed; emptied entries disappear; entries with
 *    the same manager, operation, apiVersion and subresource merge.
 *  - managedFields sent in `newObj` replace the live ones (how clients migrate them),
 *    `[]`/`[{}]` clears them; on a subresource they are ignored.
 *  - Objects that have no managedFields when updated stay without (upstream).
 *  - More than 10 Update entries: the oldest merge into `ancient-changes`.
 * Never throws: on an internal failure the live managedFields are kept (UpdateNoErrors).
 */
export function updateManagedFields(oldObj: KubeObject | undefined, newObj: KubeObject, opts: UpdateManagedFieldsOptions): KubeObject;
export function updateManagedFields(
  oldObj: KubeObject | undefined,
  newObj: KubeObject,
  manager: string,
  operation: 'Update',
  apiVersion: string,
  subresource?: string,
  now?: Date,
  nav?: SchemaLike,
): KubeObject;
export function updateManagedFields(
  oldObj: KubeObject | undefined,
  newObj: KubeObject,
  a: string | UpdateManagedFieldsOptions,
  _operation?: 'Update',
  apiVersion?: string,
  subresource?: string,
  now?: Date,
  nav?: SchemaLike,
): KubeObject {
  const opts: UpdateManagedFieldsOptions =
    typeof a === 'string' ? { manager: a, apiVersion: apiVersion ?? '', subresource, now, nav } : a;
  const liveMF = metaOf(oldObj)?.managedFields;
  try {
    const type = typeOf(opts.nav);
    const subres = opts.subresource || undefined;
    if (!oldObj && !subres && metaOf(newObj)?.managedFields === undefined) {
      // A create that brings no managedFields (most): nothing to decode.
      const ignore = opts.resetFields ? fieldSetOf(opts.resetFields) : defaultResetFields(type, undefined);
      return setCreatedManagedFields(newObj, opts, type, ignore, writeTime(opts.now));
    }
    const decodeOrEmpty = (mf: unknown): Managed => {
      try {
        return decodeManagedFields(mf);
      } catch {
        return emptyManaged();
      }
    };
    let managed: Managed;
    if (subres) managed = decodeOrEmpty(liveMF);
    else {
      const newMF = metaOf(newObj)?.managedFields;
      // Neither side has any: nothing to decode.
      if ((newMF === undefined && liveMF === undefined) || isResetManagedFields(newMF)) managed = emptyManaged();
      else if (newMF !== undefined && liveMF !== undefined && jsonEqual(newMF, liveMF)) {
        // Unchanged by the request (the common case): decode the live entries, which are cached.
        managed = decodeOrEmpty(liveMF);
      } else {
        let decoded: Managed | undefined;
        try {
          decoded = decodeManagedFields(newMF);
        } catch {
          decoded = undefined;
        }
        managed = decoded && decoded.fields.size > 0 ? decoded : decodeOrEmpty(liveMF);
      }
    }
    const meta = metaOf(newObj);
    // Set again below: undefined meanwhile rather than deleted, which would leave metadata a
    // slow dictionary-mode object for every later copy and encoding of it.
    if (meta && 'managedFields' in meta) meta.managedFields = undefined;

    // Objects without managedFields only start being tracked on create.
    if (managed.fields.size === 0 && oldObj && metaOf(oldObj)?.uid) {
      if (meta) delete meta.managedFields;
      return newObj;
    }

    const ignore = opts.resetFields ? fieldSetOf(opts.resetFields) : defaultResetFields(type, subres);
    const now = writeTime(opts.now);
    if (!oldObj && !subres && managed.fields.size === 0) return setCreatedManagedFields(newObj, opts, type, ignore, now);
    const live = oldObj ? withoutManagedFields(oldObj) : zeroObject(type);
    const key = managerKey({ manager: opts.manager || 'unknown', operation: 'Update', apiVersion: opts.apiVersion, subresource: subres });
    recordUpdate(live, newObj, managed, key, opts.apiVersion, ignore, type, now);
    capManagers(managed);
    setManagedFields(newObj, managed);
    return newObj;
  } catch {
    const meta = (newObj.metadata ??= {}) as Record<string, unknown>;
    if (liveMF !== undefined) meta.managedFields = liveMF;
    else delete meta.managedFields;
    return newObj;
  }
}

/**
 * A create's managedFields when no other manager has any: its only manager owns what the
 * object sets, its FieldsV1 made straight from the object (what recordUpdate would record).
 */
function setCreatedManagedFields(newObj: KubeObject, opts: UpdateManagedFieldsOptions, type: TypeNode | undefined, ignore: FieldSet, now: string): KubeObject {
  const fieldsV1 = createdFieldsV1(zeroObject(type), newObj, type, ignore, STRIP_SET);
  const m = (newObj.metadata ??= {}) as Record<string, unknown>;
  if (!fieldsV1) {
    delete m.managedFields;
    return newObj;
  }
  const entry: ManagedFieldsEntry = { manager: opts.manager || 'unknown', operation: 'Update', apiVersion: opts.apiVersion };
  if (now) entry.time = now;
  entry.fieldsType = 'FieldsV1';
  entry.fieldsV1 = fieldsV1;
  // Decoded only if the object is written again (decodeManagedFields then reads the
  // entry's set lazily from this FieldsV1): most objects a create makes never are.
  setHidden(fieldsV1, CREATED_FIELDS_V1, true);
  m.managedFields = [entry];
  return newObj;
}

export interface ComputeFieldSetOptions {
  subresource?: string;
  resetFields?: readonly (readonly string[])[];
}

/**
 * The fields an object sets, as a manager would own them: leaves, list items and map
 * keys, without apiVersion/kind/metadata identity fields, managedFields,
 * resourceVersion, uid, creationTimestamp, generation, and without the fields the
 * (sub)resource's strategy resets (status on the main resource).
 */
export function computeFieldSet(obj: KubeObject, nav?: SchemaLike, opts: ComputeFieldSetOptions = {}): FieldSet {
  const type = typeOf(nav);
  const ignore = opts.resetFields ? fieldSetOf(opts.resetFields) : defaultResetFields(type, opts.subresource);
  let s = toFieldSet(obj, type).difference(STRIP_SET);
  if (!ignore.empty()) s = s.recursiveDifference(ignore);
  return s;
}

export { setManagedFields, withoutManagedFields };
