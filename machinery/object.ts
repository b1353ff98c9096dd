// The generic shape of a Kubernetes object as kite handles it internally: plain JSON
// with typed metadata. Kind-specific code narrows to `kubernetes-types` interfaces.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** kubernetes-types marks server-set fields readonly; the server is who sets them. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type Meta = Mutable<ObjectMeta>;

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  [field: string]: unknown;
}

/**
 * What a JSON round trip (`JSON.parse(JSON.stringify(value))`) gives, without the text in
 * between — several times faster on the plain data objects are made of. Undefined,
 * function and symbol members are dropped (null in arrays), non-finite numbers become
 * null; anything that is not a plain object or array (a Date, a Buffer, an object with
 * `toJSON`) takes the round trip itself, so the result is always the round trip's. A
 * value JSON has no text for (undefined) stays undefined.
 */
export function jsonCopy<T>(value: T): T {
  if (value === undefined) return value;
  if (typeof value !== 'object' || value === null) return JSON.parse(JSON.stringify(value)) as T;
  return copyObject(value) as T;
}

function copyObject(v: object): unknown {
  if (Array.isArray(v)) {
    const n = v.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const x = copyMember(v[i]);
      out[i] = x === undefined ? null : x;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return JSON.parse(JSON.stringify(v)) as unknown;
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const x = copyMember((v as Record<string, unknown>)[k]);
    if (x !== undefined) out[k] = x;
  }
  return out;
}

/** One member's copy; undefined when JSON leaves it out. */
function copyMember(x: unknown): unknown {
  switch (typeof x) {
    case 'string':
    case 'boolean':
      return x;
    case 'number':
      return Number.isFinite(x) ? x + 0 : null;
    case 'object':
      return x === null ? null : copyObject(x);
    case 'bigint':
      return JSON.stringify(x); // throws, as the round trip would
    default:
      return undefined;
  }
}

/**
 * Whether JSON.parse(JSON.stringify(v)) gives `v` back member for member: plain objects,
 * arrays without holes, strings, booleans, null and finite numbers other than -0 only
 * (jsonCopy's walk, asking instead of copying).
 */
export function isJsonClean(v: object): boolean {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!isJsonCleanMember(v[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) if (!isJsonCleanMember((v as Record<string, unknown>)[k])) return false;
  return true;
}

/** As isJsonClean, for any JSON value (a member of an object or array). */
export function isJsonCleanMember(x: unknown): boolean {
  switch (typeof x) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(x) && !Object.is(x, -0);
    case 'object':
      return x === null || isJsonClean(x);
    default:
      return false;
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) if (!(k in bo) || !jsonEqual(ao[k], bo[k])) return false;
  return true;
}

/** Whether a value is Go's zero value once decoded: absent, null, "", 0, false, [] or {} (recursively). */
export function isGoZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.values(v).every(isGoZero);
  return false;
}

/**
 * apiequality.Semantic.DeepEqual over JSON: nil and empty slices and maps are equal, as
 * are absent fields and their zero values.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const za = isGoZero(a);
  const zb = isGoZero(b);
  if (za || zb) return za && zb;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!semanticEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (!semanticEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/**
 * Freezes `value` and everything reachable from it, and returns it. An object found frozen
 * already is taken as frozen throughout (this function froze it): objects shared between
 * several values are walked once.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}
