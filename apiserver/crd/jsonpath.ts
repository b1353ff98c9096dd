// The JSONPath subset CRDs use (additionalPrinterColumns, selectableFields, the scale
// subresource's paths): `.a.b`, `.a[0]`, `.a[*]`, `.a['k.with.dots']` and filters
// `[?(@.type=="Ready")]`. Parsed once per path.
type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

const parsed = new Map<string, Step[]>();

function parse(path: string): Step[] {
  let steps = parsed.get(path);
  if (steps) return steps;
  steps = [];
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1);
  if (p.startsWith('$')) p = p.slice(1);
  let i = 0;
  while (i < p.length) {
    if (p[i] === '.') {
      i++;
      let j = i;
      while (j < p.length && p[j] !== '.' && p[j] !== '[') j++;
      if (j > i) steps.push({ field: p.slice(i, j) });
      i = j;
    } else if (p[i] === '[') {
      const end = p.indexOf(']', i);
      const inner = p.slice(i + 1, end < 0 ? p.length : end).trim();
      i = end < 0 ? p.length : end + 1;
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
      else {
        const m = /^\?\(@((?:\.[^=!<>\s]+)+)\s*==\s*['"]?(.*?)['"]?\)$/.exec(inner);
        if (m) steps.push({ filter: { path: m[1].split('.').filter(Boolean), value: m[2] } });
      }
    } else {
      let j = i;
      while (j < p.length && p[j] !== '.' && p[j] !== '[') j++;
      steps.push({ field: p.slice(i, j) });
      i = j;
    }
  }
  parsed.set(path, steps);
  return steps;
}

/** Every value the path selects in `obj` (none when a step finds nothing). */
export function jsonPathValues(obj: unknown, path: string): unknown[] {
  let current: unknown[] = [obj];
  for (const step of parse(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || v === undefined) continue;
      if ('field' in step) {
        if (typeof v === 'object' && !Array.isArray(v) && step.field in (v as object)) next.push((v as Record<string, unknown>)[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(v)) {
          const k = step.index < 0 ? v.length + step.index : step.index;
          if (k >= 0 && k < v.length) next.push(v[k]);
        }
      } else if ('all' in step) {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === 'object') next.push(...Object.values(v as object));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          let x: unknown = item;
          for (const f of step.filter.path) x = x && typeof x === 'object' ? (x as Record<string, unknown>)[f] : undefined;
          if (x !== undefined && String(x) === step.filter.value) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** The first value the path selects, or undefined. */
export function jsonPathValue(obj: unknown, path: string): unknown {
  return jsonPathValues(obj, path)[0];
}

/** Set a plain `.a.b.c` path, making objects on the way. */
export function setJsonPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const fields = parse(path).map((s) => ('field' in s ? s.field : undefined));
  if (fields.some((f) => f === undefined) || fields.length === 0) return;
  let cur = obj;
  for (const f of fields.slice(0, -1)) {
    const next = cur[f!];
    if (!next || typeof next !== 'object' || Array.isArray(next)) cur[f!] = {};
    cur = cur[f!] as Record<string, unknown>;
  }
  cur[fields[fields.length - 1]!] = value;
}
