// The message table behind the protobuf codec, parsed from a compact notation.
//
// Notation (see messages-*.ts):
//   @pkg                 following messages belong to package `pkg` (meta, core, apps…)
//   MessageName          starts a message
//     <num> <json> <type><flags>
// <type> is a scalar (string bytes int32 int64 bool double float), a special
// (Time MicroTime Quantity IntOrString FieldsV1 RawExtension StringList), a
// message of the same package (`PodSpec`) or of another (`meta.ObjectMeta`);
// a `[]` prefix makes it repeated, a `{}` prefix a map with string keys.
// Flags describe the Go field, because the JSON form depends on it:
//   ?  pointer: present on the wire exactly when set, and then always in JSON
//   !  no `omitempty`: always in JSON (zero value, or null for empty lists/maps
//      and for unset pointers: `?!`)
//   ^  embedded inline (json name `-`): its fields appear in the parent object
// Without flags a scalar/list/map is `omitempty` (left out of JSON when zero/empty);
// a non-pointer sub-message is always present in JSON (Go never omits structs).

import { CORE_MESSAGES } from './messages-core.js';
import { GROUP_MESSAGES } from './messages-groups.js';

export type ScalarType = 'string' | 'bytes' | 'int32' | 'int64' | 'bool' | 'double' | 'float';
export type SpecialType = 'Time' | 'MicroTime' | 'Quantity' | 'IntOrString' | 'FieldsV1' | 'RawExtension' | 'StringList';

const SCALARS: ReadonlySet<string> = new Set<ScalarType>(['string', 'bytes', 'int32', 'int64', 'bool', 'double', 'float']);
const SPECIALS: ReadonlySet<string> = new Set<SpecialType>(['Time', 'MicroTime', 'Quantity', 'IntOrString', 'FieldsV1', 'RawExtension', 'StringList']);

export interface FieldDef {
  num: number;
  /** JSON name; '' for an inline field */
  json: string;
  /** scalar, special, or fully qualified message name (`core.PodSpec`) */
  type: string;
  kind: 'scalar' | 'special' | 'message';
  repeated: boolean;
  map: boolean;
  pointer: boolean;
  /** no omitempty */
  always: boolean;
  inline: boolean;
  /** resolved message definition for kind === 'message' */
  msg?: MessageDef;
}

export interface MessageDef {
  name: string;
  /** fields in Go struct order (the JSON order) */
  fields: FieldDef[];
  /** fields in field-number order (the wire order) */
  byNumber: FieldDef[];
  lookup: Map<number, FieldDef>;
}

const FIELD_RE = /^(\d+) (\S+) (\[\]|\{\})?([A-Za-z0-9_.]+)([?!^]*)$/;

export function parseSchema(text: string, into: Map<string, MessageDef> = new Map()): Map<string, MessageDef> {
  let pkg = '';
  let cur: MessageDef | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const t = line.trim();
    if (!t) continue;
    if (t.startsWith('@')) {
      pkg = t.slice(1);
      cur = undefined;
      continue;
    }
    if (!line.startsWith(' ')) {
      if (!pkg) throw new Error(`schema line ${i + 1}: message before any @package`);
      const name = `${pkg}.${t}`;
      if (into.has(name)) throw new Error(`schema: duplicate message ${name}`);
      cur = { name, fields: [], byNumber: [], lookup: new Map() };
      into.set(name, cur);
      continue;
    }
    if (!cur) throw new Error(`schema line ${i + 1}: field outside a message`);
    const m = FIELD_RE.exec(t);
    if (!m) throw new Error(`schema line ${i + 1}: cannot parse ${JSON.stringify(t)}`);
    const [, num, json, container, typeName, flags] = m;
    let type = typeName;
    let kind: FieldDef['kind'];
    if (SCALARS.has(type)) kind = 'scalar';
    else if (SPECIALS.has(type)) kind = 'special';
    else {
      kind = 'message';
      if (!type.includes('.')) type = `${pkg}.${type}`;
    }
    const f: FieldDef = {
      num: Number(num),
      json: json === '-' ? '' : json,
      type,
      kind,
      repeated: container === '[]',
      map: container === '{}',
      pointer: flags.includes('?'),
      always: flags.includes('!'),
      inline: flags.includes('^'),
    };
    if (f.inline && (kind !== 'message' || f.repeated || f.map)) throw new Error(`schema: ${cur.name}.${f.num} inline must be a single message`);
    if (cur.lookup.has(f.num)) throw new Error(`schema: ${cur.name} repeats field number ${f.num}`);
    cur.fields.push(f);
    cur.lookup.set(f.num, f);
  }
  return into;
}

/** Resolve message references and sort wire order; throws on a dangling reference. */
export function linkSchema(messages: Map<string, MessageDef>): void {
  for (const m of messages.values()) {
    for (const f of m.fields) {
      if (f.kind !== 'message') continue;
      const target = messages.get(f.type);
      if (!target) throw new Error(`schema: ${m.name}.${f.json || f.num} refers to unknown message ${f.type}`);
      f.msg = target;
    }
    m.byNumber = [...m.fields].sort((a, b) => a.num - b.num);
  }
}

/** Add `<pkg>.<Kind>List` {1 metadata ListMeta, 2 items []Kind!}, the shape every Kubernetes list has. */
export function addListMessage(messages: Map<string, MessageDef>, itemMessage: string): string {
  const name = `${itemMessage}List`;
  if (messages.has(name)) return name;
  const dot = itemMessage.indexOf('.');
  parseSchema(`@${itemMessage.slice(0, dot)}\n${itemMessage.slice(dot + 1)}List\n  1 metadata meta.ListMeta\n  2 items []${itemMessage}!\n`, messages);
  return name;
}

export const MESSAGES: Map<string, MessageDef> = (() => {
  const m = parseSchema(GROUP_MESSAGES);
  parseSchema(CORE_MESSAGES, m);
  return m;
})();
