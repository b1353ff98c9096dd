// Request-level helpers for PATCH: Content-Type → patch type, body decoding with
// upstream's error wording, PatchOptions validation, and one entry point that applies
// any of the four patch types.

import { isPlainObject, type KubeObject } from '../../machinery/object.js';
import { badRequest, type StatusCause } from '../../machinery/status.js';
import { serverSideApply, parseApplyBody, type ApplyOptions, type ApplyResult } from './apply.js';
import { invalidPatchOptions, invalidPatchResult, unsupportedPatchMediaType } from './errors.js';
import { jsonTypeWord } from './gojson.js';
import { applyJsonPatch } from './jsonpatch.js';
import { fieldManagerErrors, typeOf, type SchemaLike } from './managedfields.js';
import { applyMergePatch } from './mergepatch.js';
import { applyStrategicMergePatch } from './strategic.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

/** Patch media types of built-in resources, in upstream's order (used in the 415 message). */
export const BUILTIN_PATCH_TYPES: readonly string[] = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];
/** Custom resources do not accept strategic merge patches. */
export const CUSTOM_RESOURCE_PATCH_TYPES: readonly string[] = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH];

const BY_MEDIA_TYPE: Record<string, PatchType> = {
  [JSON_PATCH]: 'json',
  [MERGE_PATCH]: 'merge',
  [STRATEGIC_MERGE_PATCH]: 'strategic',
  [APPLY_PATCH]: 'apply',
};

/** The patch type of a Content-Type (parameters ignored); 415 with upstream's message otherwise. */
export function patchTypeForContentType(contentType: string | undefined, accepted: readonly string[] = BUILTIN_PATCH_TYPES): PatchType {
  const ct = (contentType ?? '').split(';')[0].trim();
  if (!accepted.includes(ct) || !BY_MEDIA_TYPE[ct]) throw unsupportedPatchMediaType(accepted);
  return BY_MEDIA_TYPE[ct];
}

/** Go's encoding/json wording for a syntax error, approximated from JSON.parse's. */
function goSyntaxError(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  if (m) {
    const pos = Number(m[1]);
    if (pos >= text.length) return 'unexpected end of JSON input';
    const ch = text[pos];
    return `invalid character ${JSON.stringify(ch).replace(/^"|"$/g, "'")} looking for beginning of value`;
  }
  if (/end of (JSON )?input/i.test(err.message)) return 'unexpected end of JSON input';
  const tok = /Unexpected token '?(.)'?/.exec(err.message);
  if (tok) return `invalid character '${tok[1]}' looking for beginning of value`;
  return err.message;
}

/**
 * Decodes a PATCH body for its type: JSON for json/merge/strategic, YAML or JSON for
 * apply. Throws upstream's 400s. `strict` is fieldValidation=Strict|Warn (kubectl's default).
 */
export function decodePatchBody(type: PatchType, body: string | Uint8Array, strict = true): unknown {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (type === 'apply') return parseApplyBody(text, strict);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = goSyntaxError(text, e as Error);
    if (type === 'strategic') throw badRequest(msg);
    if (type === 'merge' && !strict) throw badRequest('Invalid JSON Patch');
    throw badRequest(strict ? `error decoding patch: ${msg}` : msg);
  }
  if (strict && type === 'json' && value !== null && !Array.isArray(value)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonTypeWord(value)} into Go value of type []handlers.jsonPatchOp`);
  }
  if (strict && type === 'merge' && value !== null && !isPlainObject(value)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonTypeWord(value)} into Go value of type map[string]interface {}`);
  }
  return value;
}

/**
 * PatchOptions validation: apply needs a fieldManager, `force` is only for apply, and
 * fieldManager must be ≤128 printable characters. Throws upstream's 422
 * (`PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`).
 */
export function validatePatchOptions(type: PatchType, opts: { fieldManager?: string; force?: boolean | string }): void {
  const causes: StatusCause[] = [];
  if (type === 'apply') {
    if (!opts.fieldManager) causes.push({ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' });
  } else if (opts.force !== undefined) {
    causes.push({ reason: 'FieldValueForbidden', field: 'force', message: 'Forbidden: may not be specified for non-apply patch' });
  }
  causes.push(...fieldManagerErrors(opts.fieldManager));
  if (causes.length) throw invalidPatchOptions(causes);
}

export interface PatchOptions {
  /** Schema of the resource (navigatorFor(...) or a TypeNode); needed for strategic and apply. */
  schema?: SchemaLike;
  /** For apply. */
  apply?: ApplyOptions;
}

/**
 * Applies a decoded patch of any type to `live` (not modified) and returns the new
 * object. json/merge/strategic need a live object and leave managedFields to
 * updateManagedFields; apply (live may be undefined: it creates) returns the object
 * with managedFields already set — use applyPatchFull for its created/changed flags.
 */
export function applyPatch(type: PatchType, live: KubeObject | undefined, patch: unknown, opts: PatchOptions = {}): KubeObject {
  if (type === 'apply') return applyPatchFull(live, patch, opts).object;
  if (!live) throw new Error('applyPatch: json, merge and strategic patches need the live object');
  let out: unknown;
  if (type === 'json') out = applyJsonPatch(live, patch);
  else if (type === 'merge') out = applyMergePatch(live, patch);
  else out = applyStrategicMergePatch(live, patch, typeOf(opts.schema));
  if (!isPlainObject(out)) {
    throw invalidPatchResult(JSON.stringify(out), `json: cannot unmarshal ${jsonTypeWord(out)} into Go value of type map[string]interface {}`);
  }
  return out as KubeObject;
}

/** Server-side apply of a decoded apply body; see serverSideApply. */
export function applyPatchFull(live: KubeObject | undefined, patch: unknown, opts: PatchOptions): ApplyResult {
  if (!opts.apply) throw new Error('applyPatchFull: apply options are required');
  if (!isPlainObject(patch)) throw badRequest(`error decoding patch: json: cannot unmarshal ${jsonTypeWord(patch)} into Go value of type map[string]interface {}`);
  return serverSideApply(live, patch as KubeObject, opts.apply, opts.schema);
}
