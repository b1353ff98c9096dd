// Strategic merge patch as upstream's API server applies it
// (k8s.io/apimachinery/pkg/util/strategicpatch, StrategicMergeMapPatch with
// MergeParallelList and IgnoreUnmatchedNulls): lists whose field has patch strategy
// `merge` are merged by their merge key (or as sets of primitives), other lists and
// `replace` fields are replaced, null deletes, and the directives `$patch`
// (replace|delete|merge), `$retainKeys`, `$setElementOrder/<field>` and
// `$deleteFromPrimitiveList/<field>` are honoured. Ordering of merged lists follows
// upstream exactly, including Go's stable sort with its partial comparator.

import { isPlainObject } from '../../machinery/object.js';
import type { StatusError } from '../../machinery/status.js';
import { badRequest, rawServerError, unprocessable } from './errors.js';
import { goFormat, goTypeName, jsonTypeWord, cloneJson } from './gojson.js';
import type { TypeNode } from './schema.js';

const DIRECTIVE = '$patch';
const DELETE = 'delete';
const REPLACE = 'replace';
const MERGE = 'merge';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

type JsonMap = Record<string, unknown>;

/** The error classes upstream's handler tells apart (interpretStrategicMergePatchError). */
class SmpError extends Error {
  constructor(
    readonly kind: 'bad' | 'unprocessable' | 'raw',
    message: string,
  ) {
    super(message);
  }
}

const ErrBadPatchFormatForPrimitiveList = (): SmpError => new SmpError('bad', 'invalid patch format of primitive list');
const ErrBadPatchFormatForRetainKeys = (): SmpError => new SmpError('bad', 'invalid patch format of retainKeys');
const ErrBadPatchFormatForSetElementOrderList = (): SmpError => new SmpError('bad', 'invalid patch format of setElementOrder list');
const ErrNoListOfLists = (): SmpError => new SmpError('unprocessable', 'lists of lists are not supported');
const ErrNoMergeKey = (m: JsonMap, k: string): SmpError => new SmpError('raw', `map: ${goFormat(m)} does not contain declared merge key: ${k}`);
const ErrBadArgType = (expected: string, actual: unknown): SmpError =>
  new SmpError('raw', `expected a ${expected}, but received a ${actual === undefined || actual === null ? '%!s(<nil>)' : goTypeName(actual)}`);
const ErrBadPatchType = (t: unknown, m: JsonMap): SmpError => new SmpError('raw', `unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`);

const SLICE_T = '[]interface {}';
const MAP_T = 'map[string]interface {}';

function toStatus(e: SmpError): StatusError {
  if (e.kind === 'bad') return badRequest(e.message);
  if (e.kind === 'unprocessable') return unprocessable();
  return rawServerError(e.message);
}

// ---------------------------------------------------------------------------------
// Schema look-ups (LookupPatchMetadataForStruct / ForSlice).

interface PatchMeta {
  sub: TypeNode | undefined;
  strategies: readonly string[];
  mergeKey: string;
}

const NO_META: PatchMeta = { sub: undefined, strategies: [], mergeKey: '' };

function lookupStruct(t: TypeNode | undefined, key: string): PatchMeta {
  if (!t || t.kind !== 'map') return NO_META;
  const f = t.field(key);
  if (f) return { sub: f.type, strategies: f.patchStrategies, mergeKey: f.mergeKey };
  return t.elem ? { sub: t.elem, strategies: [], mergeKey: '' } : NO_META;
}

function lookupSlice(t: TypeNode | undefined, key: string): PatchMeta {
  const m = lookupStruct(t, key);
  // A field whose schema is not an array is taken as its own element type.
  return m.sub && m.sub.kind === 'list' ? { ...m, sub: m.sub.elem } : m;
}

/** The non-retainKeys strategy (extractRetainKeysPatchStrategy). */
function mainStrategy(strategies: readonly string[]): string {
  switch (strategies.length) {
    case 0:
      return '';
    case 1:
      return strategies[0] === 'retainKeys' ? '' : strategies[0];
    case 2:
      if (strategies[0] === 'retainKeys') return strategies[1];
      if (strategies[1] === 'retainKeys') return strategies[0];
      throw new SmpError('raw', `unexpected patch strategy: [${strategies.join(' ')}]`);
    default:
      throw new SmpError('raw', `unexpected patch strategy: [${strategies.join(' ')}]`);
  }
}

// ---------------------------------------------------------------------------------
// Go-ish type classification.

type GoKind = 'map' | 'slice' | 'string' | 'int64' | 'float64' | 'bool' | 'nil';

function goKind(v: unknown): GoKind {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (isPlainObject(v)) return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

function sliceElementType(...slices: (unknown[] | undefined)[]): GoKind {
  let prev: GoKind | undefined;
  for (const s of slices) {
    if (!s) continue;
    for (const v of s) {
      const cur = goKind(v);
      if (prev === undefined) {
        prev = cur;
        if (prev === 'slice') throw ErrNoListOfLists();
      } else if (prev !== cur) {
        throw new SmpError('raw', `list element types are not identical: ${goFormat(slices.map((x) => x ?? []))}`);
      }
    }
  }
  if (prev === undefined) throw new SmpError('raw', 'no elements in any of the given slices');
  return prev;
}

function has(m: JsonMap, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(m, k) && m[k] !== undefined;
}

function keyValue(item: unknown, mergeKey: string): unknown {
  if (!isPlainObject(item)) return null;
  const v = item[mergeKey];
  return v === undefined ? null : v;
}

// ---------------------------------------------------------------------------------
// Go's sort.SliceStable (insertion sort in blocks of 20, then SymMerge), reproduced
// because the comparator upstream passes is not a strict weak order.

function sliceStable<T>(a: T[], less: (x: T, y: T) => boolean): void {
  const lessIdx = (i: number, j: number): boolean => less(a[i], a[j]);
  const swap = (i: number, j: number): void => {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  };
  const insertionSort = (lo: number, hi: number): void => {
    for (let i = lo + 1; i < hi; i++) for (let j = i; j > lo && lessIdx(j, j - 1); j--) swap(j, j - 1);
  };
  const swapRange = (x: number, y: number, n: number): void => {
    for (let i = 0; i < n; i++) swap(x + i, y + i);
  };
  const rotate = (lo: number, m: number, hi: number): void => {
    let i = m - lo;
    let j = hi - m;
    while (i !== j) {
      if (i > j) {
        swapRange(m - i, m, j);
        i -= j;
      } else {
        swapRange(m - i, m + j - i, i);
        j -= i;
      }
    }
    swapRange(m - i, m, i);
  };
  const symMerge = (lo: number, m: number, hi: number): void => {
    if (m - lo === 1) {
      let i = m;
      let j = hi;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (lessIdx(h, lo)) i = h + 1;
        else j = h;
      }
      for (let k = lo; k < i - 1; k++) swap(k, k + 1);
      return;
    }
    if (hi - m === 1) {
      let i = lo;
      let j = m;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (!lessIdx(m, h)) i = h + 1;
        else j = h;
      }
      for (let k = m; k > i; k--) swap(k, k - 1);
      return;
    }
    const mid = (lo + hi) >>> 1;
    const n = mid + m;
    let start: number;
    let r: number;
    if (m > mid) {
      start = n - hi;
      r = mid;
    } else {
      start = lo;
      r = m;
    }
    const p = n - 1;
    while (start < r) {
      const c = (start + r) >>> 1;
      if (!lessIdx(p - c, c)) start = c + 1;
      else r = c;
    }
    const end = n - start;
    if (start < m && m < end) rotate(start, m, end);
    if (lo < start && start < mid) symMerge(lo, start, mid);
    if (mid < end && end < hi) symMerge(mid, end, hi);
  };
  const n = a.length;
  let blockSize = 20;
  let lo = 0;
  let hi = blockSize;
  while (hi <= n) {
    insertionSort(lo, hi);
    lo = hi;
    hi += blockSize;
  }
  insertionSort(lo, n);
  while (blockSize < n) {
    lo = 0;
    hi = 2 * blockSize;
    while (hi <= n) {
      symMerge(lo, lo + blockSize, hi);
      lo = hi;
      hi += 2 * blockSize;
    }
    const m = lo + blockSize;
    if (m < n) symMerge(lo, m, n);
    blockSize *= 2;
  }
}

// ---------------------------------------------------------------------------------
// Ordering.

function indexOf(l: readonly unknown[] | undefined, val: unknown, mergeKey: string, kind: GoKind): number {
  if (!l) return -1;
  if (kind === 'map') {
    const want = keyValue(val, mergeKey);
    for (let i = 0; i < l.length; i++) if (keyValue(l[i], mergeKey) === want) return i;
    return -1;
  }
  for (let i = 0; i < l.length; i++) if (l[i] === val) return i;
  return -1;
}

function validateMergeKeyInLists(mergeKey: string, ...lists: (readonly unknown[] | undefined)[]): void {
  for (const list of lists) {
    for (const item of list ?? []) {
      if (!isPlainObject(item)) throw ErrBadArgType(MAP_T, item);
      if (!has(item, mergeKey) && !Object.prototype.hasOwnProperty.call(item, mergeKey)) throw ErrNoMergeKey(item, mergeKey);
    }
  }
}

function normalizeSliceOrder(toSort: unknown[], order: readonly unknown[] | undefined, mergeKey: string, kind: GoKind): unknown[] {
  const toDelete: unknown[] = [];
  let items = toSort;
  if (kind === 'map') {
    validateMergeKeyInLists(mergeKey, items, order);
    const keep: unknown[] = [];
    for (const v of items) {
      if (!isPlainObject(v)) throw ErrBadArgType(MAP_T, v);
      if (v[DIRECTIVE] === DELETE) toDelete.push(v);
      else keep.push(v);
    }
    items = keep;
  }
  sliceStable(items, (x, y) => {
    const ii = indexOf(order, x, mergeKey, kind);
    if (ii >= 0) {
      const ij = indexOf(order, y, mergeKey, kind);
      if (ij >= 0) return ii < ij;
    }
    return true;
  });
  if (toDelete.length) items = items.concat(toDelete);
  return items;
}

function mergeSortedSlice(left: unknown[], right: unknown[], serverOrder: readonly unknown[] | undefined, mergeKey: string, kind: GoKind): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  const size = left.length + right.length;
  for (let k = 0; k < size; k++) {
    if (i >= left.length && j < right.length) out.push(right[j++]);
    else if (j >= right.length && i < left.length) out.push(left[i++]);
    else {
      const li = indexOf(serverOrder, left[i], mergeKey, kind);
      const ri = indexOf(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function normalizeElementOrder(
  patch: unknown[],
  serverOnly: unknown[],
  patchOrder: readonly unknown[] | undefined,
  serverOrder: readonly unknown[] | undefined,
  mergeKey: string,
  kind: GoKind,
): unknown[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

function findMapByKey(list: readonly unknown[], key: string, value: unknown): [JsonMap, number] | undefined {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isPlainObject(v)) throw new SmpError('raw', `value for key ${i} is not a map`);
    if (Object.prototype.hasOwnProperty.call(v, key) && (v[key] ?? null) === value) return [v, i];
  }
  return undefined;
}

function partitionPrimitives(list: unknown[], by: readonly unknown[]): [unknown[], unknown[]] {
  const inPatch = new Set(by);
  const patch: unknown[] = [];
  const server: unknown[] = [];
  for (const v of list) (inPatch.has(v) ? patch : server).push(v);
  return [patch, server];
}

function partitionMaps(list: unknown[], by: readonly unknown[], mergeKey: string): [unknown[], unknown[]] {
  const patch: unknown[] = [];
  const server: unknown[] = [];
  for (const v of list) {
    if (!isPlainObject(v)) throw ErrBadArgType(MAP_T, v);
    if (!Object.prototype.hasOwnProperty.call(v, mergeKey)) throw ErrNoMergeKey(v, mergeKey);
    (findMapByKey(by, mergeKey, v[mergeKey] ?? null) ? patch : server).push(v);
  }
  return [patch, server];
}

// ---------------------------------------------------------------------------------
// Directives.

/** Drops maps carrying `$patch` (recursively); returns [value, keep]. May modify `v`. */
function removeDirectives(v: unknown): [unknown, boolean] {
  if (v === null || v === undefined) return [v, true];
  if (isPlainObject(v)) {
    if (has(v, DIRECTIVE) || Object.prototype.hasOwnProperty.call(v, DIRECTIVE)) return [null, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (keep) v[k] = nv;
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const res: unknown[] = [];
    for (const item of v) {
      const [nv, keep] = removeDirectives(item);
      if (keep) res.push(nv);
    }
    return [res, true];
  }
  return [v, true];
}

function discardNullValuesFromPatch(v: unknown): void {
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNullValuesFromPatch(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const item of v) discardNullValuesFromPatch(item);
  }
}

function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    if (prefix === DELETE_FROM_PRIMITIVE_LIST) throw ErrBadPatchFormatForPrimitiveList();
    if (prefix === SET_ELEMENT_ORDER) throw ErrBadPatchFormatForSetElementOrderList();
    throw new SmpError('raw', `fail to find unknown prefix ${JSON.stringify(prefix)} in ${s}\n`);
  }
  return s.slice(slash + 1);
}

function applyRetainKeysDirective(original: JsonMap, patch: JsonMap): void {
  if (!Object.prototype.hasOwnProperty.call(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw ErrBadPatchFormatForRetainKeys();
  const keep = new Set<unknown>(retain);
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw ErrBadPatchFormatForRetainKeys();
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function validatePatchWithSetOrderList(patchList: unknown[] | undefined, setOrderList: unknown[], mergeKey: string): void {
  if (setOrderList.length === 0 || !patchList || patchList.length === 0) return;
  let nonDelete: unknown[];
  if (mergeKey) {
    nonDelete = [];
    for (const v of patchList) {
      if (!isPlainObject(v)) throw ErrBadArgType(MAP_T, v);
      if (v[DIRECTIVE] !== DELETE) nonDelete.push(v);
    }
  } else nonDelete = patchList;
  let pi = 0;
  let si = 0;
  while (pi < nonDelete.length && si < setOrderList.length) {
    const item = nonDelete[pi];
    if (isPlainObject(item) && Object.prototype.hasOwnProperty.call(item, DIRECTIVE)) {
      pi++;
      continue;
    }
    if (mergeKeyValueEqual(item, setOrderList[si], mergeKey)) pi++;
    si++;
  }
  if (pi < nonDelete.length && si >= setOrderList.length) {
    throw new SmpError(
      'raw',
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(setOrderList)}\n`,
    );
  }
}

function mergeKeyValueEqual(left: unknown, right: unknown, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isPlainObject(left)) throw ErrBadArgType(MAP_T, left);
  if (!isPlainObject(right)) throw ErrBadArgType(MAP_T, right);
  if (!Object.prototype.hasOwnProperty.call(left, mergeKey)) throw ErrNoMergeKey(left, mergeKey);
  if (!Object.prototype.hasOwnProperty.call(right, mergeKey)) throw ErrNoMergeKey(right, mergeKey);
  return (left[mergeKey] ?? null) === (right[mergeKey] ?? null);
}

/** Processes `$setElementOrder/<field>` together with the list it orders. */
function mergePatchIntoOriginal(original: JsonMap, patch: JsonMap, t: TypeNode | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER) || !Object.prototype.hasOwnProperty.call(patch, key)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw ErrBadArgType(SLICE_T, order);
    const originalKey = extractKey(key, SET_ELEMENT_ORDER);
    const foundOriginal = Object.prototype.hasOwnProperty.call(original, originalKey);
    const foundPatch = Object.prototype.hasOwnProperty.call(patch, originalKey);
    let originalList: unknown[] | undefined;
    let patchList: unknown[] | undefined;
    if (foundOriginal) {
      const v = original[originalKey];
      if (v !== null && !Array.isArray(v)) throw ErrBadArgType(SLICE_T, v);
      originalList = (v as unknown[] | null) ?? undefined;
    }
    if (foundPatch) {
      const v = patch[originalKey];
      if (v !== null && !Array.isArray(v)) throw ErrBadArgType(SLICE_T, v);
      patchList = (v as unknown[] | null) ?? undefined;
    }
    const meta = lookupSlice(t, originalKey);
    const strategy = mainStrategy(meta.strategies);
    validatePatchWithSetOrderList(patchList, order, meta.mergeKey);

    let merged: unknown[];
    if (foundOriginal && !foundPatch) merged = originalList ?? [];
    else if (!foundOriginal && foundPatch) merged = (removeDirectives(patchList ?? [])[0] as unknown[]) ?? [];
    else if (foundOriginal && foundPatch) merged = mergeSliceHandler(original[originalKey], patch[originalKey], meta.sub, strategy, meta.mergeKey, false);
    else continue;

    const [patchItems, serverOnly] = meta.mergeKey ? partitionMaps(merged, order, meta.mergeKey) : partitionPrimitives(merged, order);
    const kind = sliceElementType(originalList, patchList);
    original[originalKey] = normalizeElementOrder(patchItems, serverOnly, order, originalList, meta.mergeKey, kind);
    delete patch[originalKey];
  }
}

// ---------------------------------------------------------------------------------
// Merging.

function handleDirectiveInMergeMap(directive: unknown, patch: JsonMap): JsonMap {
  if (directive === REPLACE) {
    delete patch[DIRECTIVE];
    return patch;
  }
  if (directive === DELETE) return {};
  throw ErrBadPatchType(directive, patch);
}

function mergeMap(original: JsonMap | null | undefined, patch: JsonMap, t: TypeNode | undefined): JsonMap {
  if (Object.prototype.hasOwnProperty.call(patch, DIRECTIVE)) return handleDirectiveInMergeMap(patch[DIRECTIVE], patch);
  const orig: JsonMap = original ?? {};
  applyRetainKeysDirective(orig, patch);
  mergePatchIntoOriginal(orig, patch, t);

  for (const rawKey of Object.keys(patch)) {
    const patchV = patch[rawKey];
    if (patchV === undefined) continue;
    let k = rawKey;
    let isDeleteList = false;
    if (rawKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = extractKey(rawKey, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[k];
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(orig, k)) {
      if (!isDeleteList) {
        discardNullValuesFromPatch(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) orig[k] = v;
        else delete orig[k];
      }
      continue;
    }
    const ok = goKind(orig[k]);
    const pk = goKind(patchV);
    if (ok !== pk) {
      if (!isDeleteList) {
        discardNullValuesFromPatch(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) orig[k] = v;
        else delete orig[k];
      }
      continue;
    }
    if (ok === 'map') {
      const meta = lookupStruct(t, k);
      const strategy = mainStrategy(meta.strategies);
      orig[k] = strategy !== REPLACE ? mergeMap(orig[k] as JsonMap, patchV as JsonMap, meta.sub) : patchV;
    } else if (ok === 'slice') {
      const meta = lookupSlice(t, k);
      const strategy = mainStrategy(meta.strategies);
      orig[k] = mergeSliceHandler(orig[k], patchV, meta.sub, strategy, meta.mergeKey, isDeleteList);
    } else {
      const [v, keep] = removeDirectives(patchV);
      if (keep) orig[k] = v;
      else delete orig[k];
    }
  }
  return orig;
}

function mergeSliceHandler(original: unknown, patch: unknown, elem: TypeNode | undefined, strategy: string, mergeKey: string, isDeleteList: boolean): unknown[] {
  if (original !== null && !Array.isArray(original)) throw ErrBadArgType(SLICE_T, original);
  if (patch !== null && !Array.isArray(patch)) throw ErrBadArgType(SLICE_T, patch);
  const o = (original as unknown[] | null) ?? [];
  const p = (patch as unknown[] | null) ?? [];
  if (strategy === MERGE || isDeleteList) return mergeSlice(o, p, elem, mergeKey, isDeleteList);
  return p;
}

/**
 * A Go slice over a backing array: upstream's list merge deletes in place and appends
 * within spare capacity, and the order it then enforces reads the original slice,
 * which sees those writes. Emulating that keeps list order identical to upstream's.
 * (Lists decoded upstream have capacity equal to their length.)
 */
interface GoSlice {
  arr: unknown[];
  len: number;
  cap: number;
}

function sliceOf(arr: unknown[]): GoSlice {
  return { arr, len: arr.length, cap: arr.length };
}

function view(s: GoSlice): unknown[] {
  return s.arr.length === s.len ? s.arr : s.arr.slice(0, s.len);
}

function goAppend(s: GoSlice, v: unknown): void {
  if (s.len < s.cap) {
    s.arr[s.len] = v;
    s.len++;
    return;
  }
  const arr = s.arr.slice(0, s.len);
  arr.push(v);
  s.arr = arr;
  s.len = arr.length;
  s.cap = Math.max(2 * s.cap, s.len);
}

function mergeSlice(original: unknown[], patch: unknown[], elem: TypeNode | undefined, mergeKey: string, isDeleteList: boolean): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementType(original, patch);
  let merged: unknown[];
  let serverOrder: unknown[];
  let p: unknown[] | undefined = patch;
  if (kind !== 'map') {
    if (isDeleteList) return deleteFromSlice(original, patch);
    merged = deduplicateScalars([...original, ...patch]);
    serverOrder = original;
  } else {
    if (!mergeKey) throw new SmpError('raw', 'cannot merge lists without merge key for struct');
    const special = mergeSliceWithSpecialElements(sliceOf(original), patch, mergeKey);
    p = special.patch;
    const orig = special.original;
    const origLen = orig.len;
    const work: GoSlice = { ...orig };
    mergeSliceWithoutSpecialElements(work, p ?? [], mergeKey, elem);
    merged = view(work);
    serverOrder = orig.arr.slice(0, origLen);
  }
  const [patchItems, serverOnly] = mergeKey ? partitionMaps(merged, p ?? [], mergeKey) : partitionPrimitives(merged, p ?? []);
  return normalizeElementOrder(patchItems, serverOnly, p, serverOrder, mergeKey, kind);
}

function mergeSliceWithSpecialElements(original: GoSlice, patch: unknown[], mergeKey: string): { original: GoSlice; patch: unknown[] | undefined } {
  const plain: unknown[] = [];
  let replace = false;
  const orig = original;
  for (const v of patch) {
    const m = v as JsonMap;
    if (!Object.prototype.hasOwnProperty.call(m, DIRECTIVE)) {
      plain.push(v);
      continue;
    }
    const directive = m[DIRECTIVE];
    if (directive === DELETE) {
      if (!Object.prototype.hasOwnProperty.call(m, mergeKey)) throw ErrNoMergeKey(m, mergeKey);
      const value = m[mergeKey] ?? null;
      for (;;) {
        const found = findMapByKey(view(orig), mergeKey, value);
        if (!found) break;
        // append(s[:i], s[i+1:]...): shifts left in the same backing array.
        orig.arr.copyWithin(found[1], found[1] + 1, orig.len);
        orig.len--;
      }
    } else if (directive === REPLACE) {
      replace = true;
    } else if (directive === MERGE) {
      throw new SmpError('raw', 'merging lists cannot yet be specified in the patch');
    } else {
      throw ErrBadPatchType(directive, m);
    }
  }
  if (replace) return { original: sliceOf(plain), patch: undefined };
  return { original: orig, patch: plain };
}

function mergeSliceWithoutSpecialElements(work: GoSlice, patch: unknown[], mergeKey: string, elem: TypeNode | undefined): void {
  for (const v of patch) {
    const m = v as JsonMap;
    if (!Object.prototype.hasOwnProperty.call(m, mergeKey)) throw ErrNoMergeKey(m, mergeKey);
    const found = findMapByKey(view(work), mergeKey, m[mergeKey] ?? null);
    if (found) work.arr[found[1]] = mergeMap(found[0], m, elem);
    else goAppend(work, v);
  }
}

function deleteFromSlice(current: unknown[], toDelete: unknown[]): unknown[] {
  const del = new Set(toDelete);
  return current.filter((v) => !del.has(v));
}

/** Upstream's in-place deduplication (moves the last element into each duplicate's slot). */
function deduplicateScalars(s: unknown[]): unknown[] {
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length];
        s.length = length;
        length--;
        j--;
      }
    }
  }
  return s;
}

/**
 * Removes what typed decoding removes upstream: null map values and leftover patch
 * directive keys ($patch, $retainKeys, $setElementOrder/…, $deleteFromPrimitiveList/…).
 */
function clean(v: unknown): void {
  if (Array.isArray(v)) {
    for (const item of v) if (item !== null && typeof item === 'object') clean(item);
    return;
  }
  if (!isPlainObject(v)) return;
  for (const k of Object.keys(v)) {
    const val = v[k];
    if (val === null || val === undefined || (k.charCodeAt(0) === 36 /* $ */ && isDirectiveKey(k))) delete v[k];
    else if (typeof val === 'object') clean(val);
  }
}

function isDirectiveKey(k: string): boolean {
  return k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ELEMENT_ORDER + '/') || k.startsWith(DELETE_FROM_PRIMITIVE_LIST + '/');
}

/** What `clean` would change in `v`: a null or undefined member or a directive key anywhere below. */
function needsCleaning(v: unknown): boolean {
  if (Array.isArray(v)) {
    for (const item of v) if (item !== null && typeof item === 'object' && needsCleaning(item)) return true;
    return false;
  }
  if (!isPlainObject(v)) return false;
  for (const k in v) {
    const val = v[k];
    if (val === null || val === undefined || (k.charCodeAt(0) === 36 /* $ */ && isDirectiveKey(k))) return true;
    if (typeof val === 'object' && needsCleaning(val)) return true;
  }
  return false;
}

export interface StrategicMergeOptions {
  /**
   * The result keeps the document's own top-level members that the patch does not name
   * (when the patch has no top-level directive, which could reach any of them) instead
   * of copies: for a caller that changes none of them afterwards. A status patch then
   * copies the status, not the whole object.
   */
  shareUntouched?: boolean;
}

/**
 * Applies a strategic merge patch to `doc` (neither argument is modified) using the
 * patch strategies and merge keys of `schema` (undefined: no schema, which merges maps
 * and replaces lists like a JSON merge patch). Throws StatusError as upstream: 400 for
 * a malformed patch or directive, 422 for lists of lists, 500 (raw message) otherwise.
 */
export function applyStrategicMergePatch<T = unknown>(doc: T, patch: unknown, schema?: TypeNode, opts: StrategicMergeOptions = {}): T {
  if (patch === null || patch === undefined) return cloneJson(doc);
  if (!isPlainObject(patch)) throw badRequest(`json: cannot unmarshal ${jsonTypeWord(patch)} into Go value of type map[string]interface {}`);
  if (!isPlainObject(doc)) throw badRequest('invalid JSON document');
  let shared: JsonMap | undefined;
  if (opts.shareUntouched) {
    shared = doc;
    for (const k in patch) if (k.charCodeAt(0) === 36 /* $ */) shared = undefined;
  }
  let original: JsonMap;
  if (shared) {
    original = {};
    for (const k in shared) {
      const v = shared[k];
      if (v !== undefined) original[k] = k in patch ? cloneJson(v) : v;
    }
  } else original = cloneJson(doc) as JsonMap;
  const p = cloneJson(patch);
  let result: JsonMap;
  try {
    result = mergeMap(original, p, schema);
  } catch (e) {
    if (e instanceof SmpError) throw toStatus(e);
    throw e;
  }
  if (!shared) clean(result);
  else
    for (const k of Object.keys(result)) {
      const val = result[k];
      if (val === null || val === undefined || (k.charCodeAt(0) === 36 /* $ */ && isDirectiveKey(k))) delete result[k];
      else if (typeof val !== 'object') continue;
      else if (val !== shared[k]) clean(val);
      // A kept member is cleaned as a copy, only when cleaning would change it.
      else if (needsCleaning(val)) clean((result[k] = cloneJson(val)));
    }
  return result as T;
}
