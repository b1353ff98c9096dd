// The bytes the recorder hands its worker thread: store events as they came (the
// stored JSON, not decoded or re-serialised on the request thread), who wrote each
// revision, and gaps. Frames are packed into one reused buffer; a batch's bytes are
// sliced off it once and that memory is transferred to the worker, not cloned.
//
//   event:       u8 kind (1 put, 2 delete) | f64 revision | f64 time | u32 key | u32 value | u32 prev (NONE: absent) | key | value | prev
//   attribution: u8 3 | f64 revision | u32 user | u32 fieldManager | u32 userAgent | user | fieldManager | userAgent
//   gap:         u8 4 | f64 from | f64 to | f64 time | u32 count

export const enum FrameKind {
  Put = 1,
  Delete = 2,
  Attribution = 3,
  Gap = 4,
}

const NONE = 0xffffffff;
const EVENT_HEADER = 1 + 8 + 8 + 4 * 3;
const ATTRIBUTION_HEADER = 1 + 8 + 4 * 3;
const GAP_SIZE = 1 + 8 * 3 + 4;
/** A batch's buffer; a larger frame gets one of its own. */
const BATCH_BYTES = 1024 * 1024;

export interface EventFrame {
  kind: FrameKind.Put | FrameKind.Delete;
  revision: number;
  time: number;
  key: string;
  value?: Buffer;
  prev?: Buffer;
  /** Bytes the frame took, returned to the queue bound when it is written. */
  size: number;
}

export interface AttributionFrame {
  kind: FrameKind.Attribution;
  revision: number;
  user: string;
  fieldManager: string;
  userAgent: string;
  size: number;
}

export interface GapFrame {
  kind: FrameKind.Gap;
  from: number;
  to: number;
  time: number;
  count: number;
  size: number;
}

export type Frame = EventFrame | AttributionFrame | GapFrame;

/** Appends frames to a buffer that `take` hands over whole. */
export class FrameWriter {
  private buf: Buffer = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private used = 0;

  get length(): number {
    return this.used;
  }

  /** The frames so far, in memory of their own (transferable); the writer starts afresh. */
  take(): ArrayBuffer | undefined {
    if (this.used === 0) return undefined;
    const out = this.buf.buffer.slice(this.buf.byteOffset, this.buf.byteOffset + this.used) as ArrayBuffer;
    this.used = 0;
    return out;
  }

  private room(n: number, flush: (buf: ArrayBuffer) => void): void {
    if (this.used + n <= this.buf.length) return;
    const full = this.take();
    if (full) flush(full);
    if (n > this.buf.length) this.buf = Buffer.allocUnsafeSlow(n);
  }

  /** Returns the frame's size. `flush` receives a full batch when this frame does not fit. */
  event(kind: FrameKind.Put | FrameKind.Delete, revision: number, time: number, key: string, value: Buffer | undefined, prev: Buffer | undefined, flush: (buf: ArrayBuffer) => void): number {
    const keyLen = Buffer.byteLength(key);
    const size = EVENT_HEADER + keyLen + (value?.length ?? 0) + (prev?.length ?? 0);
    this.room(size, flush);
    const b = this.buf;
    let o = this.used;
    o = b.writeUInt8(kind, o);
    o = b.writeDoubleLE(revision, o);
    o = b.writeDoubleLE(time, o);
    o = b.writeUInt32LE(keyLen, o);
    o = b.writeUInt32LE(value ? value.length : NONE, o);
    o = b.writeUInt32LE(prev ? prev.length : NONE, o);
    o += b.write(key, o);
    if (value) o += value.copy(b, o);
    if (prev) o += prev.copy(b, o);
    this.used = o;
    return size;
  }

  attribution(revision: number, user: string, fieldManager: string, userAgent: string, flush: (buf: ArrayBuffer) => void): number {
    const lens = [Buffer.byteLength(user), Buffer.byteLength(fieldManager), Buffer.byteLength(userAgent)];
    const size = ATTRIBUTION_HEADER + lens[0] + lens[1] + lens[2];
    this.room(size, flush);
    const b = this.buf;
    let o = this.used;
    o = b.writeUInt8(FrameKind.Attribution, o);
    o = b.writeDoubleLE(revision, o);
    for (const n of lens) o = b.writeUInt32LE(n, o);
    o += b.write(user, o);
    o += b.write(fieldManager, o);
    o += b.write(userAgent, o);
    this.used = o;
    return size;
  }

  gap(from: number, to: number, time: number, count: number, flush: (buf: ArrayBuffer) => void): number {
    this.room(GAP_SIZE, flush);
    const b = this.buf;
    let o = this.used;
    o = b.writeUInt8(FrameKind.Gap, o);
    o = b.writeDoubleLE(from, o);
    o = b.writeDoubleLE(to, o);
    o = b.writeDoubleLE(time, o);
    o = b.writeUInt32LE(count, o);
    this.used = o;
    return GAP_SIZE;
  }
}

/** The frames of one batch; values are views of `buf`, not copies. */
export function readFrames(buf: ArrayBuffer): Frame[] {
  const b = Buffer.from(buf);
  const out: Frame[] = [];
  let o = 0;
  while (o < b.length) {
    const start = o;
    const kind = b.readUInt8(o) as FrameKind;
    o += 1;
    if (kind === FrameKind.Put || kind === FrameKind.Delete) {
      const revision = b.readDoubleLE(o);
      const time = b.readDoubleLE(o + 8);
      const keyLen = b.readUInt32LE(o + 16);
      const valueLen = b.readUInt32LE(o + 20);
      const prevLen = b.readUInt32LE(o + 24);
      o += 28;
      const key = b.toString('utf8', o, o + keyLen);
      o += keyLen;
      let value: Buffer | undefined;
      let prev: Buffer | undefined;
      if (valueLen !== NONE) {
        value = b.subarray(o, o + valueLen);
        o += valueLen;
      }
      if (prevLen !== NONE) {
        prev = b.subarray(o, o + prevLen);
        o += prevLen;
      }
      out.push({ kind, revision, time, key, value, prev, size: o - start });
    } else if (kind === FrameKind.Attribution) {
      const revision = b.readDoubleLE(o);
      const lens = [b.readUInt32LE(o + 8), b.readUInt32LE(o + 12), b.readUInt32LE(o + 16)];
      o += 20;
      const strs = lens.map((n) => {
        const s = b.toString('utf8', o, o + n);
        o += n;
        return s;
      });
      out.push({ kind, revision, user: strs[0], fieldManager: strs[1], userAgent: strs[2], size: o - start });
    } else if (kind === FrameKind.Gap) {
      out.push({ kind, from: b.readDoubleLE(o), to: b.readDoubleLE(o + 8), time: b.readDoubleLE(o + 16), count: b.readUInt32LE(o + 24), size: GAP_SIZE });
      o += 28;
    } else {
      throw new Error(`history frame of unknown kind ${kind as number} at ${start}`);
    }
  }
  return out;
}
