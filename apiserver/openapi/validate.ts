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
