// CEL validation rules of CRD schemas (`x-kubernetes-validations`; upstream:
// apiextensions-apiserver pkg/apiserver/schema/cel), evaluated with @marcbachmann/cel-js.
// `self` is the value at the rule's node (integers as CEL ints), `oldSelf` the value
// before an update; rules that mention oldSelf (transition rules) run only on updates
// where the old value exists.
import { Environment } from '@marcbachmann/cel-js';
import type { StatusCause } from '../../machinery/status.js';
import type { JsonSchema } from './schema.js';

type Obj = Record<string, any>;
type Program = (ctx: Obj) => unknown;

interface Rule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
const programs = new Map<string, Program | Error>();

function compile(expr: string): Program | Error {
  let p = programs.get(expr);
  if (!p) {
    try {
      p = env.parse(expr) as unknown as Program;
    } catch (err) {
      p = err as Error;
    }
    programs.set(expr, p);
  }
  return p;
}

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Whether any node of the schema carries rules (so schemas without them cost nothing). */
export function hasRules(schema: JsonSchema | undefined): boolean {
  if (!isObj(schema)) return false;
  if (Array.isArray(schema['x-kubernetes-validations']) && schema['x-kubernetes-validations'].length) return true;
  for (const sub of Object.values(schema.properties ?? {})) if (hasRules(sub as JsonSchema)) return true;
  return hasRules(schema.items) || hasRules(schema.additionalProperties);
}

/** The value as CEL sees it: integers of integer (and int-or-string) fields as ints. */
function toCel(schema: JsonSchema | undefined, value: unknown): unknown {
  if (value === null || value === undefined || !schema) return value;
  if (typeof value === 'number') {
    return (schema.type === 'integer' || schema['x-kubernetes-int-or-string']) && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(schema.items, v));
  if (isObj(value)) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k] ?? (isObj(schema.additionalProperties) ? schema.additionalProperties : undefined);
      out[k] = sub ? toCel(sub, v) : v;
    }
    return out;
  }
  return value;
}

function typeWord(schema: JsonSchema, value: unknown): string {
  if (schema.type) return schema.type;
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'number') : typeof value;
}

function causeFor(rule: Rule, path: string, schema: JsonSchema, value: unknown, detail: string): StatusCause {
  const field = rule.fieldPath ? `${path}${rule.fieldPath.startsWith('.') || rule.fieldPath.startsWith('[') ? '' : '.'}${rule.fieldPath}` : path;
  switch (rule.reason) {
    case 'FieldValueRequired':
      return { reason: 'FieldValueRequired', field, message: `Required value: ${detail}` };
    case 'FieldValueForbidden':
      return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
    case 'FieldValueDuplicate':
      return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${detail}` };
    default:
      return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(typeWord(schema, value))}: ${detail}` };
  }
}

function checkNode(schema: JsonSchema, value: unknown, old: unknown, path: string, out: StatusCause[]): void {
  const rules: Rule[] = schema['x-kubernetes-validations'] ?? [];
  if (!rules.length) return;
  const self = toCel(schema, value);
  const oldSelf = old === undefined ? undefined : toCel(schema, old);
  for (const rule of rules) {
    const transition = /\boldSelf\b/.test(rule.rule);
    if (transition && old === undefined && !rule.optionalOldSelf) continue;
    const program = compile(rule.rule);
    if (program instanceof Error) {
      out.push(causeFor(rule, path, schema, value, `compilation failed: ${program.message.split('\n')[0]}`));
      continue;
    }
    let ok: unknown;
    try {
      ok = program(transition ? { self, oldSelf } : { self });
    } catch (err) {
      out.push(causeFor(rule, path, schema, value, `${(err as Error).message.split('\n')[0]} evaluating rule: ${rule.rule}`));
      continue;
    }
    if (ok === true) continue;
    let message = rule.message || `failed rule: ${rule.rule}`;
    if (rule.messageExpression) {
      const m = compile(rule.messageExpression);
      if (!(m instanceof Error)) {
        try {
          const s = m(transition ? { self, oldSelf } : { self });
          if (typeof s === 'string' && s.trim()) message = s;
        } catch {
          // upstream falls back to message
        }
      }
    }
    out.push(causeFor(rule, path, schema, value, message));
  }
}

function walk(schema: JsonSchema | undefined, value: unknown, old: unknown, path: string, out: StatusCause[]): void {
  if (!isObj(schema) || value === undefined || value === null) return;
  checkNode(schema, value, old, path || '<root>', out);
  if (Array.isArray(value)) {
    if (!schema.items) return;
    const keys: string[] | undefined = schema['x-kubernetes-list-type'] === 'map' ? schema['x-kubernetes-list-map-keys'] : undefined;
    const oldList = Array.isArray(old) ? old : [];
    value.forEach((item, i) => {
      let prev: unknown;
      if (keys && isObj(item)) prev = oldList.find((o) => isObj(o) && keys.every((k) => o[k] === item[k]));
      else if (schema['x-kubernetes-list-type'] === 'set') prev = oldList.find((o) => JSON.stringify(o) === JSON.stringify(item));
      walk(schema.items, item, prev, `${path}[${i}]`, out);
    });
    return;
  }
  if (isObj(value)) {
    const oldObj = isObj(old) ? old : undefined;
    for (const [k, v] of Object.entries(value)) {
      if (!path && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
      const sub = schema.properties?.[k];
      if (sub) walk(sub, v, oldObj?.[k], path ? `${path}.${k}` : k, out);
      else if (isObj(schema.additionalProperties)) walk(schema.additionalProperties, v, oldObj?.[k], `${path}[${k}]`, out);
    }
  }
}

/** Causes for every failing rule in the object (old: the stored object, on update). */
export function validateRules(schema: JsonSchema, value: unknown, old?: unknown): StatusCause[] {
  const out: StatusCause[] = [];
  walk(schema, value, old, '', out);
  return out;
}
