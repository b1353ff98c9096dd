// Small helpers that reproduce how Go (encoding/json, fmt %v) renders JSON values,
// because upstream puts such renderings into managedFields keys, annotations and
// error messages that clients print verbatim.

import { isPlainObject } from '../../machinery/object.js';

const HEX = '0123456789abcdef';

/** A JSON string literal escaped the way Go's encoding/json does (HTML-safe). */
const NEEDS_GO_ESCAPING = /[<>&\u2028\u2029\ud800-\udfff]/;

export function goQuote(s: string): string {
  // JSON.stringify escapes exactly as Go does, except for Go's HTML-safe characters.
  if (!NEEDS_GO_ESCAPING.test(s)) return JSON.stringify(s);
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      switch (c) {
        case 0x22: rep = '\\"'; break;
        case 0x5c: rep = '\\\\'; break;
        case 0x0a: rep = '\\n'; break;
        case 0x0d: rep = '\\r'; break;
        case 0x09: rep = '\\t'; break;
        case 0x08: rep = '\\b'; break;
        case 0x0c: rep = '\\f'; break;
        default:
          rep = '\\u' + HEX[(c >> 12) & 15] + HEX[(c >> 8) & 15] + HEX[(c >> 4) & 15] + HEX[c & 15];
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // Lone surrogates become U+FFFD as Go's invalid-UTF-8 handling does.
      const isHigh = c <= 0xdbff;
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      rep = '\ufffd';
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

function goNumber(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  return String(n);
}

/** Compact JSON as Go's json.Marshal writes it: map keys sorted, HTML escaped. */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return goQuote(v);
    case 'number':
      return goNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
  }
  if (Array.isArray(v)) return '[' + v.map(goJson).join(',') + ']';
  if (isPlainObject(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort(byteCompare);
    return '{' + keys.map((k) => goQuote(k) + ':' + goJson(v[k])).join(',') + '}';
  }
  return 'null';
}

/** Go's strings.Compare order (UTF-8 byte order); equal to UTF-16 order outside astral planes. */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Go's fmt `%v` of a decoded JSON value (map[string]interface{}, []interface{}, ...). */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return '[' + v.map(goFormat).join(' ') + ']';
  if (isPlainObject(v)) {
    const keys = Object.keys(v).sort(byteCompare);
    return 'map[' + keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ') + ']';
  }
  return String(v);
}

/** The word Go's encoding/json uses for a JSON value's type in UnmarshalTypeError. */
export function jsonTypeWord(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isPlainObject(v)) return 'object';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** Go's reflect type name of a decoded JSON value, as printed in strategic-merge errors. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (isPlainObject(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** Go's %q of a string. */
export function goQuoteString(s: string): string {
  return JSON.stringify(s);
}

/** Deep copy of a JSON value (much faster than structuredClone for plain data). */
export function cloneJson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneJson(v[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  const src = v as Record<string, unknown>;
  for (const k in src) {
    const x = src[k];
    if (x !== undefined) out[k] = cloneJson(x);
  }
  return out as T;
}
