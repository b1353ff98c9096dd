// RFC 6902 JSON Patch with the behaviour of the library upstream's API server uses
// (evanphx/json-patch v4): negative array indices count from the end, `replace` of a
// missing object key adds it, `copy` from a missing key copies null, and every
// application failure is reported as the same 422. Decode failures are 400.

import { isPlainObject, jsonEqual } from '../../machinery/object.js';
import { badRequest, requestEntityTooLarge, unprocessable } from './errors.js';
import { jsonTypeWord, cloneJson } from './gojson.js';

/** Upstream's cap on operations in one JSON patch. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

type Container = Record<string, unknown> | unknown[];

class OpFailure extends Error {}

function fail(message: string): never {
  throw new OpFailure(message);
}

function decodeToken(t: string): string {
  // RFC 6901: ~1 first, then ~0.
  return t.indexOf('~') < 0 ? t : t.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Go's strconv.Atoi: optional sign and decimal digits only. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** findObject: the container that holds the last token, and that token (decoded). */
function findObject(root: Container, path: string): [Container, string] | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let doc: Container = root;
  for (let i = 1; i < split.length - 1; i++) {
    const next = get(doc, decodeToken(split[i]));
    if (Array.isArray(next)) doc = next;
    else if (isPlainObject(next)) doc = next;
    else return undefined;
  }
  return [doc, decodeToken(split[split.length - 1])];
}

/** Resolves an array index for get/set/remove (negative indices count from the end). */
function arrayIndex(arr: unknown[], key: string): number {
  const idx = atoi(key);
  if (idx === undefined) fail(`invalid index ${key}`);
  let i = idx;
  if (i < 0) {
    if (i < -arr.length) fail(`Unable to access invalid index: ${idx}`);
    i += arr.length;
  }
  if (i >= arr.length) fail(`Unable to access invalid index: ${idx}`);
  return i;
}

function get(c: Container, key: string): unknown {
  if (Array.isArray(c)) {
    const i = atoi(key);
    if (i === undefined) return undefined;
    let idx = i;
    if (idx < 0) {
      if (idx < -c.length) return undefined;
      idx += c.length;
    }
    return idx < c.length ? c[idx] : undefined;
  }
  return Object.prototype.hasOwnProperty.call(c, key) ? c[key] : undefined;
}

/** get as the library does it: arrays fail on bad indices; objects yield undefined for missing keys. */
function getStrict(c: Container, key: string): unknown {
  if (Array.isArray(c)) return c[arrayIndex(c, key)];
  return Object.prototype.hasOwnProperty.call(c, key) ? c[key] : undefined;
}

function add(c: Container, key: string, val: unknown): void {
  if (!Array.isArray(c)) {
    c[key] = val;
    return;
  }
  if (key === '-') {
    c.push(val);
    return;
  }
  const idx = atoi(key);
  if (idx === undefined) fail(`value was not a proper array index: '${key}'`);
  const size = c.length + 1;
  let i = idx;
  if (i >= size) fail(`Unable to access invalid index: ${idx}`);
  if (i < 0) {
    if (i < -size) fail(`Unable to access invalid index: ${idx}`);
    i += size;
  }
  c.splice(i, 0, val);
}

function remove(c: Container, key: string): void {
  if (Array.isArray(c)) {
    c.splice(arrayIndex(c, key), 1);
    return;
  }
  if (!Object.prototype.hasOwnProperty.call(c, key)) fail(`Unable to remove nonexistent key: ${key}`);
  delete c[key];
}

function set(c: Container, key: string, val: unknown): void {
  if (Array.isArray(c)) c[arrayIndex(c, key)] = val;
  else c[key] = val;
}

function cloneValue(v: unknown): unknown {
  return v === undefined ? null : typeof v === 'object' && v !== null ? cloneJson(v) : v;
}

function stringField(op: Record<string, unknown>, name: string): string {
  const v = op[name];
  if (typeof v !== 'string') fail(`operation missing ${name} field`);
  return v;
}

/**
 * Checks the body decodes as a JSON patch (an array of objects); returns it typed.
 * Throws upstream's 400 otherwise, or 413 past MAX_JSON_PATCH_OPERATIONS.
 */
export function decodeJsonPatch(ops: unknown): JsonPatchOperation[] {
  if (ops === null) return [];
  if (!Array.isArray(ops)) throw badRequest(`json: cannot unmarshal ${jsonTypeWord(ops)} into Go value of type jsonpatch.Patch`);
  for (const op of ops) {
    if (op !== null && !isPlainObject(op)) {
      throw badRequest(`json: cannot unmarshal ${jsonTypeWord(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw requestEntityTooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  }
  return ops as JsonPatchOperation[];
}

/**
 * Applies an RFC 6902 patch to `doc` and returns the result; `doc` and `ops` are not
 * modified. Throws StatusError: 400 when `ops` is not a JSON patch, 413 over 10000
 * operations, 422 ("the server rejected our request due to an error in our request")
 * when an operation fails (including a failed `test`).
 */
export function applyJsonPatch<T = unknown>(doc: T, ops: unknown): T {
  const patch = decodeJsonPatch(ops);
  let root = cloneJson(doc) as unknown;
  try {
    for (const raw of patch) {
      const op = (raw ?? {}) as unknown as Record<string, unknown>;
      const hasValue = Object.prototype.hasOwnProperty.call(op, 'value');
      switch (op.op) {
        case 'add': {
          const target = findObject(root as Container, stringField(op, 'path'));
          if (!target) fail('add operation does not apply: doc is missing path');
          add(target[0], target[1], cloneValue(op.value));
          break;
        }
        case 'remove': {
          const target = findObject(root as Container, stringField(op, 'path'));
          if (!target) fail('remove operation does not apply: doc is missing path');
          remove(target[0], target[1]);
          break;
        }
        case 'replace': {
          const path = stringField(op, 'path');
          if (path === '') {
            if (!isPlainObject(op.value) && !Array.isArray(op.value)) fail('replace operation value must be object or array');
            root = cloneValue(op.value);
            break;
          }
          const target = findObject(root as Container, path);
          if (!target) fail('replace operation does not apply: doc is missing path');
          getStrict(target[0], target[1]);
          set(target[0], target[1], cloneValue(op.value));
          break;
        }
        case 'move': {
          const from = findObject(root as Container, stringField(op, 'from'));
          if (!from) fail('move operation does not apply: doc is missing from path');
          const val = getStrict(from[0], from[1]);
          remove(from[0], from[1]);
          const to = findObject(root as Container, stringField(op, 'path'));
          if (!to) fail('move operation does not apply: doc is missing destination path');
          add(to[0], to[1], val);
          break;
        }
        case 'copy': {
          const from = findObject(root as Container, stringField(op, 'from'));
          if (!from) fail('copy operation does not apply: doc is missing from path');
          const val = getStrict(from[0], from[1]);
          const to = findObject(root as Container, stringField(op, 'path'));
          if (!to) fail('copy operation does not apply: doc is missing destination path');
          add(to[0], to[1], cloneValue(val));
          break;
        }
        case 'test': {
          const path = stringField(op, 'path');
          if (path === '') {
            if (!jsonEqual(root, op.value)) fail('test failed');
            break;
          }
          const target = findObject(root as Container, path);
          if (!target) fail('test operation does not apply: is missing path');
          const val = getStrict(target[0], target[1]);
          if (val === undefined || val === null) {
            // A missing or null value matches a missing or null `value`.
            if (!hasValue || op.value === null) break;
            fail('test failed');
          }
          if (!hasValue || !jsonEqual(val, op.value)) fail('test failed');
          break;
        }
        default:
          fail(`Unexpected kind: ${typeof op.op === 'string' ? op.op : 'unknown'}`);
      }
    }
  } catch (e) {
    if (e instanceof OpFailure) throw unprocessable();
    throw e;
  }
  return root as T;
}
