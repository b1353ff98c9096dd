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
  if (!equal(a, b)) ops.push({ op: 'replace', path, value: b });
}
