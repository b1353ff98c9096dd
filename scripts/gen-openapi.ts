// Generates dist/generated/openapi-definitions.json: the OpenAPI v2 `definitions` of every
// type kite knows, named as upstream names them (io.k8s.api.apps.v1.Deployment, ...).
//
// Source of truth for shapes and descriptions: the .d.ts files of the `kubernetes-types`
// package, read with the TypeScript compiler API (syntax only, no type checker: the files
// are flat interfaces, aliases and imports). What those files cannot tell (integer widths,
// byte strings, patch strategies, list/map types) comes from the fact table in
// apiserver/openapi/facts.ts.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, dirname, posix } from 'node:path';
import ts from 'typescript';
import {
  ATOMIC_STRUCTS,
  EXTRA_DEFINITIONS,
  EXTRA_PROPERTIES,
  META_GVKS,
  PROPERTY_FACTS,
  REQUIRED_OVERRIDES,
  parseFact,
  type PropertyFact,
} from '../apiserver/openapi/facts.js';

type Schema = Record<string, unknown>;

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const INT_OR_STRING_DESCRIPTION =
  'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.';

/** `core/v1` → `io.k8s.api.core.v1`, with the apimachinery and apiextensions exceptions. */
export function packagePrefix(modulePath: string): string {
  switch (modulePath) {
    case 'meta/v1':
      return 'io.k8s.apimachinery.pkg.apis.meta.v1';
    case 'api/resource':
      return 'io.k8s.apimachinery.pkg.api.resource';
    case 'runtime':
      return 'io.k8s.apimachinery.pkg.runtime';
    case 'version':
      return 'io.k8s.apimachinery.pkg.version';
    case 'apiextensions/v1':
      return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
    default:
      return 'io.k8s.api.' + modulePath.replace(/\//g, '.');
  }
}

/** Scalar aliases whose upstream definitions carry a type and format. */
const ALIAS_SHAPES: Record<string, Schema> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': { type: 'string', format: 'date-time' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
};

/** Empty Go structs with custom JSON: opaque objects upstream (JSON has no type at all). */
const OPAQUE_OBJECTS = new Set([
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
]);

interface ModuleInfo {
  path: string; // e.g. core/v1
  source: ts.SourceFile;
  /** Local name → module path it is imported from. */
  imports: Map<string, string>;
  /** Names declared in this module. */
  declared: Set<string>;
}

function listDts(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) listDts(full, base, out);
    else if (name.endsWith('.d.ts')) out.push(relative(base, full).split('\\').join('/'));
  }
  return out;
}

/** The text of the JSDoc block right before `node`, without comment markers. */
function docOf(node: ts.Node, text: string): string | undefined {
  const ranges = ts.getLeadingCommentRanges(text, node.pos);
  if (!ranges || ranges.length === 0) return undefined;
  const last = ranges[ranges.length - 1];
  const raw = text.slice(last.pos, last.end);
  if (!raw.startsWith('/**')) return undefined;
  const body = raw.slice(3, -2);
  if (!body.includes('\n')) return body.trim();
  const lines = body.split('\n').map((l) => l.replace(/^\s*\* ?/, '').replace(/\s+$/, ''));
  while (lines.length && lines[0].trim() === '') lines.shift();
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.join('\n');
}

function propName(name: ts.PropertyName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  throw new Error(`unsupported property name kind ${ts.SyntaxKind[name.kind]}`);
}

class Generator {
  readonly modules = new Map<string, ModuleInfo>();
  readonly definitions: Record<string, Schema> = {};

  constructor(private readonly typesRoot: string) {}

  load(): void {
    for (const file of listDts(this.typesRoot)) {
      const modPath = file.replace(/\.d\.ts$/, '');
      const text = readFileSync(join(this.typesRoot, file), 'utf8');
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
      const imports = new Map<string, string>();
      const declared = new Set<string>();
      for (const stmt of source.statements) {
        if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
          const target = posix.normalize(posix.join(posix.dirname(modPath), stmt.moduleSpecifier.text));
          const bindings = stmt.importClause?.namedBindings;
          if (bindings && ts.isNamedImports(bindings)) {
            for (const el of bindings.elements) imports.set(el.name.text, target);
          }
        } else if (ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt)) {
          declared.add(stmt.name.text);
        }
      }
      this.modules.set(modPath, { path: modPath, source, imports, declared });
    }
  }

  private refName(mod: ModuleInfo, name: string): string {
    if (mod.declared.has(name)) return `${packagePrefix(mod.path)}.${name}`;
    const from = mod.imports.get(name);
    if (from) return `${packagePrefix(from)}.${name}`;
    throw new Error(`${mod.path}: unresolved type ${name}`);
  }

  private typeSchema(mod: ModuleInfo, node: ts.TypeNode): Schema {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: 'string' };
      case ts.SyntaxKind.NumberKeyword:
        return { type: 'integer', format: 'int32' };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: 'boolean' };
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return {};
    }
    if (ts.isLiteralTypeNode(node)) {
      if (ts.isStringLiteral(node.literal)) return { type: 'string' };
      if (node.literal.kind === ts.SyntaxKind.TrueKeyword || node.literal.kind === ts.SyntaxKind.FalseKeyword) return { type: 'boolean' };
      return { type: 'integer', format: 'int32' };
    }
    if (ts.isParenthesizedTypeNode(node)) return this.typeSchema(mod, node.type);
    if (ts.isArrayTypeNode(node)) return { type: 'array', items: this.typeSchema(mod, node.elementType) };
    if (ts.isTypeReferenceNode(node)) {
      const name = ts.isIdentifier(node.typeName) ? node.typeName.text : node.typeName.right.text;
      if (name === 'Array' && node.typeArguments?.length === 1) {
        return { type: 'array', items: this.typeSchema(mod, node.typeArguments[0]) };
      }
      if (name === 'Record' && node.typeArguments?.length === 2) {
        return { type: 'object', additionalProperties: this.typeSchema(mod, node.typeArguments[1]) };
      }
      return { $ref: `#/definitions/${this.refName(mod, name)}` };
    }
    if (ts.isTypeLiteralNode(node)) {
      const index = node.members.find(ts.isIndexSignatureDeclaration);
      if (index && node.members.length === 1 && index.type) {
        return { type: 'object', additionalProperties: this.typeSchema(mod, index.type) };
      }
      throw new Error(`${mod.path}: unsupported inline object type`);
    }
    if (ts.isUnionTypeNode(node)) {
      const kinds = node.types.map((t) => t.kind).sort();
      if (kinds.length === 2 && kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword)) {
        return { $ref: `#/definitions/${INT_OR_STRING}` };
      }
      // JSONSchemaPropsOrBool and friends: no single JSON type.
      return {};
    }
    throw new Error(`${mod.path}: unsupported type node ${ts.SyntaxKind[node.kind]}`);
  }

  generate(): Record<string, Schema> {
    for (const mod of this.modules.values()) {
      const text = mod.source.text;
      for (const stmt of mod.source.statements) {
        if (ts.isTypeAliasDeclaration(stmt)) {
          const name = `${packagePrefix(mod.path)}.${stmt.name.text}`;
          const description = docOf(stmt, text);
          const shape = ALIAS_SHAPES[name] ?? (ts.isUnionTypeNode(stmt.type) ? {} : this.typeSchema(mod, stmt.type));
          this.definitions[name] = { ...(description ? { description } : {}), ...shape };
        } else if (ts.isInterfaceDeclaration(stmt)) {
          const name = `${packagePrefix(mod.path)}.${stmt.name.text}`;
          this.definitions[name] = this.interfaceSchema(mod, name, stmt);
        }
      }
    }
    this.definitions[INT_OR_STRING] = { description: INT_OR_STRING_DESCRIPTION, type: 'string', format: 'int-or-string' };
    this.addExtras();
    this.applyGvks();
    for (const name of [...Object.keys(PROPERTY_FACTS), ...ATOMIC_STRUCTS]) {
      if (!this.definitions[name]) throw new Error(`facts for unknown definition ${name}`);
    }
    return sortKeys(this.definitions) as Record<string, Schema>;
  }

  private interfaceSchema(mod: ModuleInfo, name: string, decl: ts.InterfaceDeclaration): Schema {
    const text = mod.source.text;
    const description = docOf(decl, text);
    const out: Schema = {};
    if (description) out.description = description;
    if (OPAQUE_OBJECTS.has(name)) return { ...out, type: 'object' };
    if (decl.members.length === 0) return out; // apiextensions JSON: any value
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    let apiVersion: string | undefined;
    let kind: string | undefined;
    const facts = PROPERTY_FACTS[name] ?? {};
    for (const member of decl.members) {
      if (!ts.isPropertySignature(member) || !member.type) continue;
      const prop = propName(member.name);
      let schema = this.typeSchema(mod, member.type);
      if (ts.isLiteralTypeNode(member.type) && ts.isStringLiteral(member.type.literal)) {
        if (prop === 'apiVersion') apiVersion = member.type.literal.text;
        if (prop === 'kind') kind = member.type.literal.text;
      }
      const fact = facts[prop];
      if (fact) schema = applyFact(schema, parseFact(fact), `${name}.${prop}`);
      const doc = docOf(member, text);
      properties[prop] = orderSchema({ ...(doc ? { description: doc } : {}), ...schema });
      if (!member.questionToken) required.push(prop);
    }
    for (const prop of Object.keys(facts)) {
      if (!(prop in properties) && !(EXTRA_PROPERTIES[name] && prop in EXTRA_PROPERTIES[name])) {
        throw new Error(`fact for unknown property ${name}.${prop}`);
      }
    }
    out.type = 'object';
    out.properties = properties;
    if (required.length) out.required = required;
    if (ATOMIC_STRUCTS.includes(name)) out['x-kubernetes-map-type'] = 'atomic';
    if (apiVersion && kind) {
      const slash = apiVersion.indexOf('/');
      const group = slash < 0 ? '' : apiVersion.slice(0, slash);
      const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
      out['x-kubernetes-group-version-kind'] = [{ group, kind, version }];
    }
    return out;
  }

  /** Fields newer than the kubernetes-types release, so that strict validation accepts them. */
  private addExtras(): void {
    for (const [defName, def] of Object.entries(EXTRA_DEFINITIONS)) {
      if (!this.definitions[defName]) this.definitions[defName] = sortKeys(def) as Schema;
    }
    for (const [defName, props] of Object.entries(EXTRA_PROPERTIES)) {
      const def = this.definitions[defName];
      if (!def || !def.properties) throw new Error(`extra properties for unknown definition ${defName}`);
      const properties = def.properties as Record<string, Schema>;
      for (const [prop, extra] of Object.entries(props)) {
        if (prop in properties) continue; // kubernetes-types caught up
        let schema: Schema = { ...extra.schema };
        if (typeof schema.$ref === 'string' && !schema.$ref.startsWith('#/')) schema.$ref = `#/definitions/${schema.$ref}`;
        if (schema.items && typeof (schema.items as Schema).$ref === 'string') {
          const ref = (schema.items as Schema).$ref as string;
          if (!ref.startsWith('#/')) schema.items = { $ref: `#/definitions/${ref}` };
        }
        const fact = PROPERTY_FACTS[defName]?.[prop];
        if (fact) schema = applyFact(schema, parseFact(fact), `${defName}.${prop}`);
        properties[prop] = orderSchema({ description: extra.description, ...schema });
      }
      def.properties = sortKeys(properties);
    }
    for (const [defName, required] of Object.entries(REQUIRED_OVERRIDES)) {
      const def = this.definitions[defName];
      if (!def) throw new Error(`required override for unknown definition ${defName}`);
      if (required.length) def.required = required;
      else delete def.required;
    }
  }

  private applyGvks(): void {
    for (const [defName, gvks] of Object.entries(META_GVKS)) {
      const def = this.definitions[defName];
      if (!def) throw new Error(`GVK for unknown definition ${defName}`);
      def['x-kubernetes-group-version-kind'] = gvks;
    }
  }
}

function applyFact(schema: Schema, fact: PropertyFact, where: string): Schema {
  const out: Schema = { ...schema };
  if (fact.format) {
    // Formats apply to the innermost scalar: a field, its list items or its map values.
    const target = (s: Schema): Schema => {
      if (s.type === 'array' && s.items) return { ...s, items: target(s.items as Schema) };
      if (s.type === 'object' && s.additionalProperties) return { ...s, additionalProperties: target(s.additionalProperties as Schema) };
      if (fact.format === 'double') return { ...s, type: 'number', format: 'double' };
      if (fact.format === 'byte') return { ...s, type: 'string', format: 'byte' };
      return { ...s, format: fact.format };
    };
    Object.assign(out, target(out));
  }
  if (fact.listType) {
    if (out.type !== 'array') throw new Error(`list type on non-list ${where}`);
    out['x-kubernetes-list-type'] = fact.listType;
    if (fact.listMapKeys) out['x-kubernetes-list-map-keys'] = fact.listMapKeys;
  }
  if (fact.mapType) out['x-kubernetes-map-type'] = fact.mapType;
  if (fact.default !== undefined) out.default = fact.default;
  if (fact.patchStrategy) out['x-kubernetes-patch-strategy'] = fact.patchStrategy;
  if (fact.patchMergeKey) out['x-kubernetes-patch-merge-key'] = fact.patchMergeKey;
  return out;
}

/** Stable key order for a property schema (keys sorted as upstream's JSON marshaller does). */
function orderSchema(s: Schema): Schema {
  return sortKeys(s) as Schema;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** Checks that every $ref resolves; returns the dangling ones. */
export function danglingRefs(defs: Record<string, Schema>): string[] {
  const missing = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') {
          const name = x.replace('#/definitions/', '');
          if (!defs[name]) missing.add(name);
        } else walk(x);
      }
    }
  };
  walk(defs);
  return [...missing].sort();
}

export function buildDefinitions(root: string): Record<string, Schema> {
  const gen = new Generator(join(root, 'node_modules', 'kubernetes-types'));
  gen.load();
  const defs = gen.generate();
  const dangling = danglingRefs(defs);
  if (dangling.length) throw new Error(`dangling $refs: ${dangling.join(', ')}`);
  return defs;
}

export async function run(root: string): Promise<void> {
  const defs = buildDefinitions(root);
  const out = join(root, 'dist', 'generated', 'openapi-definitions.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(defs) + '\n');
}
