// A navigator over OpenAPI v2 `definitions` (or v3 `components.schemas`) that answers
// the two questions the patch code asks of a schema:
//   - strategic merge patch: a field's patch strategy and merge key
//     (x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key);
//   - server-side apply: the structure of a type as structured-merge-diff sees it
//     (scalar, list atomic|set|map with keys, map/struct granular|atomic, or untyped).
// The mapping from OpenAPI to that structure follows kube-openapi's schemaconv:
// x-kubernetes-list-type wins, else a `merge` patch strategy makes a list associative
// (keyed by the merge key, or a set), else lists are atomic; maps and structs are
// granular unless x-kubernetes-map-type is atomic; schemas without a type are untyped
// (scalars, atomic lists, granular maps of untyped).

export interface Schema {
  type?: string | string[];
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
  default?: unknown;
  description?: string;
  [extension: string]: unknown;
}

export type Definitions = Record<string, Schema>;

interface NodeBase {
  /** The definition this type was resolved from, when it came from one. */
  readonly definition?: string;
}

export interface ScalarType extends NodeBase {
  readonly kind: 'scalar';
}

/** A schema with no type: values are scalars, atomic lists or granular maps of untyped. */
export interface UntypedType extends NodeBase {
  readonly kind: 'untyped';
}

export interface ListType extends NodeBase {
  readonly kind: 'list';
  /** atomic: replaced as a whole; otherwise associative (a set, or a map keyed by `keys`). */
  readonly atomic: boolean;
  /** Key field names of a list-type map; empty for a set (and for atomic lists). */
  readonly keys: readonly string[];
  readonly elem: TypeNode;
}

export interface FieldInfo {
  readonly type: TypeNode;
  /** x-kubernetes-patch-strategy split on ','. */
  readonly patchStrategies: readonly string[];
  /** x-kubernetes-patch-merge-key. */
  readonly mergeKey: string;
  readonly default?: unknown;
}

export interface MapType extends NodeBase {
  readonly kind: 'map';
  readonly atomic: boolean;
  /** Declared properties (struct fields). */
  field(name: string): FieldInfo | undefined;
  /**
   * Type of keys that are not declared fields: additionalProperties, untyped for
   * preserve-unknown-fields or schema-less objects, undefined for a closed struct.
   */
  readonly elem: TypeNode | undefined;
  readonly hasFields: boolean;
}

export type TypeNode = ScalarType | UntypedType | ListType | MapType;

export const UNTYPED: UntypedType = Object.freeze({ kind: 'untyped' as const });
const SCALAR: ScalarType = Object.freeze({ kind: 'scalar' as const });

const EMPTY: readonly string[] = Object.freeze([]);

function ext(s: Schema, name: string): unknown {
  return s[name];
}

function refName(ref: string): string {
  const i = ref.lastIndexOf('/');
  return i >= 0 ? ref.slice(i + 1) : ref;
}

function hasType(s: Schema, t: string): boolean {
  return Array.isArray(s.type) ? s.type.includes(t) : s.type === t;
}

const EXTENSIONS = [
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
];

class ListNode implements ListType {
  readonly kind = 'list' as const;
  private elemNode: TypeNode | undefined;
  constructor(
    private readonly nav: SchemaNavigator,
    private readonly items: Schema | undefined,
    readonly atomic: boolean,
    readonly keys: readonly string[],
    readonly definition?: string,
  ) {}
  get elem(): TypeNode {
    if (!this.elemNode) this.elemNode = this.items ? this.nav.node(this.items) : UNTYPED;
    return this.elemNode;
  }
}

class MapNode implements MapType {
  readonly kind = 'map' as const;
  private readonly fields = new Map<string, FieldInfo | null>();
  private elemNode: TypeNode | undefined | null = null;
  constructor(
    private readonly nav: SchemaNavigator,
    private readonly properties: Record<string, Schema> | undefined,
    private readonly additional: Schema | boolean | undefined,
    private readonly openEnded: boolean,
    readonly atomic: boolean,
    readonly definition?: string,
  ) {}
  get hasFields(): boolean {
    return !!this.properties && Object.keys(this.properties).length > 0;
  }
  field(name: string): FieldInfo | undefined {
    const f = this.fields.get(name);
    if (f !== undefined) return f ?? undefined;
    // Only declared fields are kept: a map's keys (labels, a ConfigMap's data) and unknown
    // names are as many as clients make up, and would pile up here forever.
    const prop = this.properties && Object.prototype.hasOwnProperty.call(this.properties, name) ? this.properties[name] : undefined;
    if (!prop) return undefined;
    const info = this.nav.fieldInfo(prop);
    this.fields.set(name, info);
    return info;
  }
  get elem(): TypeNode | undefined {
    if (this.elemNode === null) {
      if (this.additional && typeof this.additional === 'object') this.elemNode = this.nav.node(this.additional);
      else if (this.additional === true || this.openEnded) this.elemNode = UNTYPED;
      else this.elemNode = undefined;
    }
    return this.elemNode;
  }
}

/** Resolves schema objects into TypeNodes, lazily and memoized (recursive schemas are fine). */
export class SchemaNavigator {
  private readonly nodes = new WeakMap<Schema, TypeNode>();
  private readonly infos = new WeakMap<Schema, FieldInfo>();
  private gvkIndex: Map<string, string> | undefined;

  constructor(readonly definitions: Definitions) {}

  /** The type of a named definition, or undefined when there is no such definition. */
  root(definitionName: string): TypeNode | undefined {
    const s = this.definitions[definitionName];
    return s ? this.node(s, definitionName) : undefined;
  }

  /** The definition carrying `x-kubernetes-group-version-kind` for group/version/kind. */
  definitionFor(group: string, version: string, kind: string): string | undefined {
    if (!this.gvkIndex) {
      this.gvkIndex = new Map();
      for (const [name, s] of Object.entries(this.definitions)) {
        const gvks = s['x-kubernetes-group-version-kind'];
        if (!Array.isArray(gvks)) continue;
        for (const g of gvks as Array<{ group?: string; version?: string; kind?: string }>) {
          this.gvkIndex.set(`${g.group ?? ''}/${g.version ?? ''}/${g.kind ?? ''}`, name);
        }
      }
    }
    return this.gvkIndex.get(`${group}/${version}/${kind}`);
  }

  /** The type for group/version/kind, or undefined when unknown. */
  rootFor(group: string, version: string, kind: string): TypeNode | undefined {
    const name = this.definitionFor(group, version, kind);
    return name ? this.root(name) : undefined;
  }

  /** Follows $ref / single allOf; returns the target and the wrapper's extensions merged over it. */
  private deref(s: Schema): { target: Schema | undefined; exts: Record<string, unknown>; definition?: string } {
    const exts: Record<string, unknown> = {};
    const take = (from: Schema): void => {
      for (const e of EXTENSIONS) if (from[e] !== undefined && exts[e] === undefined) exts[e] = from[e];
    };
    let cur: Schema | undefined = s;
    let definition: string | undefined;
    for (let depth = 0; cur && depth < 64; depth++) {
      take(cur);
      if (cur.$ref) {
        definition = refName(cur.$ref);
        cur = this.definitions[definition];
        continue;
      }
      if (Array.isArray(cur.allOf) && cur.allOf.length > 0 && !cur.type && !cur.properties && !cur.items) {
        cur = cur.allOf[0];
        continue;
      }
      break;
    }
    return { target: cur, exts, definition };
  }

  /** The TypeNode for a schema object (a definition, a property, an items schema...). */
  node(s: Schema, definitionName?: string): TypeNode {
    const memo = this.nodes.get(s);
    if (memo) return memo;
    const { target, exts, definition: refDef } = this.deref(s);
    const definition = refDef ?? definitionName;
    let n: TypeNode;
    if (!target) n = UNTYPED;
    else if (exts['x-kubernetes-int-or-string'] === true || target.format === 'int-or-string') n = SCALAR;
    else if (hasType(target, 'array') || target.items) {
      const listType = ext(exts, 'x-kubernetes-list-type');
      let atomic = true;
      let keys: readonly string[] = EMPTY;
      if (listType !== undefined) {
        if (listType === 'set') atomic = false;
        else if (listType === 'map') {
          atomic = false;
          const k = exts['x-kubernetes-list-map-keys'];
          keys = Array.isArray(k) ? k.map(String) : EMPTY;
        }
      } else {
        const strategy = exts['x-kubernetes-patch-strategy'];
        if (strategy === 'merge' || strategy === 'merge,retainKeys' || strategy === 'retainKeys,merge') {
          atomic = false;
          const mk = exts['x-kubernetes-patch-merge-key'];
          if (typeof mk === 'string' && mk) keys = [mk];
        }
      }
      n = new ListNode(this, target.items, atomic, keys, definition);
    } else if (hasType(target, 'object') || target.properties || target.additionalProperties !== undefined) {
      const preserve = exts['x-kubernetes-preserve-unknown-fields'] === true;
      const hasProps = !!target.properties && Object.keys(target.properties).length > 0;
      const openEnded = preserve || (!hasProps && target.additionalProperties === undefined);
      n = new MapNode(this, target.properties, target.additionalProperties, openEnded, exts['x-kubernetes-map-type'] === 'atomic', definition);
    } else if (target.type !== undefined) n = definition ? { kind: 'scalar', definition } : SCALAR;
    else n = UNTYPED;
    this.nodes.set(s, n);
    return n;
  }

  /** Field metadata for a property schema. */
  fieldInfo(prop: Schema): FieldInfo {
    let info = this.infos.get(prop);
    if (info) return info;
    const { exts, target } = this.deref(prop);
    const strategy = exts['x-kubernetes-patch-strategy'];
    const mergeKey = exts['x-kubernetes-patch-merge-key'];
    info = {
      type: this.node(prop),
      patchStrategies: typeof strategy === 'string' && strategy ? strategy.split(',') : EMPTY,
      mergeKey: typeof mergeKey === 'string' ? mergeKey : '',
      default: prop.default !== undefined ? prop.default : target?.default,
    };
    this.infos.set(prop, info);
    return info;
  }
}

/** The effective structure of `v` under `t`: untyped resolves by the value's shape. */
export type Atom =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'list'; readonly list: ListType }
  | { readonly kind: 'map'; readonly map: MapType };

const UNTYPED_LIST: ListType = Object.freeze({ kind: 'list' as const, atomic: true, keys: EMPTY, elem: UNTYPED });
const UNTYPED_MAP: MapType = Object.freeze({
  kind: 'map' as const,
  atomic: false,
  field: () => undefined,
  elem: UNTYPED,
  hasFields: false,
});
const SCALAR_ATOM = Object.freeze({ kind: 'scalar' as const });
const UNTYPED_LIST_ATOM = Object.freeze({ kind: 'list' as const, list: UNTYPED_LIST });
const UNTYPED_MAP_ATOM = Object.freeze({ kind: 'map' as const, map: UNTYPED_MAP });
const atomCache = new WeakMap<object, Atom>();

export function atomOf(t: TypeNode | undefined, v: unknown): Atom {
  if (!t || t.kind === 'untyped') {
    if (Array.isArray(v)) return UNTYPED_LIST_ATOM;
    if (v === null || (typeof v === 'object' && v !== undefined)) return UNTYPED_MAP_ATOM;
    if (v === undefined) return UNTYPED_MAP_ATOM;
    return SCALAR_ATOM;
  }
  if (t.kind === 'scalar') return SCALAR_ATOM;
  let a = atomCache.get(t);
  if (!a) {
    a = t.kind === 'list' ? { kind: 'list', list: t } : { kind: 'map', map: t };
    atomCache.set(t, a);
  }
  return a;
}

/** The type of a child: declared field, else map element type, else untyped. */
export function childType(m: MapType, name: string): TypeNode {
  return m.field(name)?.type ?? m.elem ?? UNTYPED;
}

/** Build a navigator and return the type of `rootDefinitionName` (undefined when unknown). */
export function schemaFor(definitions: Definitions, rootDefinitionName: string): TypeNode | undefined {
  return new SchemaNavigator(definitions).root(rootDefinitionName);
}
