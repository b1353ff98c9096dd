// The bytes the recorder hands its worker thread: store events as they came (the
// stored JSON, not decoded or re-serialised on the request thread), who wrote each
// revision, and gaps. Frames are packed into a batch buffer whose memory is then
// transferred to the worker whole (neither copied nor cloned); the writer starts a new
// one, sized to what recent batches used.
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
/** The largest batch buffer; a larger frame gets one of its own. */
const MAX_BATCH_BYTES = 1024 * 1024;
/** The smallest batch buffer (what an idle recorder holds). */
const MIN_BATCH_BYTES = 16 * 1024;

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

/** A batch handed over: its buffer (transferable) and how many bytes of it are frames. */
export interface Batch {
  buf: ArrayBuffer;
  length: number;
}

/** Appends frames to a buffer that `take` hands over whole. */
export class FrameWriter {
  private buf: Buffer = Buffer.allocUnsafeSlow(MIN_BATCH_BYTES);
  private used = 0;

  get length(): number {
    return this.used;
  }

  /**
   * The frames so far (their buffer moves to the receiver: no copy); the writer starts a
   * buffer of twice this batch's size, so a steady stream rarely overflows one.
   */
  take(): Batch | undefined {
    if (this.used === 0) return undefined;
    const out = { buf: this.buf.buffer as ArrayBuffer, length: this.used };
    this.buf = Buffer.allocUnsafeSlow(Math.min(MAX_BATCH_BYTES, Math.max(MIN_BATCH_BYTES, this.used * 2)));
    this.used = 0;
    return out;
  }

  private room(n: number, flush: (batch: Batch) => void): void {
    if (this.used + n <= this.buf.length) return;
    const full = this.take();
    if (full) flush(full);
    if (this.used + n > this.buf.length) this.buf = Buffer.allocUnsafeSlow(Math.max(n, Math.min(MAX_BATCH_BYTES, this.buf.length * 2)));
  }

  /** Returns the frame's size. `flush` receives a full batch when this frame does not fit. */
  event(kind: FrameKind.Put | FrameKind.Delete, revision: number, time: number, key: string, value: Buffer | undefined, prev: Buffer | undefined, flush: (batch: Batch) => void): number {
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

  attribution(revision: number, user: string, fieldManager: string, userAgent: string, flush: (batch: Batch) => void): number {
    // Room for the longest UTF-8 the strings can take; the lengths are filled in once written.
    this.room(ATTRIBUTION_HEADER + 3 * (user.length + fieldManager.length + userAgent.length), flush);
    const b = this.buf;
    const start = this.used;
    let o = start + ATTRIBUTION_HEADER;
    const userLen = b.write(user, o);
    o += userLen;
    const managerLen = b.write(fieldManager, o);
    o += managerLen;
    const agentLen = b.write(userAgent, o);
    o += agentLen;
    b.writeUInt8(FrameKind.Attribution, start);
    b.writeDoubleLE(revision, start + 1);
    b.writeUInt32LE(userLen, start + 9);
    b.writeUInt32LE(managerLen, start + 13);
    b.writeUInt32LE(agentLen, start + 17);
    this.used = o;
    return o - start;
  }

  gap(from: number, to: number, time: number, count: number, flush: (batch: Batch) => void): number {
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

/** The frames of one batch; values are views of its buffer, not copies. */
export function readFrames(batch: Batch): Frame[] {
  const b = Buffer.from(batch.buf, 0, batch.length);
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
