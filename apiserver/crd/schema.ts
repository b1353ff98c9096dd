// Structural schemas of CustomResourceDefinitions (upstream: apiextensions-apiserver
// pkg/apiserver/schema, validation and defaulting): pruning of fields the schema does not
// declare, defaulting, and validation of custom resources against `openAPIV3Schema`,
// worded as kube-apiserver words its field errors.
import type { StatusCause } from '../../machinery/status.js';

export type JsonSchema = Record<string, any>;
type Obj = Record<string, any>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** A value as Go's field errors print it (%#v-like for scalars). */
export function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

// ---- pruning ------------------------------------------------------------------------------

/**
 * Drops fields the schema does not declare, in place; returns the paths dropped (for
 * fieldValidation warnings/strict errors: `unknown field "spec.foo"`). At the root (and in
 * embedded resources) apiVersion, kind and metadata are always kept.
 */
export function prune(schema: JsonSchema | undefined, value: unknown, root = true): string[] {
  const dropped: string[] = [];
  pruneAt(schema, value, '', root, dropped);
  return dropped;
}

function pruneAt(schema: JsonSchema | undefined, value: unknown, path: string, keepMeta: boolean, dropped: string[]): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => pruneAt(schema.items, item, `${path}[${i}]`, !!schema.items['x-kubernetes-embedded-resource'], dropped));
    return;
  }
  if (!isObj(value)) return;
  const props: Obj | undefined = schema.properties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const additional = schema.additionalProperties;
  for (const key of Object.keys(value)) {
    const child = join(path, key);
    if (keepMeta && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) {
      if (props?.[key] && key !== 'metadata') pruneAt(props[key], value[key], child, false, dropped);
      continue;
    }
    if (props && key in props) {
      pruneAt(props[key], value[key], child, !!props[key]['x-kubernetes-embedded-resource'], dropped);
    } else if (isObj(additional)) {
      pruneAt(additional, value[key], child, !!additional['x-kubernetes-embedded-resource'], dropped);
    } else if (additional === true || preserve) {
      continue;
    } else {
      delete value[key];
      dropped.push(child);
    }
  }
}

// ---- defaulting ---------------------------------------------------------------------------

/** Sets `default`s of absent (or null, when not nullable) fields, in place, top-down. */
export function applyDefaults(schema: JsonSchema | undefined, value: unknown): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applyDefaults(schema.items, item);
    return;
  }
  if (!isObj(value)) return;
  const props: Obj | undefined = schema.properties;
  if (props) {
    for (const [key, sub] of Object.entries(props)) {
      if (sub.default !== undefined && (value[key] === undefined || (value[key] === null && !sub.nullable))) {
        value[key] = structuredClone(sub.default);
      }
      if (value[key] !== undefined) applyDefaults(sub, value[key]);
    }
  }
  if (isObj(schema.additionalProperties)) {
    for (const key of Object.keys(value)) if (!props || !(key in props)) applyDefaults(schema.additionalProperties, value[key]);
  }
}

// ---- validation ---------------------------------------------------------------------------

const FORMATS: Record<string, (s: string) => boolean> = {
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s.replace(' ', 'T'))),
  datetime: (s) => FORMATS['date-time'](s),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)),
  uuid: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s),
  byte: (s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
  ipv4: (s) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s),
  ipv6: (s) => /^[0-9a-fA-F:.]+$/.test(s) && s.includes(':'),
  cidr: (s) => {
    const [ip, bits, extra] = s.split('/');
    if (extra !== undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
    return (FORMATS.ipv4(ip) && Number(bits) <= 32) || (FORMATS.ipv6(ip) && Number(bits) <= 128);
  },
  hostname: (s) => s.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(s),
  email: (s) => /^[^@\s]+@[^@\s]+$/.test(s),
  mac: (s) => /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(s),
  uri: (s) => /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s),
  duration: (s) => /^(-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+|0)$/.test(s),
};

function cause(reason: string, field: string, message: string): StatusCause {
  return { reason, field, message };
}

function invalidCause(path: string, value: unknown, detail: string): StatusCause {
  return cause('FieldValueInvalid', path, `Invalid value: ${goValue(value)}: ${detail}`);
}

/** Field errors of `value` against `schema`, at `path` (empty: the root object). */
export function validate(schema: JsonSchema | undefined, value: unknown, path = ''): StatusCause[] {
  const out: StatusCause[] = [];
  validateAt(schema, value, path, out, true);
  return out;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObj(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function validateAt(schema: JsonSchema | undefined, value: unknown, path: string, out: StatusCause[], root = false): void {
  if (!schema) return;
  const where = path || '<root>';
  if (value === null) {
    if (schema.nullable || schema['x-kubernetes-preserve-unknown-fields'] && !schema.type) return;
    if (schema.type) out.push(cause('FieldValueTypeInvalid', path, `Invalid value: "null": ${where} in body must be of type ${schema.type}: "null"`));
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
      out.push(cause('FieldValueTypeInvalid', path, `Invalid value: ${JSON.stringify(typeName(value))}: ${where} in body must be of type integer,string: ${JSON.stringify(typeName(value))}`));
      return;
    }
  } else if (schema.type && !typeMatches(schema.type, value)) {
    const actual = typeName(value);
    out.push(cause('FieldValueTypeInvalid', path, `Invalid value: ${JSON.stringify(actual)}: ${where} in body must be of type ${schema.type}: ${JSON.stringify(actual)}`));
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) {
    out.push(cause('FieldValueNotSupported', path, `Unsupported value: ${goValue(value)}: supported values: ${schema.enum.map(goValue).join(', ')}`));
  }
  if (typeof value === 'string') {
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) {
      out.push(cause('FieldValueTooLong', path, `Too long: may not be more than ${schema.maxLength} bytes`));
    }
    if (schema.minLength !== undefined && [...value].length < schema.minLength) {
      out.push(invalidCause(path, value, `${where} in body should be at least ${schema.minLength} chars long`));
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      out.push(invalidCause(path, value, `${where} in body should match '${schema.pattern}'`));
    }
    const check = schema.format ? FORMATS[schema.format] : undefined;
    if (check && !check(value)) out.push(invalidCause(path, value, `${where} in body must be of type ${schema.format}: ${JSON.stringify(value)}`));
  }
  if (typeof value === 'number') {
    if (schema.maximum !== undefined) {
      if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
        out.push(invalidCause(path, value, `${where} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}`));
      }
    }
    if (schema.minimum !== undefined) {
      if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
        out.push(invalidCause(path, value, `${where} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}`));
      }
    }
    if (schema.multipleOf !== undefined && (value / schema.multipleOf) % 1 !== 0) {
      out.push(invalidCause(path, value, `${where} in body should be a multiple of ${schema.multipleOf}`));
    }
    if (schema.format === 'int32' && (value > 2147483647 || value < -2147483648)) {
      out.push(invalidCause(path, value, `${where} in body must be of type int32: ${JSON.stringify(String(value))}`));
    }
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      out.push(cause('FieldValueTooMany', path, `Too many: ${value.length}: must have at most ${schema.maxItems} items`));
    }
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      out.push(invalidCause(path, value.length, `${where} in body should have at least ${schema.minItems} items`));
    }
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || schema.uniqueItems) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const k = JSON.stringify(item);
        if (seen.has(k)) out.push(cause('FieldValueDuplicate', `${path}[${i}]`, `Duplicate value: ${goValue(item)}`));
        seen.add(k);
      });
    } else if (listType === 'map') {
      const keys: string[] = schema['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      value.forEach((item, i) => {
        if (!isObj(item)) return;
        const k = JSON.stringify(keys.map((key) => item[key] ?? schema.items?.properties?.[key]?.default));
        if (seen.has(k)) {
          const entries = keys.map((key) => `${JSON.stringify(key)}:${goValue(item[key])}`).join(', ');
          out.push(cause('FieldValueDuplicate', `${path}[${i}]`, `Duplicate value: map[string]interface {}{${entries}}`));
        }
        seen.add(k);
      });
    }
    if (schema.items) value.forEach((item, i) => validateAt(schema.items, item, `${path}[${i}]`, out));
  }
  if (isObj(value)) {
    const props: Obj = schema.properties ?? {};
    for (const req of schema.required ?? []) {
      if (value[req] === undefined) out.push(cause('FieldValueRequired', join(path, req), 'Required value'));
    }
    if (schema.maxProperties !== undefined && Object.keys(value).length > schema.maxProperties) {
      out.push(cause('FieldValueTooMany', path, `Too many: ${Object.keys(value).length}: must have at most ${schema.maxProperties} items`));
    }
    if (schema.minProperties !== undefined && Object.keys(value).length < schema.minProperties) {
      out.push(invalidCause(path, Object.keys(value).length, `${where} in body should have at least ${schema.minProperties} properties`));
    }
    if (schema['x-kubernetes-embedded-resource']) {
      if (!value.apiVersion) out.push(cause('FieldValueRequired', join(path, 'apiVersion'), 'Required value: must not be empty'));
      if (!value.kind) out.push(cause('FieldValueRequired', join(path, 'kind'), 'Required value: must not be empty'));
    }
    for (const [key, v] of Object.entries(value)) {
      if (root && key === 'metadata') continue;
      if (key in props) validateAt(props[key], v, join(path, key), out);
      else if (isObj(schema.additionalProperties)) validateAt(schema.additionalProperties, v, `${path}[${key}]`, out);
    }
  }
}
