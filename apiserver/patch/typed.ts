// The typed-value operations of structured-merge-diff, over plain JSON values and the
// TypeNodes of schema.ts: validation of an applied object, its field set, comparison
// of two versions, merge of an applied configuration, and removal of field sets.

import { isPlainObject, jsonEqual } from '../../machinery/object.js';
import { FieldSet, fieldPE, keyPE, peToString, valuePE, type PathElement } from './fieldpath.js';
import { UNTYPED, atomOf, childType, type ListType, type MapType, type TypeNode } from './schema.js';
import { goQuoteString } from './gojson.js';

/** Error from a list item that cannot be addressed (keyed list item without keys, ...). */
export class ItemError extends Error {}

function keyDefault(list: ListType, name: string): unknown {
  const elem = list.elem;
  if (elem.kind !== 'map') throw new ItemError('associative list may not have non-map types');
  return elem.field(name)?.default;
}

/** Path elements of keyed items seen recently, validated against the item's current key values. */
const itemPECache = new WeakMap<object, { list: ListType; values: unknown[]; pe: PathElement }>();

/** The path element addressing `item` in an associative list. */
export function listItemPE(list: ListType, item: unknown): PathElement {
  if (list.atomic) throw new ItemError('invalid indexing of non-associative list');
  if (list.keys.length > 0) {
    if (isPlainObject(item)) {
      const hit = itemPECache.get(item);
      if (hit && hit.list === list && hit.values.every((v, i) => item[list.keys[i]] === v)) return hit.pe;
      const pe = keyedItemPE(list, item);
      itemPECache.set(item, { list, values: list.keys.map((k) => item[k]), pe });
      return pe;
    }
    return keyedItemPE(list, item);
  }
  if (isPlainObject(item)) throw new ItemError("associative list without keys has an element that's a map type");
  if (Array.isArray(item)) throw new ItemError('not supported: associative list with lists as elements');
  if (item === null) throw new ItemError("associative list without keys has an element that's an explicit null");
  return valuePE(item);
}

function keyedItemPE(list: ListType, item: unknown): PathElement {
  {
    if (item === null) throw new ItemError('associative list with keys may not have a null element');
    if (!isPlainObject(item)) throw new ItemError('associative list with keys may not have non-map elements');
    const fields: Array<[string, unknown]> = [];
    for (const k of list.keys) {
      if (Object.prototype.hasOwnProperty.call(item, k) && item[k] !== undefined) fields.push([k, item[k]]);
      else {
        const def = keyDefault(list, k);
        if (def !== undefined && def !== null) fields.push([k, def]);
      }
    }
    if (fields.length === 0) {
      throw new ItemError(
        `associative list with keys has an element that omits all key fields [${list.keys.map(goQuoteString).join(' ')}] (and doesn't have default values for any key fields)`,
      );
    }
    return keyPE(fields);
  }
}

// ---------------------------------------------------------------------------------
// Validation (of an applied configuration: upstream converts it with duplicates
// forbidden and unknown struct fields rejected).

export function validate(v: unknown, t: TypeNode | undefined, allowDuplicates = false): string[] {
  const errs: string[] = [];
  validateWalk(v, t ?? UNTYPED, '', errs, allowDuplicates);
  return errs;
}

function validateWalk(v: unknown, t: TypeNode, path: string, errs: string[], allowDup: boolean): void {
  if (v === null || v === undefined) return;
  const a = atomOf(t, v);
  if (a.kind === 'map') {
    if (!isPlainObject(v)) {
      errs.push(`${path ? path + ': ' : ''}expected map, got ${JSON.stringify(v)}`);
      return;
    }
    const m = a.map;
    for (const k of Object.keys(v)) {
      const f = m.field(k);
      let ct: TypeNode;
      if (f) ct = f.type;
      else if (m.elem) ct = m.elem;
      else {
        errs.push(`${path}.${k}: field not declared in schema`);
        return;
      }
      validateWalk(v[k], ct, `${path}.${k}`, errs, allowDup);
    }
  } else if (a.kind === 'list') {
    if (!Array.isArray(v)) {
      errs.push(`${path ? path + ': ' : ''}expected list, got ${JSON.stringify(v)}`);
      return;
    }
    const l = a.list;
    const seen = new Set<string>();
    for (let i = 0; i < v.length; i++) {
      let seg = `[${i}]`;
      if (!l.atomic) {
        let pe: PathElement;
        try {
          pe = listItemPE(l, v[i]);
        } catch (e) {
          if (!(e instanceof ItemError)) throw e;
          errs.push(`${path ? path + ': ' : ''}element ${i}: ${e.message}`);
          return;
        }
        if (seen.has(pe.id) && !allowDup) errs.push(`${path ? path + ': ' : ''}duplicate entries for key ${peToString(pe)}`);
        seen.add(pe.id);
        seg = peToString(pe);
      }
      validateWalk(v[i], l.elem, path + seg, errs, allowDup);
    }
  }
}

// ---------------------------------------------------------------------------------
// Field sets.

/** The set of fields `v` sets: leaves, list items, and map entries that are not struct fields. */
export function toFieldSet(v: unknown, t: TypeNode | undefined): FieldSet {
  const root = new FieldSet();
  const a = atomOf(t, v);
  if (a.kind === 'map' && isPlainObject(v) && !a.map.atomic) fsMapItems(v, a.map, root);
  else if (a.kind === 'list' && Array.isArray(v) && !a.list.atomic) fsListItems(v, a.list, root);
  return root;
}

function fsValue(v: unknown, t: TypeNode, parent: FieldSet, pe: PathElement): void {
  const a = atomOf(t, v);
  if (a.kind === 'scalar') {
    parent.addMember(pe);
    return;
  }
  if (a.kind === 'list') {
    if (a.list.atomic) {
      parent.addMember(pe);
      return;
    }
    if (!Array.isArray(v) || v.length === 0) return;
    const s = new FieldSet();
    fsListItems(v, a.list, s);
    if (!s.empty()) parent.children.set(pe.id, { pe, set: s });
    return;
  }
  if (a.map.atomic) {
    parent.addMember(pe);
    return;
  }
  if (!isPlainObject(v)) return;
  const s = new FieldSet();
  fsMapItems(v, a.map, s);
  if (!s.empty()) parent.children.set(pe.id, { pe, set: s });
}

function fsMapItems(obj: Record<string, unknown>, m: MapType, set: FieldSet): void {
  for (const k of Object.keys(obj)) {
    const val = obj[k];
    if (val === undefined) continue;
    const f = m.field(k);
    const pe = fieldPE(k);
    fsValue(val, f ? f.type : (m.elem ?? UNTYPED), set, pe);
    if (val === null || (isPlainObject(val) && Object.keys(val).length === 0) || !f) set.addMember(pe);
  }
}

function fsListItems(arr: unknown[], l: ListType, set: FieldSet): void {
  const pes: (PathElement | undefined)[] = new Array(arr.length);
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (let i = 0; i < arr.length; i++) {
    let pe: PathElement;
    try {
      pe = listItemPE(l, arr[i]);
    } catch (e) {
      if (e instanceof ItemError) continue;
      throw e;
    }
    pes[i] = pe;
    if (seen.has(pe.id)) {
      if (!dups.has(pe.id)) {
        dups.add(pe.id);
        set.addMember(pe);
      }
    } else seen.add(pe.id);
  }
  for (let i = 0; i < arr.length; i++) {
    const pe = pes[i];
    if (!pe || dups.has(pe.id)) continue;
    fsValue(arr[i], l.elem, set, pe);
    set.addMember(pe);
  }
}

/** Adds struct fields that are prefixes of paths in `s` as members (so that removal of them is possible). */
export function ensureNamedFieldsAreMembers(s: FieldSet, t: TypeNode | undefined): FieldSet {
  const out = new FieldSet();
  for (const [k, pe] of s.members) out.members.set(k, pe);
  const untyped = !t || t.kind === 'untyped';
  const map = t && t.kind === 'map' ? t : undefined;
  const list = t && t.kind === 'list' ? t : undefined;
  for (const [k, n] of s.children) {
    let ct: TypeNode | undefined;
    if (untyped) ct = n.pe.kind === 'field' || n.pe.kind === 'key' ? UNTYPED : undefined;
    else if (n.pe.kind === 'field' && map) {
      const f = map.field(n.pe.name);
      if (f) out.addMember(n.pe);
      ct = f ? f.type : map.elem;
    } else if (n.pe.kind === 'key' && list) ct = list.elem;
    out.children.set(k, { pe: n.pe, set: ct ? ensureNamedFieldsAreMembers(n.set, ct) : n.set });
  }
  return out;
}

// ---------------------------------------------------------------------------------
// Comparison.

export interface Comparison {
  added: FieldSet;
  removed: FieldSet;
  modified: FieldSet;
}

const ADDED = 0;
const REMOVED = 1;
const MODIFIED = 2;

/** Lazily materialized position in the three result trees. */
class Level {
  private readonly sets: (FieldSet | undefined)[];
  constructor(
    private readonly parent: Level | undefined,
    private readonly pe: PathElement | undefined,
    roots?: FieldSet[],
  ) {
    this.sets = roots ? [...roots] : [undefined, undefined, undefined];
  }
  get(i: number): FieldSet {
    let s = this.sets[i];
    if (!s) {
      s = this.parent!.get(i).child(this.pe!);
      this.sets[i] = s;
    }
    return s;
  }
}

export function compare(lhs: unknown, rhs: unknown, t: TypeNode | undefined): Comparison {
  const c: Comparison = { added: new FieldSet(), removed: new FieldSet(), modified: new FieldSet() };
  const root = new Level(undefined, undefined, [c.added, c.removed, c.modified]);
  const tt = t ?? UNTYPED;
  // The root itself is never reported; compare its contents.
  const a = atomOf(tt, rhs !== undefined ? rhs : lhs);
  if (a.kind === 'map') {
    cmpMapItems(isPlainObject(lhs) ? lhs : undefined, isPlainObject(rhs) ? rhs : undefined, a.map, root);
  } else if (a.kind === 'list') {
    cmpListItems(Array.isArray(lhs) ? lhs : undefined, Array.isArray(rhs) ? rhs : undefined, a.list, root);
  }
  return pruneEmpty(c);
}

function pruneEmpty(c: Comparison): Comparison {
  return { added: dropEmpty(c.added), removed: dropEmpty(c.removed), modified: dropEmpty(c.modified) };
}

function dropEmpty(s: FieldSet): FieldSet {
  for (const [k, n] of [...s.children]) {
    dropEmpty(n.set);
    if (n.set.empty()) s.children.delete(k);
  }
  return s;
}

function sameAtom(a: ReturnType<typeof atomOf>, b: ReturnType<typeof atomOf>): boolean {
  return a.kind === b.kind;
}

function cmpNode(l: unknown, r: unknown, t: TypeNode, parent: Level, pe: PathElement): void {
  // The same value on both sides (a subtree a write shares with the live object) differs nowhere.
  if (l === r && l !== undefined) return;
  let inLeaf: boolean;
  if (r === undefined) inLeaf = cmpHandle(atomOf(t, l), l, r, parent, pe);
  else if (l === undefined) inLeaf = cmpHandle(atomOf(t, r), l, r, parent, pe);
  else {
    const al = atomOf(t, l);
    const ar = atomOf(t, r);
    if (!sameAtom(al, ar)) cmpHandle(al, l, r, parent, pe);
    inLeaf = cmpHandle(ar, l, r, parent, pe);
  }
  if (!inLeaf) {
    if (l === undefined) parent.get(ADDED).addMember(pe);
    else if (r === undefined) parent.get(REMOVED).addMember(pe);
  }
}

function cmpLeaf(l: unknown, r: unknown, parent: Level, pe: PathElement): true {
  if (l === undefined) parent.get(ADDED).addMember(pe);
  else if (r === undefined) parent.get(REMOVED).addMember(pe);
  else if (!jsonEqual(l, r)) parent.get(MODIFIED).addMember(pe);
  return true;
}

/** Returns whether the node was handled as a leaf. */
function cmpHandle(a: ReturnType<typeof atomOf>, l: unknown, r: unknown, parent: Level, pe: PathElement): boolean {
  if (a.kind === 'scalar') return cmpLeaf(l, r, parent, pe);
  if (a.kind === 'list') {
    const ll = Array.isArray(l) ? l : undefined;
    const rl = Array.isArray(r) ? r : undefined;
    const emptyPromote = (!ll || ll.length === 0) && (!rl || rl.length === 0);
    if (a.list.atomic || emptyPromote) return cmpLeaf(l, r, parent, pe);
    cmpListItems(ll, rl, a.list, new Level(parent, pe));
    return false;
  }
  const lm = isPlainObject(l) ? l : undefined;
  const rm = isPlainObject(r) ? r : undefined;
  const emptyPromote = (!lm || isEmptyObject(lm)) && (!rm || isEmptyObject(rm));
  if (a.map.atomic || emptyPromote) return cmpLeaf(l, r, parent, pe);
  cmpMapItems(lm, rm, a.map, new Level(parent, pe));
  return false;
}

function isEmptyObject(o: Record<string, unknown>): boolean {
  for (const k in o) if (o[k] !== undefined) return false;
  return true;
}

function cmpMapItems(lm: Record<string, unknown> | undefined, rm: Record<string, unknown> | undefined, m: MapType, level: Level): void {
  if (lm) {
    for (const k of Object.keys(lm)) {
      const lv = lm[k];
      if (lv === undefined) continue;
      const rv = rm ? rm[k] : undefined;
      cmpNode(lv, rv, childType(m, k), level, fieldPE(k));
    }
  }
  if (rm) {
    for (const k of Object.keys(rm)) {
      const rv = rm[k];
      if (rv === undefined) continue;
      if (lm && lm[k] !== undefined) continue;
      cmpNode(undefined, rv, childType(m, k), level, fieldPE(k));
    }
  }
}

/** A list's items by their path element: the elements in first-seen order, and each one's items (more than one: duplicates). */
export interface Indexed {
  order: PathElement[];
  values: Map<string, unknown[]>;
}

/** Indexes a list's items by path element (key fields, value, or index); items that have none are left out. */
export function indexItems(arr: unknown[] | undefined, l: ListType): Indexed {
  const order: PathElement[] = [];
  const values = new Map<string, unknown[]>();
  if (!arr) return { order, values };
  for (const item of arr) {
    let pe: PathElement;
    try {
      pe = listItemPE(l, item);
    } catch (e) {
      if (e instanceof ItemError) continue;
      throw e;
    }
    const existing = values.get(pe.id);
    if (existing) existing.push(item);
    else {
      values.set(pe.id, [item]);
      order.push(pe);
    }
  }
  return { order, values };
}

function cmpListItems(ll: unknown[] | undefined, rl: unknown[] | undefined, l: ListType, level: Level): void {
  const li = indexItems(ll, l);
  const ri = indexItems(rl, l);
  const all = [...li.order];
  for (const pe of ri.order) if (!li.values.has(pe.id)) all.push(pe);
  for (const pe of all) {
    const lList = li.values.get(pe.id) ?? [];
    const rList = ri.values.get(pe.id) ?? [];
    if (lList.length <= 1 && rList.length <= 1) {
      cmpNode(lList[0], rList[0], l.elem, level, pe);
    } else if (lList.length >= 2 && rList.length >= 2) {
      if (!jsonEqual(lList, rList)) level.get(MODIFIED).addMember(pe);
    } else if (lList.length >= 2) {
      if (rList.length !== 0) cmpNode(undefined, rList[0], l.elem, level, pe);
      level.get(REMOVED).addMember(pe);
    } else {
      if (lList.length !== 0) cmpNode(lList[0], undefined, l.elem, level, pe);
      level.get(ADDED).addMember(pe);
    }
  }
}

// ---------------------------------------------------------------------------------
// Merge (applied configuration over the live object; the right-hand side wins at leaves).

/** Merges `rhs` into `lhs`; returns undefined when the result is empty. Shares subtrees of both inputs. */
export function merge(lhs: unknown, rhs: unknown, t: TypeNode | undefined): unknown {
  return mergeNode(lhs, rhs, t ?? UNTYPED);
}

function mergeNode(l: unknown, r: unknown, t: TypeNode): unknown {
  // Merging with nothing yields the other side unchanged (upstream walks it to the same result).
  if (r === undefined) return l;
  if (l === undefined) return r;
  // When the two sides have different shapes, the right-hand side's shape wins and the
  // left-hand side counts as absent.
  return mergeHandle(atomOf(t, r), l, r);
}

function mergeHandle(a: ReturnType<typeof atomOf>, l: unknown, r: unknown): unknown {
  const leaf = (): unknown => (r !== undefined ? r : l);
  if (a.kind === 'scalar') return leaf();
  if (a.kind === 'list') {
    const ll = Array.isArray(l) ? l : undefined;
    const rl = Array.isArray(r) ? r : undefined;
    if (a.list.atomic || ((!ll || ll.length === 0) && (!rl || rl.length === 0))) return leaf();
    const out = mergeListItems(ll, rl, a.list);
    return out.length > 0 ? out : undefined;
  }
  const lm = isPlainObject(l) ? l : undefined;
  const rm = isPlainObject(r) ? r : undefined;
  if (a.map.atomic || ((!lm || isEmptyObject(lm)) && (!rm || isEmptyObject(rm)))) return leaf();
  const out: Record<string, unknown> = {};
  let any = false;
  const m = a.map;
  if (lm) {
    for (const k of Object.keys(lm)) {
      const lv = lm[k];
      if (lv === undefined) continue;
      const rv = rm ? rm[k] : undefined;
      const v = mergeNode(lv, rv, childType(m, k));
      if (v !== undefined) {
        out[k] = v;
        any = true;
      }
    }
  }
  if (rm) {
    for (const k of Object.keys(rm)) {
      const rv = rm[k];
      if (rv === undefined || (lm && lm[k] !== undefined)) continue;
      const v = mergeNode(undefined, rv, childType(m, k));
      if (v !== undefined) {
        out[k] = v;
        any = true;
      }
    }
  }
  return any ? out : undefined;
}

function mergeListItems(lhs: unknown[] | undefined, rhs: unknown[] | undefined, l: ListType): unknown[] {
  const out: unknown[] = [];
  // rhs: duplicates are an error, caught by validation beforehand; keep the first.
  const rhsPEs: PathElement[] = [];
  const observedRHS = new Map<string, unknown>();
  for (const item of rhs ?? []) {
    let pe: PathElement;
    try {
      pe = listItemPE(l, item);
    } catch (e) {
      if (e instanceof ItemError) continue;
      throw e;
    }
    if (observedRHS.has(pe.id)) continue;
    observedRHS.set(pe.id, item);
    rhsPEs.push(pe);
  }
  const lhsPEs: PathElement[] = [];
  const lhsItems: unknown[] = [];
  const observedLHS = new Map<string, unknown>();
  for (const item of lhs ?? []) {
    let pe: PathElement;
    try {
      pe = listItemPE(l, item);
    } catch (e) {
      if (e instanceof ItemError) continue;
      throw e;
    }
    // Duplicated items are not merged with the new value: they become null.
    if (observedLHS.has(pe.id)) observedLHS.set(pe.id, null);
    else observedLHS.set(pe.id, item);
    lhsPEs.push(pe);
    lhsItems.push(item);
  }
  const sharedOrder: PathElement[] = [];
  for (const pe of rhsPEs) if (observedLHS.has(pe.id)) sharedOrder.push(pe);
  let sharedIdx = 0;
  let nextShared: PathElement | undefined = sharedOrder[sharedIdx++];
  const mergedRHS = new Set<string>();
  const push = (v: unknown): void => {
    if (v !== undefined) out.push(v);
  };
  let lI = 0;
  let rI = 0;
  const lLen = lhsPEs.length;
  const rLen = rhsPEs.length;
  while (lI < lLen || rI < rLen) {
    if (lI < lLen && rI < rLen) {
      const pe = lhsPEs[lI];
      if (pe.id === rhsPEs[rI].id) {
        mergedRHS.add(pe.id);
        push(mergeNode(observedLHS.get(pe.id), observedRHS.get(pe.id), l.elem));
        lI++;
        rI++;
        nextShared = sharedOrder[sharedIdx++];
        continue;
      }
      if (observedRHS.has(pe.id) && nextShared && nextShared.id !== pe.id) {
        lI++;
        continue;
      }
    }
    if (lI < lLen) {
      const pe = lhsPEs[lI];
      if (!observedRHS.has(pe.id)) {
        push(mergeNode(lhsItems[lI], undefined, l.elem));
        lI++;
        continue;
      } else if (mergedRHS.has(pe.id)) {
        lI++;
      }
    }
    if (rI < rLen) {
      const pe = rhsPEs[rI];
      mergedRHS.add(pe.id);
      const lChild = observedLHS.has(pe.id) ? observedLHS.get(pe.id) : undefined;
      push(mergeNode(lChild, observedRHS.get(pe.id), l.elem));
      rI++;
      if (nextShared && nextShared.id === pe.id) nextShared = sharedOrder[sharedIdx++];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------
// Removal.

/**
 * Returns `v` without the items in `toRemove` (a set relative to `v`). Containers
 * emptied by the removal become null (undefined at the top).
 */
export function removeItems(v: unknown, toRemove: FieldSet, t: TypeNode | undefined): unknown {
  return removeWalk(v, toRemove, t ?? UNTYPED);
}

function removeWalk(v: unknown, toRemove: FieldSet, t: TypeNode): unknown {
  const a = atomOf(t, v);
  if (a.kind === 'scalar') return v;
  if (a.kind === 'list') {
    if (!Array.isArray(v) || v.length === 0 || a.list.atomic) return undefined;
    const out: unknown[] = [];
    for (const item of v) {
      let pe: PathElement;
      try {
        pe = listItemPE(a.list, item);
      } catch (e) {
        if (e instanceof ItemError) {
          out.push(item);
          continue;
        }
        throw e;
      }
      if (toRemove.hasMember(pe)) continue;
      const sub = toRemove.withPrefix(pe);
      if (!sub.empty()) {
        const r = removeWalk(item, sub, a.list.elem);
        out.push(r === undefined ? null : r);
      } else out.push(item);
    }
    return out.length > 0 ? out : undefined;
  }
  if (!isPlainObject(v) || isEmptyObject(v) || a.map.atomic) return undefined;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const k of Object.keys(v)) {
    const val = v[k];
    if (val === undefined) continue;
    const pe = fieldPE(k);
    if (toRemove.hasMember(pe)) continue;
    const sub = toRemove.withPrefix(pe);
    if (!sub.empty()) {
      // A container emptied by the removal stays as null (upstream); typed decoding drops it later.
      const r = removeWalk(val, sub, childType(a.map, k));
      out[k] = r === undefined ? null : r;
    } else out[k] = val;
    any = true;
  }
  return any ? out : undefined;
}
