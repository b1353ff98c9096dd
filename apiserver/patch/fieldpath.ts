// Field paths and field sets as structured-merge-diff defines them, and their
// FieldsV1 wire encoding (`f:<name>`, `k:{"name":"x"}`, `v:<json>`, `i:<n>`, `.`).

import { isPlainObject } from '../../machinery/object.js';
import { byteCompare, goJson, goQuoteString } from './gojson.js';

export type PathElement =
  | { readonly kind: 'field'; readonly name: string; readonly id: string }
  | { readonly kind: 'key'; readonly fields: ReadonlyArray<readonly [string, unknown]>; readonly id: string }
  | { readonly kind: 'value'; readonly value: unknown; readonly id: string }
  | { readonly kind: 'index'; readonly index: number; readonly id: string };

export type Path = readonly PathElement[];

const fieldCache = new Map<string, PathElement>();

export function fieldPE(name: string): PathElement {
  let pe = fieldCache.get(name);
  if (!pe) {
    pe = { kind: 'field', name, id: 'f:' + name };
    if (fieldCache.size < 10000) fieldCache.set(name, pe);
  }
  return pe;
}

/** A key element; `fields` need not be sorted. */
export function keyPE(fields: ReadonlyArray<readonly [string, unknown]>): PathElement {
  const sorted = fields.length < 2 ? fields : [...fields].sort((a, b) => byteCompare(a[0], b[0]));
  const id = 'k:{' + sorted.map(([k, v]) => goJson(k) + ':' + goJson(v)).join(',') + '}';
  return { kind: 'key', fields: sorted, id };
}

export function valuePE(value: unknown): PathElement {
  return { kind: 'value', value, id: 'v:' + goJson(value) };
}

export function indexPE(index: number): PathElement {
  return { kind: 'index', index, id: 'i:' + index };
}

/** Parses one FieldsV1 key (not `.`); returns undefined for unknown element types. */
export function parsePE(s: string): PathElement | undefined {
  if (s.length < 2 || s[1] !== ':') throw new Error(`invalid path element: ${s}`);
  const body = s.slice(2);
  switch (s[0]) {
    case 'f':
      return fieldPE(body);
    case 'v':
      return valuePE(JSON.parse(body));
    case 'k': {
      const obj: unknown = JSON.parse(body);
      if (!isPlainObject(obj)) throw new Error(`invalid key path element: ${s}`);
      return keyPE(Object.entries(obj));
    }
    case 'i': {
      if (!/^-?[0-9]+$/.test(body)) throw new Error(`invalid index path element: ${s}`);
      return indexPE(Number(body));
    }
    default:
      return undefined;
  }
}

const KIND_ORDER = { field: 0, key: 1, value: 2, index: 3 } as const;

function valueRank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isPlainObject(v)) return 4;
  return 5; // null
}

/** structured-merge-diff's total order over values. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 1:
      return byteCompare(a as string, b as string);
    case 2:
      return a === b ? 0 : a ? 1 : -1;
    case 3: {
      const la = a as unknown[];
      const lb = b as unknown[];
      for (let i = 0; i < la.length && i < lb.length; i++) {
        const c = compareValues(la[i], lb[i]);
        if (c !== 0) return c;
      }
      return la.length === lb.length ? 0 : la.length < lb.length ? -1 : 1;
    }
    case 4: {
      const ma = a as Record<string, unknown>;
      const mb = b as Record<string, unknown>;
      const ka = Object.keys(ma).sort(byteCompare);
      const kb = Object.keys(mb).sort(byteCompare);
      for (let i = 0; i < ka.length && i < kb.length; i++) {
        const c = byteCompare(ka[i], kb[i]);
        if (c !== 0) return c;
        const cv = compareValues(ma[ka[i]], mb[kb[i]]);
        if (cv !== 0) return cv;
      }
      return ka.length === kb.length ? 0 : ka.length < kb.length ? -1 : 1;
    }
    default:
      return 0;
  }
}

export function comparePE(a: PathElement, b: PathElement): number {
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] < KIND_ORDER[b.kind] ? -1 : 1;
  switch (a.kind) {
    case 'field':
      return byteCompare(a.name, (b as typeof a).name);
    case 'key': {
      const fb = (b as typeof a).fields;
      const fa = a.fields;
      for (let i = 0; i < fa.length && i < fb.length; i++) {
        const c = byteCompare(fa[i][0], fb[i][0]);
        if (c !== 0) return c;
        const cv = compareValues(fa[i][1], fb[i][1]);
        if (cv !== 0) return cv;
      }
      return fa.length === fb.length ? 0 : fa.length < fb.length ? -1 : 1;
    }
    case 'value':
      return compareValues(a.value, (b as typeof a).value);
    case 'index': {
      const ib = (b as typeof a).index;
      return a.index < ib ? -1 : a.index > ib ? 1 : 0;
    }
  }
}

/** Go's value.ToString, used in human-readable paths. */
function valueToString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuoteString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[' + v.map(valueToString).join(',') + ']';
  if (isPlainObject(v)) return Object.keys(v).map((k) => `${k}=${valueToString(v[k])}`).join('');
  return String(v);
}

/** Human-readable element: `.name`, `[name="x"]`, `[="v"]`, `[3]`. */
export function peToString(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return '.' + pe.name;
    case 'key':
      return '[' + pe.fields.map(([k, v]) => `${k}=${valueToString(v)}`).join(',') + ']';
    case 'value':
      return `[=${valueToString(pe.value)}]`;
    case 'index':
      return `[${pe.index}]`;
  }
}

/** Human-readable path as in conflict messages: `.spec.template.spec.containers[name="nginx"].image`. */
export function pathToString(p: Path): string {
  let s = '';
  for (const pe of p) s += peToString(pe);
  return s;
}

interface SetNode {
  readonly pe: PathElement;
  readonly set: FieldSet;
}

/**
 * A set of field paths, stored as a tree: `members` are paths that end at this level,
 * `children` hold deeper paths. A path may be both a member and a prefix of others.
 * Sets returned by the algebra may share subtrees: treat them as immutable once built.
 */
export class FieldSet {
  readonly members = new Map<string, PathElement>();
  readonly children = new Map<string, SetNode>();

  static fromPaths(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: Path): void {
    if (path.length === 0) return;
    let s: FieldSet | undefined;
    for (let i = 0; i < path.length - 1; i++) s = (s ?? this).child(path[i]);
    (s ?? this).addMember(path[path.length - 1]);
  }

  addMember(pe: PathElement): void {
    if (!this.members.has(pe.id)) this.members.set(pe.id, pe);
  }

  /** The child set under `pe`, created if missing (only use while building). */
  child(pe: PathElement): FieldSet {
    let n = this.children.get(pe.id);
    if (!n) {
      n = { pe, set: new FieldSet() };
      this.children.set(pe.id, n);
    }
    return n.set;
  }

  /** The set of paths under `pe` (relative), empty when none. */
  withPrefix(pe: PathElement): FieldSet {
    return this.children.get(pe.id)?.set ?? EMPTY_SET;
  }

  hasMember(pe: PathElement): boolean {
    return this.members.has(pe.id);
  }

  has(path: Path): boolean {
    if (path.length === 0) return false;
    let node: FieldSet | undefined;
    for (let i = 0; i < path.length - 1; i++) {
      node = (node ?? this).children.get(path[i].id)?.set;
      if (!node) return false;
    }
    return (node ?? this).members.has(path[path.length - 1].id);
  }

  empty(): boolean {
    if (this.members.size > 0) return false;
    for (const n of this.children.values()) if (!n.set.empty()) return false;
    return true;
  }

  size(): number {
    let n = this.members.size;
    for (const c of this.children.values()) n += c.set.size();
    return n;
  }

  union(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) out.members.set(k, pe);
    for (const [k, pe] of o.members) out.members.set(k, pe);
    for (const [k, n] of this.children) {
      const other = o.children.get(k);
      out.children.set(k, other ? { pe: n.pe, set: n.set.union(other.set) } : n);
    }
    for (const [k, n] of o.children) if (!this.children.has(k)) out.children.set(k, n);
    return out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (o.members.has(k)) out.members.set(k, pe);
    for (const [k, n] of this.children) {
      const other = o.children.get(k);
      if (!other) continue;
      const i = n.set.intersection(other.set);
      if (!i.empty()) out.children.set(k, { pe: n.pe, set: i });
    }
    return out;
  }

  /** Leaf-wise difference: a member parent minus a child path stays; children are not removed with a parent. */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (!o.members.has(k)) out.members.set(k, pe);
    for (const [k, n] of this.children) {
      const other = o.children.get(k);
      if (!other) {
        out.children.set(k, n);
        continue;
      }
      const d = n.set.difference(other.set);
      if (!d.empty()) out.children.set(k, { pe: n.pe, set: d });
    }
    return out;
  }

  /** Difference that also drops everything below a member of `o`. */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (!o.members.has(k)) out.members.set(k, pe);
    for (const [k, n] of this.children) {
      if (o.members.has(k)) continue;
      const other = o.children.get(k);
      if (!other) {
        out.children.set(k, n);
        continue;
      }
      const d = n.set.recursiveDifference(other.set);
      if (!d.empty()) out.children.set(k, { pe: n.pe, set: d });
    }
    return out;
  }

  /**
   * Whether this set's tree lies within `o`'s: every member and every child (even an empty
   * one) of each level is in `o` at the same place, so their union is `o` as it is.
   */
  within(o: FieldSet): boolean {
    for (const k of this.members.keys()) if (!o.members.has(k)) return false;
    for (const [k, n] of this.children) {
      const other = o.children.get(k);
      if (!other || !n.set.within(other.set)) return false;
    }
    return true;
  }

  equals(o: FieldSet): boolean {
    return this.difference(o).empty() && o.difference(this).empty();
  }

  sortedMembers(): PathElement[] {
    return [...this.members.values()].sort(comparePE);
  }

  sortedChildren(): SetNode[] {
    return [...this.children.values()].sort((a, b) => comparePE(a.pe, b.pe));
  }

  /** Visits every path in upstream's order: this level's members, then each child subtree. */
  iterate(f: (p: Path) => void, prefix: PathElement[] = []): void {
    for (const pe of this.sortedMembers()) f([...prefix, pe]);
    for (const n of this.sortedChildren()) {
      prefix.push(n.pe);
      n.set.iterate(f, prefix);
      prefix.pop();
    }
  }

  paths(): Path[] {
    const out: Path[] = [];
    this.iterate((p) => out.push(p));
    return out;
  }

  /** The FieldsV1 JSON object for this set. */
  toFieldsV1(): Record<string, unknown> {
    return this.emit(false);
  }

  private emit(includeSelf: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (includeSelf && (this.members.size > 0 || this.children.size > 0)) out['.'] = {};
    const members = this.sortedMembers();
    const children = this.sortedChildren();
    let mi = 0;
    let ci = 0;
    while (mi < members.length && ci < children.length) {
      const c = comparePE(members[mi], children[ci].pe);
      if (c < 0) out[members[mi++].id] = {};
      else if (c > 0) {
        const n = children[ci++];
        out[n.pe.id] = n.set.emit(false);
      } else {
        const n = children[ci++];
        mi++;
        out[n.pe.id] = n.set.emit(true);
      }
    }
    while (mi < members.length) out[members[mi++].id] = {};
    while (ci < children.length) {
      const n = children[ci++];
      out[n.pe.id] = n.set.emit(false);
    }
    return out;
  }

  /** Parses a FieldsV1 object (unknown element types are dropped, as upstream does). */
  static fromFieldsV1(obj: unknown): FieldSet {
    if (!isPlainObject(obj)) throw new Error('FieldsV1 must be a JSON object');
    return readLevel(obj).set ?? new FieldSet();
  }
}

function readLevel(obj: Record<string, unknown>): { set: FieldSet | undefined; isMember: boolean } {
  let set: FieldSet | undefined;
  let isMember = false;
  for (const key of Object.keys(obj)) {
    if (key === '.') {
      isMember = true;
      continue;
    }
    const pe = parsePE(key);
    if (!pe) continue;
    const v = obj[key];
    if (!isPlainObject(v)) throw new Error(`FieldsV1 value for ${key} must be an object`);
    const sub = readLevel(v);
    if (sub.isMember) (set ??= new FieldSet()).addMember(pe);
    if (sub.set) {
      set ??= new FieldSet();
      const existing = set.children.get(pe.id);
      set.children.set(pe.id, { pe, set: existing ? existing.set.union(sub.set) : sub.set });
    }
  }
  if (!set) isMember = true;
  return { set, isMember };
}

const EMPTY_SET = new FieldSet();
