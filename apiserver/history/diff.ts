// The change between two versions of an object as a JSON Patch (RFC 6902): applying it
// to the old version gives the new one. Objects are compared field by field; an array
// that differs is replaced whole (lists in Kubernetes objects are short, and a
// positional diff of e.g. containers reads worse than the new list).

export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: unknown;
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!(k in b) || !equal(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** `ignore`: pointers (e.g. `/metadata/resourceVersion`) left out of the diff. */
export function diffObjects(oldValue: unknown, newValue: unknown, ignore: ReadonlySet<string> = new Set()): PatchOp[] {
  const ops: PatchOp[] = [];
  walk(oldValue, newValue, '', ops, ignore);
  return ops;
}

function walk(a: unknown, b: unknown, path: string, ops: PatchOp[], ignore: ReadonlySet<string>): void {
  if (ignore.has(path)) return;
  if (isObject(a) && isObject(b)) {
    for (const k of Object.keys(a)) {
      const p = `${path}/${pointerSegment(k)}`;
      if (ignore.has(p)) continue;
      if (!(k in b)) ops.push({ op: 'remove', path: p });
      else walk(a[k], b[k], p, ops, ignore);
    }
    for (const k of Object.keys(b)) {
      const p = `${path}/${pointerSegment(k)}`;
      if (!(k in a) && !ignore.has(p)) ops.push({ op: 'add', path: p, value: b[k] });
    }
    return;
  }
  // Same-length lists (conditions, containers) change element by element; others are replaced whole.
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) walk(a[i], b[i], `${path}/${i}`, ops, ignore);
    return;
  }
  if (!equal(a, b)) ops.push({ op: 'replace', path, value: b });
}

function parsePointer(path: string): string[] {
  return path === '' ? [] : path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value at `path` in `doc` (undefined when absent). */
export function valueAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const seg of parsePointer(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/**
 * Applies a patch made by diffObjects (add/remove/replace of object members, whole
 * arrays, or the root) and returns the new document; `doc` is not modified.
 */
export function applyPatch(doc: unknown, ops: readonly PatchOp[]): unknown {
  let root = doc === undefined ? undefined : structuredClone(doc);
  for (const op of ops) {
    const segs = parsePointer(op.path);
    if (segs.length === 0) {
      root = op.op === 'remove' ? undefined : structuredClone(op.value);
      continue;
    }
    let parent = root as Record<string, unknown> | undefined;
    for (const seg of segs.slice(0, -1)) {
      if (parent === undefined || parent === null || typeof parent !== 'object') break;
      parent = parent[seg] as Record<string, unknown> | undefined;
    }
    if (parent === undefined || parent === null || typeof parent !== 'object') continue; // base unknown (pruned)
    const last = segs[segs.length - 1];
    if (op.op === 'remove') delete parent[last];
    else parent[last] = structuredClone(op.value);
  }
  return root;
}

/** One line of a readable change: `path: old → new`. */
export interface FieldChange {
  kind: 'added' | 'removed' | 'changed';
  path: string;
  old?: unknown;
  value?: unknown;
}

/** A patch as field changes, with old values taken from `before` when known. */
export function describePatch(before: unknown, ops: readonly PatchOp[]): FieldChange[] {
  return ops.map((op) => {
    const old = valueAt(before, op.path);
    if (op.op === 'remove') return { kind: 'removed', path: op.path || '/', old };
    if (op.op === 'add' && old === undefined) return { kind: 'added', path: op.path || '/', value: op.value };
    return { kind: 'changed', path: op.path || '/', old, value: op.value };
  });
}
