// Schema-driven conversion between protobuf messages and the JSON objects the
// Kubernetes API carries. The JSON side follows Go's encoding/json over the API
// structs: pointers appear when set, `omitempty` scalars/lists/maps disappear
// when zero/empty, non-`omitempty` lists/maps are `null` when empty, structs are
// always present. The protobuf side follows the Kubernetes generated marshalers:
// ascending field numbers, non-pointer scalars and structs always written,
// pointers only when set, map entries sorted by key, repeated scalars unpacked.

import type { FieldDef, MessageDef } from './schema.js';
import { readFields, toInt32, toInt64, utf8, fixedToDouble, fixedToFloat, Writer, WireError, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, Reader, type RawField } from './wire.js';

export type JsonObject = Record<string, unknown>;

/** A failure to convert, with the JSON path of the field involved. */
export class CodecError extends Error {}

/** Hook for RawExtension payloads that are themselves `k8s\0` protobuf objects. */
export interface CodecHooks {
  decodeEmbedded?(raw: Uint8Array): unknown;
}

const EMPTY = new Uint8Array(0);

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromB64(s: unknown, path: string): Uint8Array {
  if (typeof s !== 'string') throw new CodecError(`${path}: expected a base64 string`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function expectWire(f: RawField, wire: number, path: string): void {
  if (f.wire !== wire) throw new WireError(`${path}: wire type ${f.wire}, expected ${wire}`);
}

// ---------------------------------------------------------------- time

function formatSeconds(seconds: number, path: string): Date {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new WireError(`${path}: timestamp out of range`);
  return d;
}

/** metav1.Time: RFC 3339 in UTC, whole seconds. */
function timeString(seconds: number, path: string): string {
  return formatSeconds(seconds, path).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime: RFC 3339 in UTC with six fractional digits. */
function microTimeString(seconds: number, nanos: number, path: string): string {
  const base = formatSeconds(seconds, path).toISOString().replace(/\.\d{3}Z$/, '');
  const micros = Math.floor(nanos / 1000);
  return `${base}.${String(micros).padStart(6, '0')}Z`;
}

function parseTime(v: unknown, path: string): { seconds: number; nanos: number } {
  if (typeof v !== 'string') throw new CodecError(`${path}: expected an RFC 3339 time string`);
  const m = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(v);
  if (!m) throw new CodecError(`${path}: cannot parse time ${JSON.stringify(v)}`);
  const ms = Date.parse(`${m[1]}T${m[2]}${m[4].toUpperCase()}`);
  if (Number.isNaN(ms)) throw new CodecError(`${path}: cannot parse time ${JSON.stringify(v)}`);
  const frac = (m[3] ?? '').slice(0, 9).padEnd(9, '0');
  return { seconds: Math.floor(ms / 1000), nanos: Number(frac) };
}

function readTimestamp(bytes: Uint8Array, path: string): { seconds: number; nanos: number } {
  let seconds = 0;
  let nanos = 0;
  for (const f of readFields(bytes)) {
    if (f.num === 1) {
      expectWire(f, WIRE_VARINT, path);
      seconds = toInt64(f.int!);
    } else if (f.num === 2) {
      expectWire(f, WIRE_VARINT, path);
      nanos = toInt32(f.int!);
    }
  }
  return { seconds, nanos };
}

function writeTimestamp(seconds: number, nanos: number): Uint8Array {
  const w = new Writer();
  w.varintField(1, seconds);
  w.varintField(2, nanos);
  return w.finish();
}

// ---------------------------------------------------------------- decoding

function decodeScalar(type: string, f: RawField, path: string): unknown {
  switch (type) {
    case 'string':
      expectWire(f, WIRE_BYTES, path);
      return utf8(f.bytes!);
    case 'bytes':
      expectWire(f, WIRE_BYTES, path);
      return b64(f.bytes!);
    case 'int32':
      expectWire(f, WIRE_VARINT, path);
      return toInt32(f.int!);
    case 'int64':
      expectWire(f, WIRE_VARINT, path);
      return toInt64(f.int!);
    case 'bool':
      expectWire(f, WIRE_VARINT, path);
      return f.int !== 0 && f.int !== 0n;
    case 'double':
      expectWire(f, WIRE_FIXED64, path);
      return fixedToDouble(f.int as bigint);
    case 'float':
      expectWire(f, WIRE_FIXED32, path);
      return fixedToFloat(f.int as bigint);
    default:
      throw new CodecError(`${path}: unknown scalar type ${type}`);
  }
}

function scalarZero(type: string): unknown {
  switch (type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return null; // a nil []byte
    default:
      return 0;
  }
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false || v === null || v === undefined;
}

/** Packed repeated varints (accepted though Kubernetes writes them unpacked). */
function unpack(type: string, f: RawField, path: string): unknown[] {
  const out: unknown[] = [];
  const r = new Reader(f.bytes!);
  while (!r.done) {
    if (type === 'double') out.push(fixedToDouble(r.fixed(8)));
    else if (type === 'float') out.push(fixedToFloat(r.fixed(4)));
    else out.push(decodeScalar(type, { num: f.num, wire: WIRE_VARINT, int: r.varint() }, path));
  }
  return out;
}

/** A special (well-known Kubernetes) type from its message bytes; `undefined` bytes = absent. */
function decodeSpecial(type: string, bytes: Uint8Array | undefined, path: string, hooks: CodecHooks): unknown {
  switch (type) {
    case 'Time': {
      if (!bytes || bytes.length === 0) return null;
      return timeString(readTimestamp(bytes, path).seconds, path);
    }
    case 'MicroTime': {
      if (!bytes || bytes.length === 0) return null;
      const t = readTimestamp(bytes, path);
      return microTimeString(t.seconds, t.nanos, path);
    }
    case 'Quantity': {
      let s = '';
      for (const f of readFields(bytes ?? EMPTY)) if (f.num === 1) s = decodeScalar('string', f, path) as string;
      return s === '' ? '0' : s;
    }
    case 'IntOrString': {
      let kind = 0;
      let intVal = 0;
      let strVal = '';
      for (const f of readFields(bytes ?? EMPTY)) {
        if (f.num === 1) kind = decodeScalar('int64', f, path) as number;
        else if (f.num === 2) intVal = decodeScalar('int32', f, path) as number;
        else if (f.num === 3) strVal = decodeScalar('string', f, path) as string;
      }
      return kind === 1 ? strVal : intVal;
    }
    case 'FieldsV1':
    case 'RawExtension': {
      let raw: Uint8Array | undefined;
      for (const f of readFields(bytes ?? EMPTY)) {
        if (f.num === 1) {
          expectWire(f, WIRE_BYTES, path);
          raw = f.bytes;
        }
      }
      if (!raw) return null;
      if (raw.length >= 4 && raw[0] === 0x6b && raw[1] === 0x38 && raw[2] === 0x73 && raw[3] === 0 && hooks.decodeEmbedded) return hooks.decodeEmbedded(raw);
      const text = utf8(raw);
      try {
        return JSON.parse(text);
      } catch {
        throw new WireError(`${path}: embedded raw data is not JSON`);
      }
    }
    case 'StringList': {
      const items: string[] = [];
      // (Go would decode an empty one to a nil slice, but a JSON client sent `[]`.)
      for (const f of readFields(bytes ?? EMPTY)) if (f.num === 1) items.push(decodeScalar('string', f, path) as string);
      return items;
    }
    default:
      throw new CodecError(`${path}: unknown special type ${type}`);
  }
}

/** Decode one value (not a list) of the field's element type from one occurrence. */
function decodeElement(fd: FieldDef, f: RawField, path: string, hooks: CodecHooks): unknown {
  if (fd.kind === 'scalar') return decodeScalar(fd.type, f, path);
  expectWire(f, WIRE_BYTES, path);
  if (fd.kind === 'special') return decodeSpecial(fd.type, f.bytes, path, hooks);
  return decodeMessage(fd.msg!, f.bytes!, path, hooks);
}

function decodeMapEntry(fd: FieldDef, entry: RawField, path: string, hooks: CodecHooks): [string, unknown] {
  expectWire(entry, WIRE_BYTES, path);
  let key = '';
  let value: RawField | undefined;
  for (const f of readFields(entry.bytes!)) {
    if (f.num === 1) key = decodeScalar('string', f, path) as string;
    else if (f.num === 2) value = f;
  }
  const vpath = `${path}[${JSON.stringify(key)}]`;
  if (!value) {
    if (fd.kind === 'scalar') return [key, scalarZero(fd.type)];
    if (fd.kind === 'special') return [key, decodeSpecial(fd.type, undefined, vpath, hooks)];
    return [key, decodeMessage(fd.msg!, EMPTY, vpath, hooks)];
  }
  return [key, decodeElement(fd, value, vpath, hooks)];
}

export function decodeMessage(def: MessageDef, bytes: Uint8Array, path: string, hooks: CodecHooks = {}): JsonObject {
  const byNum = new Map<number, RawField[]>();
  for (const f of readFields(bytes)) {
    const list = byNum.get(f.num);
    if (list) list.push(f);
    else byNum.set(f.num, [f]);
  }
  const out: JsonObject = {};
  for (const fd of def.fields) {
    const occ = byNum.get(fd.num) ?? [];
    const fpath = fd.json ? (path ? `${path}.${fd.json}` : fd.json) : path;
    if (fd.inline) {
      for (const f of occ) expectWire(f, WIRE_BYTES, fpath);
      Object.assign(out, decodeMessage(fd.msg!, concat(occ.map((f) => f.bytes!)), fpath, hooks));
      continue;
    }
    if (fd.map) {
      const entries = occ.map((f) => decodeMapEntry(fd, f, fpath, hooks));
      if (entries.length === 0) {
        if (fd.always) out[fd.json] = null;
        continue;
      }
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const obj: JsonObject = {};
      for (const [k, v] of entries) obj[k] = v; // the last duplicate wins, as in Go
      out[fd.json] = obj;
      continue;
    }
    if (fd.repeated) {
      const items: unknown[] = [];
      occ.forEach((f, i) => {
        if (fd.kind === 'scalar' && fd.type !== 'string' && fd.type !== 'bytes' && f.wire === WIRE_BYTES) items.push(...unpack(fd.type, f, fpath));
        else items.push(decodeElement(fd, f, `${fpath}[${i}]`, hooks));
      });
      if (items.length === 0) {
        if (fd.always) out[fd.json] = null;
        continue;
      }
      out[fd.json] = items;
      continue;
    }
    const present = occ.length > 0;
    if (fd.kind === 'scalar') {
      if (!present) {
        // A nil pointer without omitempty is `null`; a plain field without it is its zero value.
        if (fd.always) out[fd.json] = fd.pointer ? null : scalarZero(fd.type);
        continue;
      }
      const v = decodeScalar(fd.type, occ[occ.length - 1], fpath);
      if (fd.pointer || fd.always || !isZero(v)) out[fd.json] = v;
      continue;
    }
    if (fd.pointer && !present) {
      if (fd.always) out[fd.json] = null;
      continue;
    }
    for (const f of occ) expectWire(f, WIRE_BYTES, fpath);
    // Repeated occurrences of a sub-message merge, which is what decoding their concatenation does.
    const merged = present ? concat(occ.map((f) => f.bytes!)) : undefined;
    out[fd.json] = fd.kind === 'special' ? decodeSpecial(fd.type, merged, fpath, hooks) : decodeMessage(fd.msg!, merged ?? EMPTY, fpath, hooks);
  }
  return out;
}

// ---------------------------------------------------------------- encoding

function asInteger(v: unknown, path: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new CodecError(`${path}: expected an integer, got ${JSON.stringify(v)}`);
}

function writeScalar(w: Writer, type: string, num: number, v: unknown, path: string): void {
  switch (type) {
    case 'string':
      if (typeof v !== 'string') throw new CodecError(`${path}: expected a string, got ${JSON.stringify(v)}`);
      w.stringField(num, v);
      return;
    case 'bytes':
      w.bytesField(num, fromB64(v, path));
      return;
    case 'int32': {
      const n = asInteger(v, path);
      if (n < -0x8000_0000 || n > 0x7fff_ffff) throw new CodecError(`${path}: ${n} does not fit in int32`);
      w.varintField(num, n);
      return;
    }
    case 'int64':
      w.varintField(num, asInteger(v, path));
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new CodecError(`${path}: expected a boolean, got ${JSON.stringify(v)}`);
      w.varintField(num, v ? 1 : 0);
      return;
    case 'double':
      if (typeof v !== 'number') throw new CodecError(`${path}: expected a number`);
      w.double(num, v);
      return;
    case 'float':
      if (typeof v !== 'number') throw new CodecError(`${path}: expected a number`);
      w.float(num, v);
      return;
    default:
      throw new CodecError(`${path}: unknown scalar type ${type}`);
  }
}

/** The message bytes of a special type; `v` may be null/undefined for the Go zero value. */
function encodeSpecial(type: string, v: unknown, path: string): Uint8Array {
  switch (type) {
    case 'Time': {
      if (v === null || v === undefined) return EMPTY;
      return writeTimestamp(parseTime(v, path).seconds, 0);
    }
    case 'MicroTime': {
      if (v === null || v === undefined) return EMPTY;
      const t = parseTime(v, path);
      return writeTimestamp(t.seconds, Math.floor(t.nanos / 1000) * 1000);
    }
    case 'Quantity': {
      const w = new Writer();
      let s: string;
      if (v === null || v === undefined) s = '0';
      else if (typeof v === 'string') s = v;
      else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
      else throw new CodecError(`${path}: expected a quantity, got ${JSON.stringify(v)}`);
      w.stringField(1, s);
      return w.finish();
    }
    case 'IntOrString': {
      const w = new Writer();
      if (typeof v === 'string') {
        w.varintField(1, 1);
        w.varintField(2, 0);
        w.stringField(3, v);
      } else {
        const n = v === null || v === undefined ? 0 : asInteger(v, path);
        w.varintField(1, 0);
        w.varintField(2, n);
        w.stringField(3, '');
      }
      return w.finish();
    }
    case 'FieldsV1':
    case 'RawExtension': {
      const w = new Writer();
      if (v !== null && v !== undefined) w.bytesField(1, new TextEncoder().encode(JSON.stringify(v)));
      return w.finish();
    }
    case 'StringList': {
      const w = new Writer();
      if (v !== null && v !== undefined) {
        if (!Array.isArray(v)) throw new CodecError(`${path}: expected a list of strings`);
        v.forEach((s, i) => writeScalar(w, 'string', 1, s, `${path}[${i}]`));
      }
      return w.finish();
    }
    default:
      throw new CodecError(`${path}: unknown special type ${type}`);
  }
}

function asObject(v: unknown, path: string): JsonObject {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new CodecError(`${path}: expected an object`);
  return v as JsonObject;
}

function encodeElement(w: Writer, fd: FieldDef, num: number, v: unknown, path: string): void {
  if (fd.kind === 'scalar') writeScalar(w, fd.type, num, v, path);
  else if (fd.kind === 'special') w.bytesField(num, encodeSpecial(fd.type, v, path));
  else w.bytesField(num, encodeMessage(fd.msg!, asObject(v, path), path));
}

export function encodeMessage(def: MessageDef, obj: JsonObject, path = ''): Uint8Array {
  const w = new Writer();
  for (const fd of def.byNumber) {
    const fpath = fd.json ? (path ? `${path}.${fd.json}` : fd.json) : path;
    if (fd.inline) {
      w.bytesField(fd.num, encodeMessage(fd.msg!, obj, fpath));
      continue;
    }
    const v = obj[fd.json];
    if (fd.map) {
      if (v === null || v === undefined) continue;
      const m = asObject(v, fpath);
      for (const key of Object.keys(m).sort()) {
        const val = m[key];
        const e = new Writer();
        e.stringField(1, key);
        const vpath = `${fpath}[${JSON.stringify(key)}]`;
        if (fd.kind === 'scalar') {
          if (val !== null && val !== undefined) writeScalar(e, fd.type, 2, val, vpath);
          else if (fd.type !== 'bytes') writeScalar(e, fd.type, 2, scalarZero(fd.type), vpath);
        } else encodeElement(e, fd, 2, val, vpath);
        w.bytesField(fd.num, e.finish());
      }
      continue;
    }
    if (fd.repeated) {
      if (v === null || v === undefined) continue;
      if (!Array.isArray(v)) throw new CodecError(`${fpath}: expected a list`);
      v.forEach((item, i) => encodeElement(w, fd, fd.num, item, `${fpath}[${i}]`));
      continue;
    }
    if (fd.kind === 'scalar') {
      if (v === null || v === undefined) {
        // Go writes non-pointer scalars even when zero; a nil []byte is skipped.
        if (!fd.pointer && fd.type !== 'bytes') writeScalar(w, fd.type, fd.num, scalarZero(fd.type), fpath);
        continue;
      }
      writeScalar(w, fd.type, fd.num, v, fpath);
      continue;
    }
    if (fd.pointer && (v === null || v === undefined)) continue;
    if (fd.kind === 'special') w.bytesField(fd.num, encodeSpecial(fd.type, v, fpath));
    else w.bytesField(fd.num, encodeMessage(fd.msg!, asObject(v, fpath), fpath));
  }
  return w.finish();
}
