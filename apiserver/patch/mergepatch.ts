// RFC 7386 JSON Merge Patch, as upstream's API server applies it
// (evanphx/json-patch v4 MergePatch): null deletes a key, objects merge recursively,
// anything else replaces; values newly set have their nested nulls pruned.

import { cloneJson } from './gojson.js';
import { isPlainObject } from '../../machinery/object.js';
import { badRequest } from './errors.js';

function pruneNulls(v: unknown): unknown {
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else pruneNulls(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const item of v) if (item !== null) pruneNulls(item);
  }
  return v;
}

function mergeValue(cur: unknown, patch: unknown): unknown {
  if (!isPlainObject(cur)) return pruneNulls(patch);
  if (!isPlainObject(patch)) return patch;
  mergeDocs(cur, patch);
  return cur;
}

function mergeDocs(doc: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === undefined) continue;
    if (v === null) {
      delete doc[k];
      continue;
    }
    const cur = doc[k];
    if (cur === undefined || cur === null) doc[k] = pruneNulls(v);
    else doc[k] = mergeValue(cur, v);
  }
}

/**
 * Applies a JSON merge patch and returns the result; neither argument is modified.
 * A patch that is an array replaces the document (with nulls inside its objects
 * pruned); a null or scalar patch is upstream's 400 "Invalid JSON Patch".
 */
export function applyMergePatch<T = unknown>(doc: T, patch: unknown): T {
  if (Array.isArray(patch)) return pruneNulls(cloneJson(patch)) as T;
  if (!isPlainObject(patch)) throw badRequest('Invalid JSON Patch');
  if (!isPlainObject(doc)) return pruneNulls(cloneJson(patch)) as T;
  const out = cloneJson(doc) as Record<string, unknown>;
  mergeDocs(out, cloneJson(patch));
  return out as T;
}
