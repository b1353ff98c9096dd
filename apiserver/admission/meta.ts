// ObjectMeta and label-selector validation (apimachinery api/validation/objectmeta.go,
// apis/meta/v1/validation, and core's extra finalizer rule).
import { labelSelectorMatches as matchSelector } from '../../machinery/labels.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import {
  child,
  forbidden,
  goQuote,
  goStringSlice,
  goStruct,
  index,
  invalid,
  required,
  tooLong,
  FIELD_IMMUTABLE,
  type Cause,
} from './field.js';
import { isQualifiedName, isValidLabelValue, nameIsDNSLabel, type NameFn } from './names.js';
import { arr, isObj, semanticEqual, str, type Obj } from './util.js';

export const IS_NEGATIVE = 'must be greater than or equal to 0';
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateNonnegative(value: unknown, path: string): Cause[] {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  return n < 0 ? [invalid(path, n, IS_NEGATIVE)] : [];
}

export function validateLabelName(name: string, path: string): Cause[] {
  return isQualifiedName(name).map((m) => invalid(path, name, m));
}

/** The qualified-name rule for generic fields (ValidateQualifiedName). */
export const validateQualifiedName = validateLabelName;

export function validateLabels(labels: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  if (!isObj(labels)) return errs;
  for (const [k, v] of Object.entries(labels)) {
    errs.push(...validateLabelName(k, path));
    for (const m of isValidLabelValue(str(v))) errs.push(invalid(path, str(v), m));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  if (!isObj(annotations)) return errs;
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, m));
    total += Buffer.byteLength(k) + Buffer.byteLength(str(v));
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

function ownerRefText(r: Obj): ReturnType<typeof goStruct> {
  return goStruct('v1.OwnerReference', {
    aPIVersion: r.apiVersion ?? '',
    kind: r.kind ?? '',
    name: r.name ?? '',
    uID: r.uid ?? '',
    controller: r.controller ?? null,
    blockOwnerDeletion: r.blockOwnerDeletion ?? null,
  });
}

function splitGV(apiVersion: string): { group: string; version: string } | undefined {
  if (apiVersion === '') return { group: '', version: '' };
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0] };
  if (parts.length === 2) return { group: parts[0], version: parts[1] };
  return undefined;
}

export function validateOwnerReferences(refs: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  let firstController = '';
  for (const raw of arr(refs)) {
    const r = isObj(raw) ? raw : {};
    const gv = splitGV(str(r.apiVersion)) ?? { group: '', version: '' };
    if (!gv.version) errs.push(invalid(child(path, 'apiVersion'), str(r.apiVersion), 'version must not be empty'));
    if (!str(r.kind)) errs.push(invalid(child(path, 'kind'), str(r.kind), 'must not be empty'));
    if (!str(r.name)) errs.push(invalid(child(path, 'name'), str(r.name), 'must not be empty'));
    if (!str(r.uid)) errs.push(invalid(child(path, 'uid'), str(r.uid), 'must not be empty'));
    if (gv.group === '' && gv.version === 'v1' && r.kind === 'Event')
      errs.push(invalid(path, ownerRefText(r), '/v1, Kind=Event is disallowed from being an owner'));
    if (r.controller === true) {
      const cur = `${str(r.kind)}/${str(r.name)}`;
      if (firstController) {
        errs.push(
          invalid(
            path,
            goStruct('[]v1.OwnerReference', arr(refs)),
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      } else firstController = cur;
    }
  }
  return errs;
}

const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export function validateFinalizers(finalizers: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  const list = arr<string>(finalizers).map(str);
  for (const f of list) for (const m of isQualifiedName(f)) errs.push(invalid(path, f, m));
  if (list.includes('orphan') && list.includes('foregroundDeletion'))
    errs.push(invalid(path, goStringSlice(list), 'finalizer orphan and foregroundDeletion cannot be both set'));
  return errs;
}

/** core's validateKubeFinalizerName: unprefixed finalizers must be standard ones. */
export function validateKubeFinalizerName(f: string, path: string): Cause[] {
  if (!f.includes('/') && !STANDARD_FINALIZERS.has(f))
    return [invalid(path, f, 'name is neither a standard finalizer name nor is it fully qualified')];
  return [];
}

function validateManagedFields(mf: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  // `[{}]` is upstream's request to reset them: the field manager clears it before validation.
  if (Array.isArray(mf) && mf.length === 1 && isObj(mf[0]) && Object.keys(mf[0]).length === 0) return errs;
  arr(mf).forEach((raw, i) => {
    const e = isObj(raw) ? raw : {};
    const p = index(path, i);
    if (e.operation !== 'Apply' && e.operation !== 'Update') errs.push(invalid(child(p, 'operation'), str(e.operation), 'must be `Apply` or `Update`'));
    if (str(e.fieldsType) && e.fieldsType !== 'FieldsV1') errs.push(invalid(child(p, 'fieldsType'), str(e.fieldsType), 'must be `FieldsV1`'));
  });
  return errs;
}

function commonMeta(meta: ObjectMeta, namespaced: boolean, path: string): Cause[] {
  const errs: Cause[] = [];
  if (namespaced) {
    if (!meta.namespace) errs.push(required(child(path, 'namespace')));
    else for (const m of nameIsDNSLabel(meta.namespace, false)) errs.push(invalid(child(path, 'namespace'), meta.namespace, m));
  } else if (meta.namespace) {
    errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  // Each field only when it is there (an absent one is valid): no path, call and empty list for the others.
  if (meta.generation != null) errs.push(...validateNonnegative(meta.generation, child(path, 'generation')));
  if (meta.labels != null) errs.push(...validateLabels(meta.labels, child(path, 'labels')));
  if (meta.annotations != null) errs.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  if (meta.ownerReferences != null) errs.push(...validateOwnerReferences(meta.ownerReferences, child(path, 'ownerReferences')));
  if (meta.finalizers != null) errs.push(...validateFinalizers(meta.finalizers, child(path, 'finalizers')));
  if (meta.managedFields != null) errs.push(...validateManagedFields(meta.managedFields, child(path, 'managedFields')));
  return errs;
}

/** ValidateObjectMeta as core calls it: generateName, name, namespace, labels, annotations, owners, finalizers. */
export function validateObjectMeta(metaIn: unknown, namespaced: boolean, nameFn: NameFn, path = 'metadata'): Cause[] {
  const meta = (isObj(metaIn) ? metaIn : {}) as ObjectMeta;
  const errs: Cause[] = [];
  if (meta.generateName) for (const m of nameFn(meta.generateName, true)) errs.push(invalid(child(path, 'generateName'), meta.generateName, m));
  if (!meta.name) errs.push(required(child(path, 'name'), 'name or generateName is required'));
  else for (const m of nameFn(meta.name, false)) errs.push(invalid(child(path, 'name'), meta.name, m));
  errs.push(...commonMeta(meta, namespaced, path));
  arr<string>(meta.finalizers).forEach((f, i) => errs.push(...validateKubeFinalizerName(str(f), index(child(path, 'finalizers'), i))));
  return errs;
}

/** The generic checks the registry runs for kinds whose own validation skips ObjectMeta. */
export function validateObjectMetaGeneric(metaIn: unknown, namespaced: boolean, nameFn: NameFn, path = 'metadata'): Cause[] {
  const meta = (isObj(metaIn) ? metaIn : {}) as ObjectMeta;
  const errs: Cause[] = [];
  if (meta.generateName) for (const m of nameFn(meta.generateName, true)) errs.push(invalid(child(path, 'generateName'), meta.generateName, m));
  if (!meta.name) errs.push(required(child(path, 'name'), 'name or generateName is required'));
  else for (const m of nameFn(meta.name, false)) errs.push(invalid(child(path, 'name'), meta.name, m));
  return errs.concat(commonMeta(meta, namespaced, path));
}

function immutableMeta(n: unknown, o: unknown, path: string): Cause[] {
  if (semanticEqual(n, o)) return [];
  return [invalid(path, n === undefined ? '' : n, FIELD_IMMUTABLE)];
}

/**
 * ValidateObjectMetaUpdate. The resourceVersion precondition is left to the registry
 * (kite enforces optimistic concurrency there).
 */
export function validateObjectMetaUpdate(newIn: unknown, oldIn: unknown, path = 'metadata'): Cause[] {
  const n = (isObj(newIn) ? newIn : {}) as ObjectMeta;
  const o = (isObj(oldIn) ? oldIn : {}) as ObjectMeta;
  const errs: Cause[] = [];
  if (o.deletionTimestamp) {
    const oldF = new Set(arr<string>(o.finalizers));
    const extra = [...new Set(arr<string>(n.finalizers).filter((f) => !oldF.has(f)))].sort();
    if (extra.length > 0)
      errs.push(forbidden(child(path, 'finalizers'), `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra).text}`));
  }
  if ((n.generation ?? 0) < (o.generation ?? 0)) errs.push(invalid(child(path, 'generation'), n.generation ?? 0, 'must not be decremented'));
  errs.push(...immutableMeta(n.name, o.name, child(path, 'name')));
  errs.push(...immutableMeta(n.namespace, o.namespace, child(path, 'namespace')));
  errs.push(...immutableMeta(n.uid, o.uid, child(path, 'uid')));
  errs.push(...immutableMeta(n.creationTimestamp, o.creationTimestamp, child(path, 'creationTimestamp')));
  errs.push(...immutableMeta(n.deletionTimestamp, o.deletionTimestamp, child(path, 'deletionTimestamp')));
  errs.push(...immutableMeta(n.deletionGracePeriodSeconds, o.deletionGracePeriodSeconds, child(path, 'deletionGracePeriodSeconds')));
  errs.push(...validateLabels(n.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(n.annotations, child(path, 'annotations')));
  errs.push(...validateOwnerReferences(n.ownerReferences, child(path, 'ownerReferences')));
  errs.push(...validateFinalizers(n.finalizers, child(path, 'finalizers')));
  errs.push(...validateManagedFields(n.managedFields, child(path, 'managedFields')));
  arr<string>(n.finalizers).forEach((f, i) => errs.push(...validateKubeFinalizerName(str(f), index(child(path, 'finalizers'), i))));
  return errs;
}

// ---- label selectors -----------------------------------------------------------------

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function validateLabelSelector(sel: unknown, path: string, allowInvalidValues = false): Cause[] {
  const errs: Cause[] = [];
  if (!isObj(sel)) return errs;
  errs.push(...validateLabels(sel.matchLabels, child(path, 'matchLabels')));
  arr(sel.matchExpressions).forEach((raw, i) => {
    const e = isObj(raw) ? raw : {};
    const p = index(child(path, 'matchExpressions'), i);
    const values = arr<string>(e.values);
    const op = str(e.operator);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) errs.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) errs.push(forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else errs.push(invalid(child(p, 'operator'), op, 'not a valid selector operator'));
    errs.push(...validateLabelName(str(e.key), child(p, 'key')));
    if (!allowInvalidValues)
      values.forEach((v, j) => {
        for (const m of isValidLabelValue(str(v))) errs.push(invalid(index(child(p, 'values'), j), str(v), m));
      });
  });
  return errs;
}

/** Why LabelSelectorAsSelector would fail, or undefined when the selector converts. */
export function labelSelectorError(sel: unknown): string | undefined {
  if (!isObj(sel)) return undefined;
  for (const [k, v] of Object.entries(isObj(sel.matchLabels) ? sel.matchLabels : {})) {
    if (isQualifiedName(k).length) return `invalid label key "${k}"`;
    if (isValidLabelValue(str(v)).length) return `invalid label value: "${str(v)}"`;
  }
  for (const raw of arr(sel.matchExpressions)) {
    const e = isObj(raw) ? raw : {};
    const op = str(e.operator);
    const values = arr(e.values);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) return "for 'in', 'notin' operators, values set can't be empty";
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) return "values set must be empty for exists and does not exist";
    } else return `${goQuote(op)} is not a valid label selector operator`;
    if (isQualifiedName(str(e.key)).length) return `invalid label key "${str(e.key)}"`;
  }
  return undefined;
}

/** Whether a selector selects everything (labels.Everything(): set but empty). */
export function labelSelectorIsEmpty(sel: unknown): boolean {
  if (!isObj(sel)) return false;
  return Object.keys(isObj(sel.matchLabels) ? sel.matchLabels : {}).length + arr(sel.matchExpressions).length === 0;
}

/** LabelSelectorAsSelector(sel).Matches(labels); a nil selector matches nothing. */
export function labelSelectorMatches(sel: unknown, labels: Record<string, string> | undefined): boolean {
  return matchSelector(sel, labels);
}

// A map selector (Service, ReplicationController): machinery's, shared with the kubelet.
export { mapSelectorMatches } from '../../machinery/labels.js';

