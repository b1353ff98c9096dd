// The gnostic `openapi.v2.Document` protobuf message (the encoding kubectl 1.27/1.28 insist
// on for /openapi/v2), described for protobufjs, and the conversion of a swagger 2.0 JSON
// document into it.
//
// Only the messages a Kubernetes document needs are declared; field numbers follow
// gnostic's OpenAPIv2.proto. Values of vendor extensions, defaults, enums and examples
// are `Any` messages whose `yaml` field carries the YAML text of the JSON value.
import protobuf from 'protobufjs';
import { stringify as yamlStringify } from 'yaml';

type Json = Record<string, unknown>;
type FieldDef = { type: string; id: number; rule?: 'repeated' };
type MessageDef = { fields: Record<string, FieldDef>; oneofs?: Record<string, { oneof: string[] }> };

const s = (id: number): FieldDef => ({ type: 'string', id });
const b = (id: number): FieldDef => ({ type: 'bool', id });
const d = (id: number): FieldDef => ({ type: 'double', id });
const i64 = (id: number): FieldDef => ({ type: 'int64', id });
const m = (type: string, id: number): FieldDef => ({ type, id });
const rs = (id: number): FieldDef => ({ type: 'string', id, rule: 'repeated' });
const rm = (type: string, id: number): FieldDef => ({ type, id, rule: 'repeated' });
const oneof = (...names: string[]) => ({ oneof: { oneof: names } });

/** Shared fields of the non-body parameter sub-schemas after `name` (query: +1 shift). */
function primitiveParamFields(first: number): Record<string, FieldDef> {
  const n = (k: number) => first + k;
  return {
    type: s(n(0)),
    format: s(n(1)),
    items: m('PrimitivesItems', n(2)),
    collectionFormat: s(n(3)),
    default: m('Any', n(4)),
    maximum: d(n(5)),
    exclusiveMaximum: b(n(6)),
    minimum: d(n(7)),
    exclusiveMinimum: b(n(8)),
    maxLength: i64(n(9)),
    minLength: i64(n(10)),
    pattern: s(n(11)),
    maxItems: i64(n(12)),
    minItems: i64(n(13)),
    uniqueItems: b(n(14)),
    enum: rm('Any', n(15)),
    multipleOf: d(n(16)),
    vendorExtension: rm('NamedAny', n(17)),
  };
}

const MESSAGES: Record<string, MessageDef> = {
  Any: { fields: { yaml: s(2) } }, // field 1 (google.protobuf.Any) is never used by Kubernetes
  NamedAny: { fields: { name: s(1), value: m('Any', 2) } },
  Document: {
    fields: {
      swagger: s(1),
      info: m('Info', 2),
      host: s(3),
      basePath: s(4),
      schemes: rs(5),
      consumes: rs(6),
      produces: rs(7),
      paths: m('Paths', 8),
      definitions: m('Definitions', 9),
      parameters: m('ParameterDefinitions', 10),
      responses: m('ResponseDefinitions', 11),
      security: rm('SecurityRequirement', 12),
      securityDefinitions: m('SecurityDefinitions', 13),
      tags: rm('Tag', 14),
      externalDocs: m('ExternalDocs', 15),
      vendorExtension: rm('NamedAny', 16),
    },
  },
  Info: {
    fields: {
      title: s(1),
      version: s(2),
      description: s(3),
      termsOfService: s(4),
      contact: m('Contact', 5),
      license: m('License', 6),
      vendorExtension: rm('NamedAny', 7),
    },
  },
  Contact: { fields: { name: s(1), url: s(2), email: s(3), vendorExtension: rm('NamedAny', 4) } },
  License: { fields: { name: s(1), url: s(2), vendorExtension: rm('NamedAny', 3) } },
  ExternalDocs: { fields: { description: s(1), url: s(2), vendorExtension: rm('NamedAny', 3) } },
  Tag: { fields: { name: s(1), description: s(2), externalDocs: m('ExternalDocs', 3), vendorExtension: rm('NamedAny', 4) } },
  Paths: { fields: { vendorExtension: rm('NamedAny', 1), path: rm('NamedPathItem', 2) } },
  NamedPathItem: { fields: { name: s(1), value: m('PathItem', 2) } },
  PathItem: {
    fields: {
      _ref: s(1),
      get: m('Operation', 2),
      put: m('Operation', 3),
      post: m('Operation', 4),
      delete: m('Operation', 5),
      options: m('Operation', 6),
      head: m('Operation', 7),
      patch: m('Operation', 8),
      parameters: rm('ParametersItem', 9),
      vendorExtension: rm('NamedAny', 10),
    },
  },
  Operation: {
    fields: {
      tags: rs(1),
      summary: s(2),
      description: s(3),
      externalDocs: m('ExternalDocs', 4),
      operationId: s(5),
      produces: rs(6),
      consumes: rs(7),
      parameters: rm('ParametersItem', 8),
      responses: m('Responses', 9),
      schemes: rs(10),
      deprecated: b(11),
      security: rm('SecurityRequirement', 12),
      vendorExtension: rm('NamedAny', 13),
    },
  },
  ParametersItem: { fields: { parameter: m('Parameter', 1), jsonReference: m('JsonReference', 2) }, oneofs: oneof('parameter', 'jsonReference') },
  Parameter: { fields: { bodyParameter: m('BodyParameter', 1), nonBodyParameter: m('NonBodyParameter', 2) }, oneofs: oneof('bodyParameter', 'nonBodyParameter') },
  JsonReference: { fields: { _ref: s(1), description: s(2) } },
  BodyParameter: {
    fields: { description: s(1), name: s(2), in: s(3), required: b(4), schema: m('Schema', 5), vendorExtension: rm('NamedAny', 6) },
  },
  NonBodyParameter: {
    fields: {
      headerParameterSubSchema: m('HeaderParameterSubSchema', 1),
      formDataParameterSubSchema: m('FormDataParameterSubSchema', 2),
      queryParameterSubSchema: m('QueryParameterSubSchema', 3),
      pathParameterSubSchema: m('PathParameterSubSchema', 4),
    },
    oneofs: oneof('headerParameterSubSchema', 'formDataParameterSubSchema', 'queryParameterSubSchema', 'pathParameterSubSchema'),
  },
  HeaderParameterSubSchema: { fields: { required: b(1), in: s(2), description: s(3), name: s(4), ...primitiveParamFields(5) } },
  FormDataParameterSubSchema: {
    fields: { required: b(1), in: s(2), description: s(3), name: s(4), allowEmptyValue: b(5), ...primitiveParamFields(6) },
  },
  QueryParameterSubSchema: {
    fields: { required: b(1), in: s(2), description: s(3), name: s(4), allowEmptyValue: b(5), ...primitiveParamFields(6) },
  },
  PathParameterSubSchema: { fields: { required: b(1), in: s(2), description: s(3), name: s(4), ...primitiveParamFields(5) } },
  PrimitivesItems: { fields: primitiveParamFields(1) },
  Responses: { fields: { responseCode: rm('NamedResponseValue', 1), vendorExtension: rm('NamedAny', 2) } },
  NamedResponseValue: { fields: { name: s(1), value: m('ResponseValue', 2) } },
  ResponseValue: { fields: { response: m('Response', 1), jsonReference: m('JsonReference', 2) }, oneofs: oneof('response', 'jsonReference') },
  Response: {
    fields: { description: s(1), schema: m('SchemaItem', 2), headers: m('Headers', 3), examples: m('Examples', 4), vendorExtension: rm('NamedAny', 5) },
  },
  Headers: { fields: { additionalProperties: rm('NamedHeader', 1) } },
  NamedHeader: { fields: { name: s(1), value: m('Header', 2) } },
  Header: { fields: { ...primitiveParamFields(1), description: s(18), vendorExtension: rm('NamedAny', 19) } },
  Examples: { fields: { additionalProperties: rm('NamedAny', 1) } },
  SchemaItem: { fields: { schema: m('Schema', 1), fileSchema: m('FileSchema', 2) }, oneofs: oneof('schema', 'fileSchema') },
  FileSchema: {
    fields: {
      format: s(1),
      title: s(2),
      description: s(3),
      default: m('Any', 4),
      required: rs(5),
      type: s(6),
      readOnly: b(7),
      externalDocs: m('ExternalDocs', 8),
      example: m('Any', 9),
      vendorExtension: rm('NamedAny', 10),
    },
  },
  Schema: {
    fields: {
      _ref: s(1),
      format: s(2),
      title: s(3),
      description: s(4),
      default: m('Any', 5),
      multipleOf: d(6),
      maximum: d(7),
      exclusiveMaximum: b(8),
      minimum: d(9),
      exclusiveMinimum: b(10),
      maxLength: i64(11),
      minLength: i64(12),
      pattern: s(13),
      maxItems: i64(14),
      minItems: i64(15),
      uniqueItems: b(16),
      maxProperties: i64(17),
      minProperties: i64(18),
      required: rs(19),
      enum: rm('Any', 20),
      additionalProperties: m('AdditionalPropertiesItem', 21),
      type: m('TypeItem', 22),
      items: m('ItemsItem', 23),
      allOf: rm('Schema', 24),
      properties: m('Properties', 25),
      discriminator: s(26),
      readOnly: b(27),
      externalDocs: m('ExternalDocs', 29),
      example: m('Any', 30),
      vendorExtension: rm('NamedAny', 31),
    },
  },
  AdditionalPropertiesItem: { fields: { schema: m('Schema', 1), boolean: b(2) }, oneofs: oneof('schema', 'boolean') },
  TypeItem: { fields: { value: rs(1) } },
  ItemsItem: { fields: { schema: rm('Schema', 1) } },
  Properties: { fields: { additionalProperties: rm('NamedSchema', 1) } },
  NamedSchema: { fields: { name: s(1), value: m('Schema', 2) } },
  Definitions: { fields: { additionalProperties: rm('NamedSchema', 1) } },
  ParameterDefinitions: { fields: { additionalProperties: rm('NamedParameter', 1) } },
  NamedParameter: { fields: { name: s(1), value: m('Parameter', 2) } },
  ResponseDefinitions: { fields: { additionalProperties: rm('NamedResponse', 1) } },
  NamedResponse: { fields: { name: s(1), value: m('Response', 2) } },
  SecurityRequirement: { fields: { additionalProperties: rm('NamedStringArray', 1) } },
  NamedStringArray: { fields: { name: s(1), value: m('StringArray', 2) } },
  StringArray: { fields: { value: rs(1) } },
  SecurityDefinitions: { fields: { additionalProperties: rm('NamedSecurityDefinitionsItem', 1) } },
  NamedSecurityDefinitionsItem: { fields: { name: s(1), value: m('SecurityDefinitionsItem', 2) } },
  SecurityDefinitionsItem: {
    fields: { basicAuthenticationSecurity: m('BasicAuthenticationSecurity', 1), apiKeySecurity: m('ApiKeySecurity', 2) },
    oneofs: oneof('basicAuthenticationSecurity', 'apiKeySecurity'),
  },
  BasicAuthenticationSecurity: { fields: { type: s(1), description: s(2), vendorExtension: rm('NamedAny', 3) } },
  ApiKeySecurity: { fields: { type: s(1), name: s(2), in: s(3), description: s(4), vendorExtension: rm('NamedAny', 5) } },
};

let root: protobuf.Root | undefined;

/** The protobufjs type of gnostic's openapi.v2.Document. */
export function documentType(): protobuf.Type {
  root ??= protobuf.Root.fromJSON({ nested: { openapi: { nested: { v2: { nested: MESSAGES } } } } });
  return root.lookupType('openapi.v2.Document');
}

const yamlMemo = new Map<string, string>();

function anyOf(value: unknown): Json {
  const key = JSON.stringify(value);
  let text = yamlMemo.get(key);
  if (text === undefined) {
    text = yamlStringify(value, { lineWidth: 0 });
    yamlMemo.set(key, text);
  }
  return { yaml: text };
}

function namedExtensions(obj: Json): Json[] {
  const out: Json[] = [];
  for (const [k, v] of Object.entries(obj)) if (k.startsWith('x-')) out.push({ name: k, value: anyOf(v) });
  return out;
}

function setIf(out: Json, key: string, value: unknown): void {
  if (value !== undefined) out[key] = value;
}

function schemaMsg(sch: Json): Json {
  const out: Json = {};
  setIf(out, '_ref', sch.$ref);
  setIf(out, 'format', sch.format);
  setIf(out, 'title', sch.title);
  setIf(out, 'description', sch.description);
  if (sch.default !== undefined) out.default = anyOf(sch.default);
  for (const k of ['multipleOf', 'maximum', 'minimum', 'maxLength', 'minLength', 'maxItems', 'minItems', 'maxProperties', 'minProperties'] as const) {
    setIf(out, k, sch[k]);
  }
  for (const k of ['exclusiveMaximum', 'exclusiveMinimum', 'uniqueItems', 'readOnly'] as const) setIf(out, k, sch[k]);
  setIf(out, 'pattern', sch.pattern);
  if (Array.isArray(sch.required)) out.required = sch.required;
  if (Array.isArray(sch.enum)) out.enum = sch.enum.map(anyOf);
  if (typeof sch.additionalProperties === 'boolean') out.additionalProperties = { boolean: sch.additionalProperties };
  else if (sch.additionalProperties) out.additionalProperties = { schema: schemaMsg(sch.additionalProperties as Json) };
  if (typeof sch.type === 'string') out.type = { value: [sch.type] };
  else if (Array.isArray(sch.type)) out.type = { value: sch.type };
  if (Array.isArray(sch.items)) out.items = { schema: (sch.items as Json[]).map(schemaMsg) };
  else if (sch.items) out.items = { schema: [schemaMsg(sch.items as Json)] };
  if (Array.isArray(sch.allOf)) out.allOf = (sch.allOf as Json[]).map(schemaMsg);
  if (sch.properties) {
    out.properties = {
      additionalProperties: Object.entries(sch.properties as Record<string, Json>).map(([name, v]) => ({ name, value: schemaMsg(v) })),
    };
  }
  if (sch.example !== undefined) out.example = anyOf(sch.example);
  const ext = namedExtensions(sch);
  if (ext.length) out.vendorExtension = ext;
  return out;
}

function parameterMsg(p: Json): Json {
  if (typeof p.$ref === 'string') return { jsonReference: { _ref: p.$ref } };
  if (p.in === 'body') {
    const body: Json = { name: p.name, in: 'body' };
    setIf(body, 'description', p.description);
    setIf(body, 'required', p.required);
    if (p.schema) body.schema = schemaMsg(p.schema as Json);
    return { parameter: { bodyParameter: body } };
  }
  const sub: Json = { name: p.name, in: p.in };
  setIf(sub, 'description', p.description);
  setIf(sub, 'required', p.required);
  setIf(sub, 'type', p.type);
  setIf(sub, 'format', p.format);
  setIf(sub, 'uniqueItems', p.uniqueItems);
  if (p.items) sub.items = { type: (p.items as Json).type };
  const ext = namedExtensions(p);
  if (ext.length) sub.vendorExtension = ext;
  const key =
    p.in === 'query'
      ? 'queryParameterSubSchema'
      : p.in === 'path'
        ? 'pathParameterSubSchema'
        : p.in === 'header'
          ? 'headerParameterSubSchema'
          : 'formDataParameterSubSchema';
  return { parameter: { nonBodyParameter: { [key]: sub } } };
}

function operationMsg(op: Json): Json {
  const out: Json = {};
  for (const k of ['tags', 'produces', 'consumes', 'schemes'] as const) if (Array.isArray(op[k])) out[k] = op[k];
  setIf(out, 'summary', op.summary);
  setIf(out, 'description', op.description);
  setIf(out, 'operationId', op.operationId);
  setIf(out, 'deprecated', op.deprecated);
  if (Array.isArray(op.parameters)) out.parameters = (op.parameters as Json[]).map(parameterMsg);
  if (op.responses) {
    out.responses = {
      responseCode: Object.entries(op.responses as Record<string, Json>).map(([name, r]) => {
        const resp: Json = { description: r.description ?? '' };
        if (r.schema) resp.schema = { schema: schemaMsg(r.schema as Json) };
        return { name, value: { response: resp } };
      }),
    };
  }
  const ext = namedExtensions(op);
  if (ext.length) out.vendorExtension = ext;
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

/** Converts a swagger 2.0 JSON document into the plain object of an openapi.v2.Document. */
export function documentMessage(doc: Json): Json {
  const out: Json = { swagger: doc.swagger };
  if (doc.info) {
    const info = doc.info as Json;
    out.info = { title: info.title, version: info.version };
    setIf(out.info as Json, 'description', info.description);
  }
  for (const k of ['host', 'basePath'] as const) setIf(out, k, doc[k]);
  for (const k of ['schemes', 'consumes', 'produces'] as const) if (Array.isArray(doc[k])) out[k] = doc[k];
  const paths: Json[] = [];
  for (const [name, item] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    const value: Json = {};
    for (const method of METHODS) if (item[method]) value[method] = operationMsg(item[method] as Json);
    if (Array.isArray(item.parameters)) value.parameters = (item.parameters as Json[]).map(parameterMsg);
    const ext = namedExtensions(item);
    if (ext.length) value.vendorExtension = ext;
    paths.push({ name, value });
  }
  out.paths = { path: paths };
  out.definitions = {
    additionalProperties: Object.entries((doc.definitions ?? {}) as Record<string, Json>).map(([name, v]) => ({ name, value: schemaMsg(v) })),
  };
  if (Array.isArray(doc.security)) {
    out.security = (doc.security as Record<string, string[]>[]).map((req) => ({
      additionalProperties: Object.entries(req).map(([name, scopes]) => ({ name, value: { value: scopes } })),
    }));
  }
  if (doc.securityDefinitions) {
    out.securityDefinitions = {
      additionalProperties: Object.entries(doc.securityDefinitions as Record<string, Json>).map(([name, def]) => {
        const value: Json =
          def.type === 'basic'
            ? { basicAuthenticationSecurity: { type: 'basic', description: def.description } }
            : { apiKeySecurity: { type: def.type, name: def.name, in: def.in, description: def.description } };
        return { name, value };
      }),
    };
  }
  const ext = namedExtensions(doc);
  if (ext.length) out.vendorExtension = ext;
  return out;
}

/** Encodes a swagger 2.0 JSON document as gnostic protobuf. */
export function encodeDocument(doc: Json): Buffer {
  // documentMessage builds exactly the message shape, so it is encoded without fromObject.
  return Buffer.from(documentType().encode(documentMessage(doc)).finish());
}

/** Decodes gnostic protobuf into a plain object (field names as in MESSAGES). */
export function decodeDocument(bytes: Uint8Array): Json {
  const type = documentType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as Json;
}
