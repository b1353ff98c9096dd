// Protocol-buffer wire format, the small part Kubernetes uses: varints (int32,
// int64, bool), length-delimited fields (strings, bytes, sub-messages, map
// entries, packed scalars) and the two fixed widths (double, float).
// Written for this project; no generated code involved.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

/** Thrown for bytes that are not a well-formed protobuf message. */
export class WireError extends Error {}

const TWO_32 = 0x1_0000_0000;

/** One field occurrence as read off the wire, before any schema is applied. */
export interface RawField {
  num: number;
  wire: number;
  /** varint value (as bigint when it does not fit 53 bits), or fixed bits as bigint */
  int?: number | bigint;
  /** payload of a length-delimited field */
  bytes?: Uint8Array;
}

export class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as an unsigned value: number when it fits in 53 bits, else bigint. */
  varint(): number | bigint {
    let lo = 0; // the low 49 bits, accumulated exactly
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('unexpected end of data in varint');
      const b = this.buf[this.pos++];
      if (i < 7) {
        lo += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) return lo;
      } else {
        // Past 49 bits: redo the whole thing with bigint (rare: negative or huge numbers).
        return this.bigVarintFrom(this.pos - i - 1);
      }
    }
    throw new WireError('varint longer than 10 bytes');
  }

  private bigVarintFrom(start: number): bigint {
    this.pos = start;
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('unexpected end of data in varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (b < 0x80) return BigInt.asUintN(64, v);
    }
    throw new WireError('varint longer than 10 bytes');
  }

  fixed(width: 4 | 8): bigint {
    if (this.pos + width > this.end) throw new WireError('unexpected end of data in fixed-width field');
    let v = 0n;
    for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.buf[this.pos + i]);
    this.pos += width;
    return v;
  }

  lengthDelimited(): Uint8Array {
    const n = this.varint();
    if (typeof n !== 'number' || n > this.end - this.pos) throw new WireError('length-delimited field runs past the end of its message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next field, or throws on malformed input. Groups (wire types 3/4) are rejected. */
  field(): RawField {
    const key = this.varint();
    if (typeof key !== 'number') throw new WireError('field key out of range');
    const num = Math.floor(key / 8);
    const wire = key % 8;
    if (num === 0) throw new WireError('field number 0 is invalid');
    switch (wire) {
      case WIRE_VARINT:
        return { num, wire, int: this.varint() };
      case WIRE_FIXED64:
        return { num, wire, int: this.fixed(8) };
      case WIRE_BYTES:
        return { num, wire, bytes: this.lengthDelimited() };
      case WIRE_FIXED32:
        return { num, wire, int: this.fixed(4) };
      default:
        throw new WireError(`unsupported wire type ${wire} for field ${num}`);
    }
  }
}

/** Read every field of a message body, in wire order. */
export function readFields(buf: Uint8Array): RawField[] {
  const r = new Reader(buf);
  const out: RawField[] = [];
  while (!r.done) out.push(r.field());
  return out;
}

/** Interpret an unsigned varint as a signed 64-bit number (JSON number). */
export function toInt64(v: number | bigint): number {
  if (typeof v === 'number') return v;
  return Number(BigInt.asIntN(64, v));
}

/** Interpret an unsigned varint as a signed 32-bit number (truncating like Go's int32 conversion). */
export function toInt32(v: number | bigint): number {
  if (typeof v === 'number') return v < TWO_32 ? v | 0 : Number(BigInt.asIntN(32, BigInt(v)));
  return Number(BigInt.asIntN(32, v));
}

const textDecoder = new TextDecoder('utf-8');
const textEncoder = new TextEncoder();

export function utf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

export class Writer {
  private chunks: Uint8Array[] = [];
  private cur: number[] = [];
  private size = 0;

  private flushCur(): void {
    if (this.cur.length) {
      this.chunks.push(Uint8Array.from(this.cur));
      this.cur = [];
    }
  }

  private byte(b: number): void {
    this.cur.push(b);
    this.size++;
  }

  /** An unsigned varint of a non-negative safe integer or a bigint (taken modulo 2^64). */
  uvarint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      while (v >= 0x80) {
        this.byte((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.byte(v);
      return;
    }
    let b = BigInt.asUintN(64, BigInt(v));
    while (b >= 0x80n) {
      this.byte(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    this.byte(Number(b));
  }

  /** A signed integer as protobuf int32/int64 does it: negatives take ten bytes. */
  svarint(v: number): void {
    if (!Number.isInteger(v)) throw new RangeError(`not an integer: ${v}`);
    if (v >= 0) this.uvarint(v);
    else this.uvarint(BigInt.asUintN(64, BigInt(v)));
  }

  key(num: number, wire: number): void {
    this.uvarint(num * 8 + wire);
  }

  raw(bytes: Uint8Array): void {
    this.flushCur();
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  bytesField(num: number, bytes: Uint8Array): void {
    this.key(num, WIRE_BYTES);
    this.uvarint(bytes.length);
    this.raw(bytes);
  }

  stringField(num: number, s: string): void {
    this.bytesField(num, textEncoder.encode(s));
  }

  varintField(num: number, v: number): void {
    this.key(num, WIRE_VARINT);
    this.svarint(v);
  }

  double(num: number, v: number): void {
    this.key(num, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.raw(b);
  }

  float(num: number, v: number): void {
    this.key(num, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.raw(b);
  }

  finish(): Uint8Array {
    this.flushCur();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

export function fixedToDouble(bits: bigint): number {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, bits, true);
  return new DataView(b.buffer).getFloat64(0, true);
}

export function fixedToFloat(bits: bigint): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, Number(bits), true);
  return new DataView(b.buffer).getFloat32(0, true);
}
