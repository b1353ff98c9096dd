// The seam between the registry and the patch machinery (./patch) and OpenAPI
// schemas (./openapi): which patch type a request carries, applying it, field
// ownership (managedFields) on every write, and unknown-field detection.
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { apiVersionOf } from '../machinery/resources.js';
import { badRequest, unsupportedMediaType } from '../machinery/status.js';
import type { RequestContext } from './context.js';
import * as patch from './patch/index.js';
import * as openapi from './openapi/index.js';
import { pruneCustomFields, unknownCustomFields } from './crd/strategy.js';
import { checkJsonDepth } from './bodylimits.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0].trim().toLowerCase();
  switch (ct) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      throw unsupportedMediaType(contentType ?? '');
  }
}

function parseJson(body: Buffer): unknown {
  checkJsonDepth(body);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

/**
 * An apply patch's body: YAML, of which JSON is a subset. Clients mostly send JSON
 * (client-go's and kubectl's apply configurations), which JSON.parse reads ~70× faster than
 * the YAML parser (7.5 KB: 43 µs against 3 ms). JSON.parse keeps the last of duplicate keys,
 * as upstream does unless the request asks for Strict field validation; then the YAML
 * parser reads it and refuses them.
 */
function parseApplyBody(text: string, strict: boolean): unknown {
  if (!strict && text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      // YAML after all (flow style), or an error the YAML parser words
    }
  }
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
}

function definitionOf(res: ResourceInfo): string | undefined {
  return openapi.definitionNameFor(res.group, res.version, res.kind);
}

/**
 * The patched object in the request's version; `current` must not be mutated. With
 * `shareUntouched`, a strategic merge patch's result keeps the top-level members of
 * `current` it does not name (see StrategicMergeOptions): the caller changes none of them.
 */
export function applyPatchBody(res: ResourceInfo, type: PatchType, current: KubeObject | undefined, body: Buffer, ctx: RequestContext & { force?: boolean }, opts: patch.StrategicMergeOptions = {}): KubeObject {
  switch (type) {
    case 'json': {
      const ops = parseJson(body);
      if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
      return patch.applyJsonPatch(current, ops) as KubeObject;
    }
    case 'merge':
      return patch.applyMergePatch(current, parseJson(body)) as KubeObject;
    case 'strategic':
      // Custom resources have no patch strategies (upstream answers 415).
      if (res.custom) throw patch.unsupportedPatchMediaType(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']);
      return patch.applyStrategicMergePatch(current, parseJson(body), patch.navigatorFor(openapi.definitions(), definitionOf(res)), opts) as KubeObject;
    case 'apply': {
      checkJsonDepth(body);
      const applied = parseApplyBody(body.toString('utf8'), ctx.fieldValidation === 'Strict');
      // Unknown fields of a custom resource are pruned unless the client asked for strict validation.
      if (res.custom && ctx.fieldValidation !== 'Strict' && applied && typeof applied === 'object') {
        const dropped = pruneCustomFields(res, applied as KubeObject);
        if (ctx.fieldValidation === 'Warn') ctx.warnings.push(...dropped);
      }
      const result = patch.serverSideApply(
        current,
        applied as KubeObject,
        { manager: ctx.fieldManager!, force: !!ctx.force, apiVersion: apiVersionOf(res), kind: res.kind, now: new Date() },
        patch.navigatorFor(openapi.definitions(), definitionOf(res)),
      );
      return result.object as KubeObject;
    }
  }
}

/** Record in managedFields which manager changed what (every non-apply write). */
export function trackManagedFields(res: ResourceInfo, old: KubeObject | undefined, obj: KubeObject, ctx: RequestContext, subresource: string | undefined): void {
  if (ctx.skipManagedFields) return;
  const manager = ctx.fieldManager ?? patch.managerFromUserAgent(ctx.userAgent);
  patch.updateManagedFields(old, obj, {
    manager,
    operation: 'Update',
    apiVersion: apiVersionOf(res),
    subresource,
    nav: patch.navigatorFor(openapi.definitions(), definitionOf(res)),
  });
}

export function unknownFields(res: ResourceInfo, obj: KubeObject): string[] {
  if (res.custom) return unknownCustomFields(res, obj);
  return openapi.unknownFieldErrors(res.group, res.version, res.kind, obj);
}

/** Typed decoding of a built-in kind's object: wrong types → 400, unknown fields dropped. */
export function decodeTyped(res: ResourceInfo, obj: KubeObject): openapi.DecodeResult | undefined {
  return openapi.decodeTyped(res.group, res.version, res.kind, obj);
}
