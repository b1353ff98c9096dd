// The strategy of a custom resource (upstream: apiextensions-apiserver
// pkg/registry/customresource/strategy.go): the generic object rules plus the CRD
// version's structural schema — pruning, defaulting, validation — and its selectable
// fields. One per served ResourceInfo (a CRD change makes new ResourceInfos).
import type { KubeObject } from '../../machinery/object.js';
import { jsonCopy } from '../../machinery/object.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import type { StatusCause } from '../../machinery/status.js';
import { StatusError } from '../../machinery/status.js';
import { customResourceStrategy } from '../admission/index.js';
import type { Strategy } from '../admission/index.js';
import { applyDefaults, prune, validate, type JsonSchema } from './schema.js';
import { jsonPathValue } from './jsonpath.js';
import { hasRules, validateRules } from './cel.js';

const strategies = new WeakMap<ResourceInfo, Strategy>();

/** The schema a custom resource's served version declares (undefined: anything goes). */
export function schemaOf(res: ResourceInfo): JsonSchema | undefined {
  return res.custom?.version.schema?.openAPIV3Schema;
}

/** Fields a write would prune (for strict field validation), without changing `obj`. */
export function unknownCustomFields(res: ResourceInfo, obj: KubeObject): string[] {
  const schema = schemaOf(res);
  if (!schema) return [];
  return prune(schema, structuredClone(obj)).map((p) => `unknown field "${p}"`);
}

/** Prune `obj` in place; returns the warnings for what went. */
export function pruneCustomFields(res: ResourceInfo, obj: KubeObject): string[] {
  const schema = schemaOf(res);
  if (!schema) return [];
  return prune(schema, obj).map((p) => `unknown field "${p}"`);
}

class CustomResourceStrategy implements Strategy {
  private readonly base: Strategy;
  private readonly schema: JsonSchema | undefined;
  private readonly selectable: string[];
  private readonly rules: boolean;

  constructor(private readonly res: ResourceInfo) {
    const subs = res.custom!.version.subresources ?? {};
    this.base = customResourceStrategy(res.namespaced, !!subs.status);
    this.schema = schemaOf(res);
    this.rules = hasRules(this.schema);
    this.selectable = (res.custom!.version.selectableFields ?? []).map((f: { jsonPath: string }) => f.jsonPath);
  }

  get returnsDeletedObject(): boolean {
    return true;
  }
  /** Upstream refuses unconditional updates of custom resources: a resourceVersion is required. */
  get allowUnconditionalUpdate(): boolean {
    return false;
  }

  get allowCreateOnUpdate(): boolean {
    return false;
  }
  get createInTerminatingNamespace(): boolean {
    return false;
  }

  private shape(o: KubeObject): void {
    if (!this.schema) return;
    prune(this.schema, o);
    applyDefaults(this.schema, o);
  }

  default(o: KubeObject): void {
    this.base.default(o);
  }

  prepareForCreate(o: KubeObject): void {
    if (this.res.custom!.terminating) {
      throw new StatusError(405, 'MethodNotAllowed', 'create not allowed while custom resource definition is terminating');
    }
    this.base.prepareForCreate(o);
    (o.metadata ??= {}).generation = 1;
    this.shape(o);
  }

  prepareForUpdate(o: KubeObject, old: KubeObject, subresource?: string): void {
    // A status write shares the old object's members (see Strategy), which pruning and
    // defaulting here write to: it gets a copy of the old object to share from.
    this.base.prepareForUpdate(o, subresource === 'status' ? jsonCopy(old) : old, subresource);
    this.shape(o);
  }

  private check(o: KubeObject, old?: KubeObject): StatusCause[] {
    if (!this.schema) return [];
    const causes = validate(this.schema, o);
    // CEL rules run on values that passed the schema (upstream skips them otherwise).
    if (this.rules && causes.length === 0) causes.push(...validateRules(this.schema, o, old));
    return causes;
  }

  /** The scale subresource's replica fields must be int32s ≥ 0 (upstream ValidateScaleSpec/ValidateScaleStatus). */
  private checkScale(o: KubeObject, spec: boolean): StatusCause[] {
    const scale = this.res.custom!.version.subresources?.scale;
    if (!scale) return [];
    const out: StatusCause[] = [];
    const replicas = (path: string) => {
      const v = jsonPathValue(o, path);
      if (v === undefined || v === null) return;
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        const goType = typeof v === 'string' ? 'string' : typeof v === 'number' ? 'float64' : typeof v === 'boolean' ? 'bool' : Array.isArray(v) ? '[]interface {}' : 'map[string]interface {}';
        out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: 0: ${path} accessor error: ${typeof v === 'object' ? JSON.stringify(v) : String(v)} is of the type ${goType}, expected int64` });
      } else if (v < 0) out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${v}: should be a non-negative integer` });
      else if (v > 2147483647) out.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${v}: should be less than or equal to 2147483647` });
    };
    if (spec) replicas(scale.specReplicasPath);
    replicas(scale.statusReplicasPath);
    return out;
  }

  validateCreate(o: KubeObject): StatusCause[] {
    return [...this.base.validateCreate(o), ...this.check(o), ...this.checkScale(o, true)];
  }

  validateUpdate(o: KubeObject, old: KubeObject, subresource?: string): StatusCause[] {
    return [...this.base.validateUpdate(o, old, subresource), ...this.check(o, old), ...this.checkScale(o, subresource !== 'status')];
  }

  fieldLabels(o: KubeObject): Record<string, string> {
    const out: Record<string, string> = {};
    for (const path of this.selectable) {
      const v = jsonPathValue(o, path);
      out[path.replace(/^\./, '')] = v === undefined || v === null ? '' : String(v);
    }
    return out;
  }

  gracefulDeleteSeconds(): number {
    return 0;
  }
  holdDeletion(): boolean {
    return false;
  }
  removeWhenFinalized(): boolean {
    return true;
  }
}

export function customStrategyFor(res: ResourceInfo): Strategy {
  let s = strategies.get(res);
  if (!s) strategies.set(res, (s = new CustomResourceStrategy(res)));
  return s;
}
