// Field-level validation errors, worded the way upstream's field.Error prints them
// (k8s.io/apimachinery/pkg/util/validation/field). A cause's `message` is the error
// body without the field path; `field` is the dotted path (`spec.containers[0].name`).
import type { StatusCause } from '../../machinery/status.js';

export type Cause = StatusCause;

// ---- paths -------------------------------------------------------------------------

/** `child('spec', 'template', 'spec')` → `spec.template.spec`. */
export function child(path: string, ...names: string[]): string {
  let p = path;
  for (const n of names) p = p ? `${p}.${n}` : n;
  return p;
}

/** `index('spec.containers', 0)` → `spec.containers[0]`. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** `key('metadata.annotations', 'a/b')` → `metadata.annotations[a/b]` (unquoted, as upstream). */
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

// ---- printing values as Go's fmt does ----------------------------------------------

/**
 * A value already rendered the way Go would print it (a `fmt.Stringer`, or `%#v` of a
 * struct). Printed verbatim after `Invalid value: `.
 */
export class GoText {
  constructor(readonly text: string) {}
}

export function goText(text: string): GoText {
  return new GoText(text);
}

/** Go's `strconv.Quote` (what `%q` prints). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** `%#v` of a `map[string]string` (keys sorted, as Go prints maps). */
export function goStringMap(m: Record<string, string> | undefined | null): GoText {
  if (m == null) return goText('map[string]string(nil)');
  const parts = Object.keys(m)
    .sort()
    .map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`);
  return goText(`map[string]string{${parts.join(', ')}}`);
}

/** `%#v` of a `[]string` (or a slice of a named string type). */
export function goStringSlice(a: readonly string[] | undefined | null, elemType = 'string'): GoText {
  if (a == null) return goText(`[]${elemType}(nil)`);
  return goText(`[]${elemType}{${a.map((s) => goQuote(String(s))).join(', ')}}`);
}

interface LabelSelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** `%#v` of a `metav1.LabelSelector`, as the well-known immutable-selector error prints it. */
export function goLabelSelector(sel: LabelSelectorLike | undefined | null): GoText {
  if (sel == null) return goText('(*v1.LabelSelector)(nil)');
  const ml = sel.matchLabels ? goStringMap(sel.matchLabels).text : 'map[string]string(nil)';
  let me: string;
  if (!sel.matchExpressions) me = '[]v1.LabelSelectorRequirement(nil)';
  else {
    const items = sel.matchExpressions.map(
      (e) =>
        `v1.LabelSelectorRequirement{Key:${goQuote(e.key ?? '')}, Operator:${goQuote(e.operator ?? '')}, Values:${goStringSlice(e.values).text}}`,
    );
    me = `[]v1.LabelSelectorRequirement{${items.join(', ')}}`;
  }
  return goText(`v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`);
}

/** An IntOrString prints through its String() method: the bare number or string. */
export function goIntOrString(v: unknown): GoText {
  return goText(v == null ? '' : String(v));
}

/** A best-effort `%#v` of an arbitrary JSON value under a Go type name. */
export function goStruct(typeName: string, v: unknown): GoText {
  return goText(`${typeName}${goish(v)}`);
}

function goish(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(goish).join(', ')}}`;
  const o = v as Record<string, unknown>;
  const parts = Object.keys(o).map((k) => `${k.charAt(0).toUpperCase()}${k.slice(1)}:${goish(o[k])}`);
  return `{${parts.join(', ')}}`;
}

/** What `Invalid value: <here>` shows for a bad value (field.Error.ErrorBody). */
export function formatValue(v: unknown): string {
  if (v instanceof GoText) return v.text;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return goStringSlice(v as string[]).text;
    return JSON.stringify(v);
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Object.values(o).every((x) => typeof x === 'string')) return goStringMap(o as Record<string, string>).text;
    return goish(o);
  }
  return String(v);
}

// ---- error constructors (field.Required, field.Invalid, ...) -------------------------

function cause(reason: string, path: string, message: string): Cause {
  return { reason, message, field: path };
}

export function required(path: string, detail = ''): Cause {
  return cause('FieldValueRequired', path, detail ? `Required value: ${detail}` : 'Required value');
}

export function invalid(path: string, value: unknown, detail = ''): Cause {
  const body = `Invalid value: ${formatValue(value)}`;
  return cause('FieldValueInvalid', path, detail ? `${body}: ${detail}` : body);
}

export function notSupported(path: string, value: unknown, valid: readonly string[]): Cause {
  let body = `Unsupported value: ${formatValue(value)}`;
  if (valid.length > 0) body += `: supported values: ${valid.map((s) => goQuote(s)).join(', ')}`;
  return cause('FieldValueNotSupported', path, body);
}

export function duplicate(path: string, value: unknown): Cause {
  return cause('FieldValueDuplicate', path, `Duplicate value: ${formatValue(value)}`);
}

export function notFound(path: string, value: unknown, detail = ''): Cause {
  const body = `Not found: ${formatValue(value)}`;
  return cause('FieldValueNotFound', path, detail ? `${body}: ${detail}` : body);
}

export function forbidden(path: string, detail = ''): Cause {
  return cause('FieldValueForbidden', path, detail ? `Forbidden: ${detail}` : 'Forbidden');
}

export function tooLong(path: string, maxLength: number): Cause {
  return cause('FieldValueTooLong', path, `Too long: must have at most ${maxLength} bytes`);
}

/** field.TooLongMaxLength, used by a few validators. */
export function tooLongMaxLength(path: string, maxLength: number): Cause {
  return cause('FieldValueTooLong', path, maxLength >= 0 ? `Too long: may not be longer than ${maxLength}` : 'Too long: value is too long');
}

export function tooMany(path: string, actual: number, max: number): Cause {
  return cause('FieldValueTooMany', path, `Too many: ${actual}: must have at most ${max} items`);
}

export function internalError(path: string, detail: string): Cause {
  return cause('InternalError', path, `Internal error: ${detail}`);
}

/** Upstream's ErrorList.ToAggregate drops exact duplicates; do the same. */
export function dedupe(causes: Cause[]): Cause[] {
  const seen = new Set<string>();
  const out: Cause[] = [];
  for (const c of causes) {
    const k = `${c.field}\u0000${c.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out;
}

export const FIELD_IMMUTABLE = 'field is immutable';

/** apimachinery ValidateImmutableField. */
export function immutable(newVal: unknown, oldVal: unknown, path: string, eq: (a: unknown, b: unknown) => boolean, shown: unknown = newVal): Cause[] {
  return eq(newVal, oldVal) ? [] : [invalid(path, shown, FIELD_IMMUTABLE)];
}
