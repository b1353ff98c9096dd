// Small helpers for walking plain-JSON objects the way Go code walks typed structs,
// where a missing field reads as its zero value.

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object at `o[k]`, or an empty object (not attached) when absent. */
export function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

/** The object at `o[k]`, created and attached when absent. */
export function ensureObj(o: Obj, k: string): Obj {
  const v = o[k];
  if (isObj(v)) return v;
  const n: Obj = {};
  o[k] = n;
  return n;
}

export function arr<T = unknown>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

export function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v)) ? Number(v) : 0;
}

export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const [k, x] of Object.entries(v)) out[k] = str(x);
  return out;
}

import { isGoZero as isZero, semanticEqual } from '../../machinery/object.js';
export { isZero, semanticEqual };

/** Paths where two JSON values differ, for the short diffs upstream appends to some errors. */
export function diffPaths(a: unknown, b: unknown, path = '', out: string[] = [], limit = 20): string[] {
  if (out.length >= limit || semanticEqual(a, b)) return out;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffPaths(a[k], b[k], path ? `${path}.${k}` : k, out, limit);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diffPaths(x, b[i], `${path}[${i}]`, out, limit));
    return out;
  }
  out.push(`  - ${path || '.'}: ${JSON.stringify(a ?? null)}\n  + ${path || '.'}: ${JSON.stringify(b ?? null)}`);
  return out;
}

/** A short rendering of what changed, in the spirit of the cmp.Diff upstream appends. */
export function specDiff(typeName: string, oldV: unknown, newV: unknown): string {
  const lines = diffPaths(oldV, newV);
  return `  ${typeName}{\n${lines.join('\n')}\n  }\n`;
}

export function deepCopy<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/**
 * The name an admission error gives the object (upstream admission.extractResourceName):
 * the request's name, else the object's, else its generateName (a mutating plugin runs
 * before the name is generated), else "Unknown".
 */
export function admissionName(req: { name: string; object?: { metadata?: { name?: string; generateName?: string } } }): string {
  return req.name || req.object?.metadata?.name || req.object?.metadata?.generateName || 'Unknown';
}
