// CEL for admission (webhook matchConditions, ValidatingAdmissionPolicy): expressions
// compiled once per text with @marcbachmann/cel-js and evaluated over the request's
// objects, whose whole numbers CEL sees as ints (as upstream's unstructured-to-CEL
// conversion of integer fields does).
import { Environment } from '@marcbachmann/cel-js';

type Program = (ctx: Record<string, unknown>) => unknown;

const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
const programs = new Map<string, Program | Error>();

/** The compiled expression, or the compile error (kept, so a bad expression costs one parse). */
export function compileCel(expr: string): Program | Error {
  let p = programs.get(expr);
  if (!p) {
    try {
      p = env.parse(expr) as unknown as Program;
    } catch (err) {
      p = err instanceof Error ? err : new Error(String(err));
    }
    if (programs.size > 10_000) programs.clear();
    programs.set(expr, p);
  }
  return p;
}

/** A JSON value as CEL sees it: whole numbers become ints. */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toCel(v);
    return out;
  }
  return value;
}

/** A CEL result back as JSON (ints as numbers). */
export function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(fromCel);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), fromCel(v)]));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromCel(v);
    return out;
  }
  return value;
}

/** Evaluate `expr` over `vars` (already CEL values); throws the compile or evaluation error, first line only. */
export function evalCel(expr: string, vars: Record<string, unknown>): unknown {
  const p = compileCel(expr);
  if (p instanceof Error) throw new Error(`compilation failed: ${p.message.split('\n')[0]}`);
  try {
    return p(vars);
  } catch (err) {
    throw new Error((err instanceof Error ? err.message : String(err)).split('\n')[0], { cause: err });
  }
}
