// The FieldsV1 a create's manager owns, built in one walk of the new object: what the
// general Update path (compare against the type's empty object, the union of what was
// added and modified, minus the reset and identity fields, then FieldSet.toFieldsV1)
// yields, without its three comparison trees, set algebra and path objects. Only for a
// create whose object brings no managedFields of its own: there is no other manager
// to take fields from and no earlier set to merge with.

import { isPlainObject, jsonEqual } from '../../machinery/object.js';
import { comparePE, fieldPE, type FieldSet, type PathElement } from './fieldpath.js';
import { UNTYPED, atomOf, childType, type ListType, type MapType, type TypeNode } from './schema.js';
import { indexItems } from './typed.js';

/** One path element the manager owns (member) or owns fields below (children), or both. */
interface Owned {
  readonly pe: PathElement;
  member: boolean;
  children: Map<string, Owned> | undefined;
  /** The element's FieldsV1 made at once (addedEntry), for a value the empty object lacks. */
  formed?: Record<string, unknown>;
}

/**
 * A position in the tree of owned fields, made only once something below it is owned
 * (as the comparison's levels are), so that unchanged subtrees leave no empty nodes.
 */
class Level {
  private owned: Map<string, Owned> | undefined;
  /** The parts of the sets to leave out (see createdFieldsV1) below this position. */
  readonly ignore: FieldSet | undefined;
  readonly strip: FieldSet | undefined;
  constructor(
    private readonly parent: Level | undefined,
    private readonly pe: PathElement | undefined,
    root?: { owned: Map<string, Owned>; ignore: FieldSet; strip: FieldSet },
  ) {
    this.owned = root?.owned;
    this.ignore = root ? root.ignore : parent!.ignore?.children.get(pe!.id)?.set;
    this.strip = root ? root.strip : parent!.strip?.children.get(pe!.id)?.set;
  }

  private map(): Map<string, Owned> {
    if (!this.owned) {
      const at = this.parent!.node(this.pe!);
      this.owned = at.children ??= new Map();
    }
    return this.owned;
  }

  node(pe: PathElement): Owned {
    const m = this.map();
    let n = m.get(pe.id);
    if (!n) {
      n = { pe, member: false, children: undefined };
      m.set(pe.id, n);
    }
    return n;
  }

  own(pe: PathElement): void {
    this.node(pe).member = true;
  }

  /** Owns `pe` and all `r` sets below it (the empty object has nothing there). */
  ownAdded(pe: PathElement, r: unknown, t: TypeNode | undefined): void {
    if (this.ignore?.members.has(pe.id)) return;
    const formed = addedEntry(pe, r, t, this.ignore, this.strip);
    if (formed) this.node(pe).formed = formed;
  }
}

/**
 * The FieldsV1 object of the fields `obj` sets that its type's empty object `zero` does
 * not (added or modified), without `ignore` (with everything below its members) and
 * without the members of `strip`; undefined when that leaves nothing.
 */
export function createdFieldsV1(
  zero: unknown,
  obj: unknown,
  type: TypeNode | undefined,
  ignore: FieldSet,
  strip: FieldSet,
): Record<string, unknown> | undefined {
  const root = new Map<string, Owned>();
  const level = new Level(undefined, undefined, { owned: root, ignore, strip });
  const t = type ?? UNTYPED;
  // The root itself is never owned; compare its contents.
  const a = atomOf(t, obj !== undefined ? obj : zero);
  if (a.kind === 'map') walkMapItems(isPlainObject(zero) ? zero : undefined, isPlainObject(obj) ? obj : undefined, a.map, level);
  else if (a.kind === 'list') walkListItems(Array.isArray(zero) ? zero : undefined, Array.isArray(obj) ? obj : undefined, a.list, level);
  return emit(root, ignore, strip, undefined);
}

// The walk mirrors typed.ts's compare, keeping only what lands in `added` or `modified`:
// a value the new object does not have is removed, which a create's manager does not own.

function walkNode(l: unknown, r: unknown, t: TypeNode, parent: Level, pe: PathElement): void {
  if (r === undefined || l === r) return;
  if (l === undefined) {
    parent.ownAdded(pe, r, t);
    return;
  }
  const ar = atomOf(t, r);
  const al = atomOf(t, l);
  if (al.kind !== ar.kind) walkHandle(al, l, r, parent, pe);
  walkHandle(ar, l, r, parent, pe);
}

/** Both sides defined (walkNode). */
function walkLeaf(l: unknown, r: unknown, parent: Level, pe: PathElement): void {
  if (!jsonEqual(l, r)) parent.own(pe);
}

function walkHandle(a: ReturnType<typeof atomOf>, l: unknown, r: unknown, parent: Level, pe: PathElement): void {
  if (a.kind === 'scalar') return walkLeaf(l, r, parent, pe);
  if (a.kind === 'list') {
    const ll = Array.isArray(l) ? l : undefined;
    const rl = Array.isArray(r) ? r : undefined;
    if (a.list.atomic || ((!ll || ll.length === 0) && (!rl || rl.length === 0))) return walkLeaf(l, r, parent, pe);
    walkListItems(ll, rl, a.list, new Level(parent, pe));
    return;
  }
  const lm = isPlainObject(l) ? l : undefined;
  const rm = isPlainObject(r) ? r : undefined;
  if (a.map.atomic || ((!lm || isEmptyObject(lm)) && (!rm || isEmptyObject(rm)))) return walkLeaf(l, r, parent, pe);
  walkMapItems(lm, rm, a.map, new Level(parent, pe));
}

function isEmptyObject(o: Record<string, unknown>): boolean {
  for (const k in o) if (o[k] !== undefined) return false;
  return true;
}

function walkMapItems(lm: Record<string, unknown> | undefined, rm: Record<string, unknown> | undefined, m: MapType, level: Level): void {
  if (!rm) return;
  // The comparison visits the left side's keys first; the order of visits does not
  // change the tree, which is sorted when emitted.
  for (const k of Object.keys(rm)) {
    const rv = rm[k];
    if (rv === undefined) continue;
    walkNode(lm ? lm[k] : undefined, rv, childType(m, k), level, fieldPE(k));
  }
}

function walkListItems(ll: unknown[] | undefined, rl: unknown[] | undefined, l: ListType, level: Level): void {
  const left = indexItems(ll, l).values;
  const right = indexItems(rl, l);
  for (const pe of right.order) {
    const rList = right.values.get(pe.id)!;
    const lList = left.get(pe.id);
    if (!lList || lList.length <= 1) {
      if (rList.length <= 1) walkNode(lList?.[0], rList[0], l.elem, level, pe);
      // Duplicates the left side did not have: the item as a whole.
      else level.own(pe);
    } else if (rList.length >= 2) {
      if (!jsonEqual(lList, rList)) level.own(pe);
    } else walkNode(undefined, rList[0], l.elem, level, pe);
  }
}

/** An element of a value the empty object lacks, and what it sets below it. */
interface Added {
  readonly pe: PathElement;
  readonly formed: Record<string, unknown>;
}

/**
 * The FieldsV1 of element `pe` with value `r` where the empty object has none: the
 * element and everything `r` sets below it are owned (as the walk above would own them,
 * without its tree), less `ignore` and `strip` (relative to the element's level).
 * Undefined when nothing is left. `r` undefined: the element alone (duplicate items).
 */
function addedEntry(pe: PathElement, r: unknown, t: TypeNode | undefined, ignore: FieldSet | undefined, strip: FieldSet | undefined): Record<string, unknown> | undefined {
  const member = !strip?.members.has(pe.id);
  const below = r === undefined ? undefined : addedBelow(r, t!, ignore?.children.get(pe.id)?.set, strip?.children.get(pe.id)?.set);
  if (!below) return member ? {} : undefined;
  // Owned as well as owning fields below: `.` comes first.
  const out: Record<string, unknown> = member ? { '.': {} } : {};
  for (const a of below) out[a.pe.id] = a.formed;
  return out;
}

/** What a value the empty object lacks sets below it, in FieldsV1 order; undefined for a leaf or nothing left. */
function addedBelow(r: unknown, t: TypeNode, ignore: FieldSet | undefined, strip: FieldSet | undefined): Added[] | undefined {
  const a = atomOf(t, r);
  const out: Added[] = [];
  const add = (pe: PathElement, v: unknown, vt: TypeNode | undefined): void => {
    if (ignore?.members.has(pe.id)) return;
    const formed = addedEntry(pe, v, vt, ignore, strip);
    if (formed) out.push({ pe, formed });
  };
  if (a.kind === 'list') {
    if (a.list.atomic || !Array.isArray(r) || r.length === 0) return undefined;
    const indexed = indexItems(r, a.list);
    for (const pe of indexed.order) {
      const items = indexed.values.get(pe.id)!;
      add(pe, items.length === 1 ? items[0] : undefined, a.list.elem);
    }
  } else if (a.kind === 'map') {
    if (a.map.atomic || !isPlainObject(r) || isEmptyObject(r)) return undefined;
    for (const k of Object.keys(r)) {
      const v = r[k];
      if (v !== undefined) add(fieldPE(k), v, childType(a.map, k));
    }
  } else return undefined;
  return out.length > 0 ? sortByPE(out) : undefined;
}

/** Levels up to this size are sorted by insertion (no sort's own copy). */
const INSERTION_SORT_MAX = 16;

/** Sorts by path element, in place: levels are mostly small, where an insertion sort makes no copy. */
function sortByPE<T extends { readonly pe: PathElement }>(nodes: T[]): T[] {
  if (nodes.length > INSERTION_SORT_MAX) return nodes.sort((a, b) => comparePE(a.pe, b.pe));
  for (let j = 1; j < nodes.length; j++) {
    const n = nodes[j];
    let i = j;
    for (; i > 0 && comparePE(nodes[i - 1].pe, n.pe) > 0; i--) nodes[i] = nodes[i - 1];
    nodes[i] = n;
  }
  return nodes;
}

/**
 * FieldsV1 of a level, its elements in structured-merge-diff's order; `ignore` drops an
 * element with everything below it, `strip` only the element itself (as
 * recursiveDifference and difference do). An element both owned and owning fields
 * below gets `.`. Undefined when nothing is left.
 */
function emit(level: Map<string, Owned>, ignore: FieldSet | undefined, strip: FieldSet | undefined, self: boolean | undefined): Record<string, unknown> | undefined {
  const nodes = sortByPE([...level.values()]);
  let out: Record<string, unknown> | undefined;
  for (const n of nodes) {
    const id = n.pe.id;
    if (n.formed) {
      out ??= self ? { '.': {} } : {};
      out[id] = n.formed;
      continue;
    }
    if (ignore?.members.has(id)) continue;
    const member = n.member && !strip?.members.has(id);
    const below = n.children
      ? emit(n.children, ignore?.children.get(id)?.set, strip?.children.get(id)?.set, member)
      : undefined;
    if (!below && !member) continue;
    out ??= self ? { '.': {} } : {};
    out[id] = below ?? {};
  }
  return out;
}
