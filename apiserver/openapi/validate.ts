// Strict-decoding checks against the OpenAPI definitions: the unknown-field errors that
// kube-apiserver reports for fieldValidation=Strict (and as warnings for Warn).
import type { Schema } from './schema.js';

/** Upstream stops collecting strict errors after this many. */
const MAX_ERRORS = 100;

export type Resolver = (schema: Schema) => Schema;

/** True when anything is accepted under this schema (RawExtension, JSON, free-form objects). */
export function acceptsAnything(schema: Schema): boolean {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return true;
  if (schema.properties || schema.additionalProperties || schema.items) return false;
  return schema.type === undefined || schema.type === 'object';
}

/**
 * Walks `value` against `schema` and returns `unknown field "<path>"` messages, in
 * document order, paths written as upstream does (`spec.containers[0].imagePullPolcy`,
 * map keys as `.key`). Top-level apiVersion and kind are always accepted.
 */
export function collectUnknownFields(root: Schema, value: unknown, resolve: Resolver): string[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  const report = (path: string) => {
    const msg = `unknown field "${path}"`;
    if (errors.length >= MAX_ERRORS || seen.has(msg)) return;
    seen.add(msg);
    errors.push(msg);
  };
  const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

  const walk = (schemaIn: Schema, v: unknown, path: string, top: boolean): void => {
    if (v === null || typeof v !== 'object') return;
    const schema = resolve(schemaIn);
    if (acceptsAnything(schema)) return;
    if (Array.isArray(v)) {
      if (!schema.items) return;
      const items = schema.items as Schema;
      v.forEach((item, i) => walk(items, item, `${path}[${i}]`, false));
      return;
    }
    const obj = v as Record<string, unknown>;
    const props = schema.properties as Record<string, Schema> | undefined;
    if (props) {
      for (const key of Object.keys(obj)) {
        const sub = Object.prototype.hasOwnProperty.call(props, key) ? props[key] : undefined;
        if (sub) walk(sub, obj[key], join(path, key), false);
        else if (top && (key === 'apiVersion' || key === 'kind')) continue;
        else report(join(path, key));
      }
      return;
    }
    const ap = schema.additionalProperties;
    if (ap && typeof ap === 'object') {
      for (const key of Object.keys(obj)) walk(ap as Schema, obj[key], join(path, key), false);
    }
  };
  walk(root, value, '', true);
  return errors;
}

/** The outcome of decoding a value against its kind's schema, as Go's typed decoding would. */
export interface DecodeResult {
  /** Go's `json: cannot unmarshal …` message for the first wrongly typed field. */
  typeError?: string;
  /** `unknown field "<path>"` messages (the fields are removed from the value). */
  unknown: string[];
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Go's name for the JSON value's kind in an UnmarshalTypeError. */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return typeof v === 'string' ? 'string' : 'object';
}

/** `v1.PodSpec` from `io.k8s.api.core.v1.PodSpec`: how Go prints a named type. */
function goTypeName(defName: string): string {
  const parts = defName.split('.');
  return parts.length >= 2 ? `${parts[parts.length - 2]}.${parts[parts.length - 1]}` : defName;
}

function refName(ref: string): string {
  const i = ref.lastIndexOf('/');
  return i >= 0 ? ref.slice(i + 1) : ref;
}

/** Types that decode from a JSON string or number (they have custom unmarshallers upstream). */
const STRING_OR_NUMBER = new Set(['io.k8s.apimachinery.pkg.util.intstr.IntOrString', 'io.k8s.apimachinery.pkg.api.resource.Quantity']);

/**
 * Decodes `value` (the object of definition `rootName`) as upstream's typed decoding does:
 * the first field whose JSON type doesn't fit its Go type is reported with Go's wording
 * (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
 * int32`), and fields the schema doesn't know are removed from `value` and listed, since a
 * Go struct has nowhere to keep them. `null` decodes to the zero value, as in Go.
 */
export function decodeAgainstSchema(root: Schema, rootName: string, value: unknown, resolve: Resolver): DecodeResult {
  const out: DecodeResult = { unknown: [] };
  // Made at the first unknown field (most objects have none).
  let seen: Set<string> | undefined;
  // Where the walk is, as steps (keys, and list indexes as numbers) and as the Go field
  // path (struct fields only); written out as text only for an error, never per value.
  const path: (string | number)[] = [];
  const fieldPath: string[] = [];
  const pathText = (): string => {
    let text = '';
    for (const step of path) text += typeof step === 'number' ? `[${step}]` : text ? `.${step}` : step;
    return text;
  };

  const goType = (s: Schema): string => {
    if (s.$ref) return goTypeName(refName(s.$ref));
    if (s.type === 'integer') return s.format === 'int32' ? 'int32' : 'int64';
    if (s.type === 'number') return 'float64';
    if (s.type === 'boolean') return 'bool';
    if (s.type === 'string') return s.format === 'byte' ? '[]uint8' : 'string';
    if (s.type === 'array' && s.items) return `[]${goType(s.items)}`;
    if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map[string]${goType(s.additionalProperties)}`;
    return 'interface {}';
  };
  const fail = (schemaIn: Schema, struct: string, value: string): false => {
    out.typeError = `json: cannot unmarshal ${value} into Go struct field ${struct}.${fieldPath.join('.')} of type ${goType(schemaIn)}`;
    return false;
  };

  // Returns false once a type error is recorded, to stop the walk.
  const walk = (schemaIn: Schema, v: unknown, struct: string, top: boolean): boolean => {
    if (v === null || v === undefined) return true;
    const named = schemaIn.$ref ? refNames(schemaIn.$ref) : undefined;
    const schema = resolve(schemaIn);
    if (named && STRING_OR_NUMBER.has(named.ref)) return typeof v === 'string' || typeof v === 'number' ? true : fail(schemaIn, struct, jsonKind(v));
    switch (schema.type) {
      case 'string':
        return typeof v === 'string' ? true : fail(schemaIn, struct, jsonKind(v));
      case 'boolean':
        return typeof v === 'boolean' ? true : fail(schemaIn, struct, jsonKind(v));
      case 'number':
        return typeof v === 'number' ? true : fail(schemaIn, struct, jsonKind(v));
      case 'integer': {
        if (typeof v !== 'number') return fail(schemaIn, struct, jsonKind(v));
        const [min, max] = INT_RANGES[schema.format ?? 'int64'] ?? INT_RANGES.int64;
        return Number.isInteger(v) && v >= min && v <= max ? true : fail(schemaIn, struct, `number ${String(v)}`);
      }
      case 'array': {
        if (!Array.isArray(v)) return fail(schemaIn, struct, jsonKind(v));
        if (!schema.items) return true;
        const items = schema.items;
        for (let i = 0; i < v.length; i++) {
          path.push(i);
          const ok = walk(items, v[i], struct, false);
          path.pop();
          if (!ok) return false;
        }
        return true;
      }
    }
    if (acceptsAnything(schema)) return true;
    if (typeof v !== 'object' || Array.isArray(v)) return fail(schemaIn, struct, jsonKind(v));
    const obj = v as Record<string, unknown>;
    const props = schema.properties;
    if (props) {
      const structName = named ? named.struct : struct;
      for (const key of Object.keys(obj)) {
        const sub = Object.prototype.hasOwnProperty.call(props, key) ? props[key] : undefined;
        if (sub) {
          path.push(key);
          fieldPath.push(key);
          const ok = walk(sub, obj[key], structName, false);
          path.pop();
          fieldPath.pop();
          if (!ok) return false;
        } else if (top && (key === 'apiVersion' || key === 'kind')) {
          continue;
        } else {
          path.push(key);
          const msg = `unknown field "${pathText()}"`;
          path.pop();
          seen ??= new Set();
          if (out.unknown.length < MAX_ERRORS && !seen.has(msg)) {
            seen.add(msg);
            out.unknown.push(msg);
          }
          delete obj[key];
        }
      }
      return true;
    }
    const ap = schema.additionalProperties;
    if (ap && typeof ap === 'object') {
      for (const key of Object.keys(obj)) {
        path.push(key);
        const ok = walk(ap, obj[key], struct, false);
        path.pop();
        if (!ok) return false;
      }
    }
    return true;
  };
  const start = rootRefs.get(rootName) ?? rootRef(rootName);
  walk(start.schema, value, start.struct, true);
  return out;
}

/** The reference to a definition decoded as a whole, and its Go struct name: made once per definition. */
const rootRefs = new Map<string, { schema: Schema; struct: string }>();

function rootRef(rootName: string): { schema: Schema; struct: string } {
  const r = { schema: { $ref: `#/definitions/${rootName}` } as Schema, struct: rootName.slice(rootName.lastIndexOf('.') + 1) };
  rootRefs.set(rootName, r);
  return r;
}

/** A `$ref`'s definition name and the Go struct name errors use for it, worked out once per ref. */
const refNamesByRef = new Map<string, { ref: string; struct: string }>();

function refNames(ref: string): { ref: string; struct: string } {
  let names = refNamesByRef.get(ref);
  if (!names) {
    const name = refName(ref);
    names = { ref: name, struct: name.slice(name.lastIndexOf('.') + 1) };
    refNamesByRef.set(ref, names);
  }
  return names;
}
