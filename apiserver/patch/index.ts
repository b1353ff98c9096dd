// Every patch type the API server accepts (JSON patch, JSON merge patch, strategic
// merge patch, server-side apply) and field ownership (metadata.managedFields).

import type { KubeObject } from '../../machinery/object.js';
import { applyStrategicMergePatch as smp, type StrategicMergeOptions } from './strategic.js';
import { SchemaNavigator, type Definitions, type Schema, type TypeNode } from './schema.js';
import { typeOf, type SchemaLike } from './managedfields.js';

export { applyJsonPatch, decodeJsonPatch, MAX_JSON_PATCH_OPERATIONS, type JsonPatchOperation } from './jsonpatch.js';
export { applyMergePatch } from './mergepatch.js';
export type { StrategicMergeOptions } from './strategic.js';
export {
  SchemaNavigator,
  schemaFor,
  UNTYPED,
  type Definitions,
  type Schema,
  type TypeNode,
  type MapType,
  type ListType,
  type ScalarType,
  type UntypedType,
  type FieldInfo,
} from './schema.js';
export {
  FieldSet,
  fieldPE,
  keyPE,
  valuePE,
  indexPE,
  parsePE,
  pathToString,
  peToString,
  type Path,
  type PathElement,
} from './fieldpath.js';
export { toFieldSet, compare, merge, removeItems, validate, ensureNamedFieldsAreMembers, type Comparison } from './typed.js';
export {
  LAST_APPLIED_ANNOTATION,
  MAX_UPDATE_MANAGERS,
  STRIP_SET,
  updateManagedFields,
  computeFieldSet,
  decodeManagedFields,
  encodeManagedFields,
  managerKey,
  printManager,
  managerFromUserAgent,
  fieldManagerFor,
  fieldManagerErrors,
  conflictError,
  zeroObject,
  formatTime,
  isResetManagedFields,
  defaultResetFields,
  type ManagedFieldsEntry,
  type Managed,
  type VersionedSet,
  type Conflict,
  type UpdateManagedFieldsOptions,
  type ComputeFieldSetOptions,
  type SchemaLike,
} from './managedfields.js';
export { serverSideApply, serverSideApplyResult, parseApplyBody, type ApplyOptions, type ApplyResult } from './apply.js';
export {
  patchTypeForContentType,
  decodePatchBody,
  validatePatchOptions,
  applyPatch,
  applyPatchFull,
  BUILTIN_PATCH_TYPES,
  CUSTOM_RESOURCE_PATCH_TYPES,
  JSON_PATCH,
  MERGE_PATCH,
  STRATEGIC_MERGE_PATCH,
  APPLY_PATCH,
  type PatchType,
  type PatchOptions,
} from './body.js';
export { unprocessable, rawServerError, unsupportedPatchMediaType } from './errors.js';

/** A resource's schema as the patch functions take it. */
export interface PatchSchema {
  readonly nav: SchemaNavigator | undefined;
  /** The root type; undefined when the definition is unknown (treated as untyped). */
  readonly type: TypeNode | undefined;
  readonly definition: string | undefined;
}

const navigators = new WeakMap<object, SchemaNavigator>();
const schemas = new WeakMap<SchemaNavigator, Map<string, PatchSchema>>();
const NO_SCHEMA: PatchSchema = Object.freeze({ nav: undefined, type: undefined, definition: undefined });

/**
 * The schema of `definitionName` within `definitions` (OpenAPI v2 definitions); cached
 * per definitions object, so calling it per request is cheap. Unknown or missing
 * names give an untyped schema (strategic merge behaves like a JSON merge patch,
 * apply treats lists as atomic).
 */
export function navigatorFor(definitions: Record<string, Schema> | Definitions | undefined, definitionName?: string): PatchSchema {
  if (!definitions) return NO_SCHEMA;
  let nav = navigators.get(definitions);
  if (!nav) {
    nav = new SchemaNavigator(definitions as Definitions);
    navigators.set(definitions, nav);
  }
  if (!definitionName) return { nav, type: undefined, definition: undefined };
  let byName = schemas.get(nav);
  if (!byName) {
    byName = new Map();
    schemas.set(nav, byName);
  }
  let s = byName.get(definitionName);
  if (!s) {
    s = { nav, type: nav.root(definitionName), definition: definitionName };
    byName.set(definitionName, s);
  }
  return s;
}

/**
 * Strategic merge patch of `doc` (not modified) with `patch`, using the schema's patch
 * strategies and merge keys (`schema` from navigatorFor, or a TypeNode; none: JSON
 * merge patch semantics plus directives). Throws StatusError as upstream.
 */
export function applyStrategicMergePatch<T = KubeObject>(doc: T, patch: unknown, schema?: SchemaLike, opts?: StrategicMergeOptions): T {
  return smp(doc, patch, typeOf(schema), opts);
}
