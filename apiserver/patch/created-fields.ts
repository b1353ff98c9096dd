// The FieldsV1 a create's manager owns, built in one walk of the new object: what the
// general Update path (compare against the type's empty object, the union of what was
// added and modified, minus the reset and identity fields, then FieldSet.toFieldsV1)
// yields, without its three comparison trees, set algebra and path objects. Only for a
// create whose object brings no managedFields of its own: there is no other manager
// to take fields from and no earlier set to merge with.

import { isPlainObject, jsonEqual } from '../../machinery/object.js';
import { comparePE, fieldPE, type FieldSet, type PathElement } from './fieldpath.js';
import { UNTYPED, atomOf, childType, type ListType, type MapType, type TypeNode } from './schema.js';
import { ItemError, listItemPE } from './typed.js';

/** One path element the manager owns (member) or owns fields below (children), or both. */
interface Owned {
  readonly pe: PathElement;
  member: boolean;
  children: Map<string, Owned> | undefined;
}

/**
 * A position in the tree of owned fields, made only once something below it is owned
 * (as the comparison's levels are), so that unchanged subtrees leave no empty nodes.
 */
class Level {
  private owned: Map<string, Owned> | undefined;
  constructor(
    private readonly parent: Level | undefined,
    private readonly pe: PathElement | undefined,
    root?: Map<string, Owned>,
  ) {
    this.owned = root;
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
  const level = new Level(undefined, undefined, root);
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
  let inLeaf: boolean;
  const ar = atomOf(t, r);
  if (l === undefined) inLeaf = walkHandle(ar, l, r, parent, pe);
  else {
    const al = atomOf(t, l);
    if (al.kind !== ar.kind) walkHandle(al, l, r, parent, pe);
    inLeaf = walkHandle(ar, l, r, parent, pe);
  }
  if (!inLeaf && l === undefined) parent.own(pe);
}

function walkLeaf(l: unknown, r: unknown, parent: Level, pe: PathElement): true {
  if (r !== undefined && (l === undefined || !jsonEqual(l, r))) parent.own(pe);
  return true;
}

/** Returns whether the node was handled as a leaf. */
function walkHandle(a: ReturnType<typeof atomOf>, l: unknown, r: unknown, parent: Level, pe: PathElement): boolean {
  if (a.kind === 'scalar') return walkLeaf(l, r, parent, pe);
  if (a.kind === 'list') {
    const ll = Array.isArray(l) ? l : undefined;
    const rl = Array.isArray(r) ? r : undefined;
    if (a.list.atomic || ((!ll || ll.length === 0) && (!rl || rl.length === 0))) return walkLeaf(l, r, parent, pe);
    walkListItems(ll, rl, a.list, new Level(parent, pe));
    return false;
  }
  const lm = isPlainObject(l) ? l : undefined;
  const rm = isPlainObject(r) ? r : undefined;
  if (a.map.atomic || ((!lm || isEmptyObject(lm)) && (!rm || isEmptyObject(rm)))) return walkLeaf(l, r, parent, pe);
  walkMapItems(lm, rm, a.map, new Level(parent, pe));
  return false;
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

function indexItems(arr: unknown[] | undefined, l: ListType): Map<string, { pe: PathElement; items: unknown[] }> {
  const byId = new Map<string, { pe: PathElement; items: unknown[] }>();
  if (!arr) return byId;
  for (const item of arr) {
    let pe: PathElement;
    try {
      pe = listItemPE(l, item);
    } catch (e) {
      if (e instanceof ItemError) continue;
      throw e;
    }
    const existing = byId.get(pe.id);
    if (existing) existing.items.push(item);
    else byId.set(pe.id, { pe, items: [item] });
  }
  return byId;
}

function walkListItems(ll: unknown[] | undefined, rl: unknown[] | undefined, l: ListType, level: Level): void {
  const left = indexItems(ll, l);
  for (const { pe, items: rList } of indexItems(rl, l).values()) {
    const lList = left.get(pe.id)?.items;
    if (!lList || lList.length <= 1) {
      if (rList.length <= 1) walkNode(lList?.[0], rList[0], l.elem, level, pe);
      // Duplicates the left side did not have: the item as a whole.
      else level.own(pe);
    } else if (rList.length >= 2) {
      if (!jsonEqual(lList, rList)) level.own(pe);
    } else walkNode(undefined, rList[0], l.elem, level, pe);
  }
}

/** Levels up to this size are sorted in place as they are read (no sort's own copy). */
const INSERTION_SORT_MAX = 16;

function sorted(level: Map<string, Owned>): Owned[] {
  const nodes: Owned[] = [];
  if (level.size > INSERTION_SORT_MAX) {
    for (const n of level.values()) nodes.push(n);
    return nodes.sort((a, b) => comparePE(a.pe, b.pe));
  }
  for (const n of level.values()) {
    let i = nodes.length;
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
  const nodes = sorted(level);
  let out: Record<string, unknown> | undefined;
  for (const n of nodes) {
    const id = n.pe.id;
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
