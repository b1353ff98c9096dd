// SPDY/3.1 framing, the subset Kubernetes streaming uses (exec, attach,
// port-forward): SYN_STREAM, SYN_REPLY, DATA (with FIN), RST_STREAM, HEADERS,
// PING, GOAWAY; SETTINGS and WINDOW_UPDATE are accepted and ignored (the Go
// implementation Kubernetes uses does no flow control either).
//
// Frame layout (all integers big-endian):
//   control: 1 bit C=1 | 15 bits version (3) | 16 bits type | 8 bits flags | 24 bits length | payload
//   data:    1 bit C=0 | 31 bits stream id   | 8 bits flags | 24 bits length | payload
// Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib-compressed, one
// continuous compression context per direction, primed with the SPDY/3
// dictionary and flushed with Z_SYNC_FLUSH after every block. Uncompressed, a
// block is: u32 count, then per header u32 name length, name (lower case),
// u32 value length, value (several values joined by NUL).
//
// The same class serves both ends: the kubelet is a server towards kubectl /
// the API server and a client towards containerd's streaming server. Clients
// open odd stream ids, servers even ones.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
} as const;

/** Largest DATA payload we send in one frame (the protocol allows 16 MiB). */
const MAX_DATA_CHUNK = 32 * 1024;
/** A control frame larger than this is treated as a protocol error. */
const MAX_CONTROL_FRAME = 16 * 1024 * 1024;

// ---------------------------------------------------------------- dictionary

/**
 * The SPDY/3 header compression dictionary (spdy-protocol-draft3 §2.6.10.1):
 * 65 length-prefixed words followed by a literal tail.
 */
const DICTIONARY_WORDS = (
  'options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age allow ' +
  'authorization cache-control connection content-base content-encoding content-language content-length ' +
  'content-location content-md5 content-range content-type date etag expect expires from host if-match ' +
  'if-modified-since if-none-match if-range if-unmodified-since last-modified location max-forwards pragma ' +
  'proxy-authenticate proxy-authorization range referer retry-after server te trailer transfer-encoding upgrade ' +
  'user-agent vary via warning www-authenticate method get status 200_OK version HTTP/1.1 url public set-cookie ' +
  'keep-alive origin'
)
  .split(' ')
  .map((w) => w.replace('_', ' ')); // the one word with a space: "200 OK"

const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

function buildDictionary(): Buffer {
  const parts: Buffer[] = [];
  for (const w of DICTIONARY_WORDS) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(DICTIONARY_TAIL, 'latin1'));
  return Buffer.concat(parts);
}

export const SPDY_DICTIONARY: Buffer = buildDictionary();

// ---------------------------------------------------------------- header blocks

export type SpdyHeaders = Record<string, string | string[]>;

/** First value of a header (names are case-insensitive; SPDY sends them lower case). */
export function headerValue(h: SpdyHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers).filter(([, v]) => v !== undefined);
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(Array.isArray(value) ? value.join('\0') : String(value), 'utf8');
    const nl = Buffer.alloc(4);
    nl.writeUInt32BE(n.length);
    const vl = Buffer.alloc(4);
    vl.writeUInt32BE(v.length);
    parts.push(nl, n, vl, v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(buf: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  let off = 0;
  const need = (n: number) => {
    if (off + n > buf.length) throw new SpdyProtocolError('truncated header block');
  };
  need(4);
  const count = buf.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < count; i++) {
    need(4);
    const nl = buf.readUInt32BE(off);
    off += 4;
    need(nl);
    const name = buf.toString('utf8', off, off + nl).toLowerCase();
    off += nl;
    need(4);
    const vl = buf.readUInt32BE(off);
    off += 4;
    need(vl);
    const values = buf.toString('utf8', off, off + vl).split('\0');
    off += vl;
    const prev = out[name];
    const merged = prev === undefined ? values : [...(Array.isArray(prev) ? prev : [prev]), ...values];
    out[name] = merged.length === 1 ? merged[0]! : merged;
  }
  return out;
}

function adler32(buf: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < buf.length; i++) {
    a = (a + buf[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * Our side of header compression. The peer reads one continuous zlib stream
 * primed with the dictionary; we write that stream with stored (uncompressed)
 * deflate blocks: a zlib header announcing the dictionary (FDICT, its Adler-32)
 * before the first block, then each header block as non-final stored blocks
 * followed by an empty one, byte for byte what a Z_SYNC_FLUSH ends with. Header
 * blocks are a few dozen bytes, so compressing them buys nothing.
 */
export class HeaderCompressor {
  private started = false;

  compress(headers: SpdyHeaders): Buffer {
    const data = encodeHeaderBlock(headers);
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      const h = Buffer.alloc(6);
      h[0] = 0x78; // deflate, 32 KiB window
      h[1] = 0x20; // FDICT, FLEVEL 0; (0x78 << 8 | 0x20) % 31 === 0
      h.writeUInt32BE(adler32(SPDY_DICTIONARY), 2);
      parts.push(h);
    }
    for (let off = 0; off === 0 || off < data.length; off += 0xffff) {
      const piece = data.subarray(off, off + 0xffff);
      const hdr = Buffer.alloc(5);
      hdr[0] = 0x00; // BFINAL=0, BTYPE=00 (stored), padded to the byte
      hdr.writeUInt16LE(piece.length, 1);
      hdr.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(hdr, piece);
      if (data.length === 0) break;
    }
    // An empty stored block, as Z_SYNC_FLUSH ends with: it makes a streaming
    // inflater hand out everything so far without waiting for more input.
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }

  close(): void {}
}

/**
 * The peer's header blocks: one persistent inflate stream (with the SPDY
 * dictionary), fed block by block and flushed; results come back in order.
 */
export class HeaderDecompressor {
  private readonly z: zlib.Inflate;
  private chunks: Buffer[] = [];
  private failed: Error | undefined;
  private closed = false;

  constructor() {
    this.z = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
    this.z.on('data', (c: Buffer) => this.chunks.push(c));
    this.z.on('error', (err) => {
      this.failed = err;
    });
  }

  decompress(block: Buffer): Promise<SpdyHeaders> {
    if (block.length === 0) return Promise.resolve({});
    if (this.closed) return Promise.reject(new SpdyProtocolError('header decompressor closed'));
    return new Promise((resolve, reject) => {
      this.z.write(block);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        // Let the flushed output reach the 'data' listener first.
        setImmediate(() => {
          if (this.failed) return reject(new SpdyProtocolError(`header block: ${this.failed.message}`));
          const out = Buffer.concat(this.chunks);
          this.chunks = [];
          try {
            resolve(decodeHeaderBlock(out));
          } catch (err) {
            reject(err);
          }
        });
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.z.destroy();
  }
}

// ---------------------------------------------------------------- frames

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(`spdy: ${message}`);
    this.name = 'SpdyProtocolError';
  }
}

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedTo: number; priority: number; flags: number; block: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; block: Buffer }
  | { type: 'headers'; streamId: number; flags: number; block: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number };

function controlHeader(type: number, flags: number, length: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | (length & 0xffffff), 4);
  return h;
}

export function encodeDataFrame(streamId: number, data: Buffer, fin: boolean): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((fin ? FLAG_FIN : 0) << 24) | (data.length & 0xffffff), 4);
  return Buffer.concat([h, data]);
}

export function encodeSynStream(streamId: number, block: Buffer, flags: number, associatedTo = 0, priority = 0): Buffer {
  const body = Buffer.alloc(10);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  body.writeUInt32BE(associatedTo & 0x7fffffff, 4);
  body.writeUInt8((priority & 0x7) << 5, 8);
  body.writeUInt8(0, 9);
  return Buffer.concat([controlHeader(FrameType.SYN_STREAM, flags, 10 + block.length), body, block]);
}

export function encodeSynReply(streamId: number, block: Buffer, flags: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  return Buffer.concat([controlHeader(FrameType.SYN_REPLY, flags, 4 + block.length), body, block]);
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  body.writeUInt32BE(status, 4);
  return Buffer.concat([controlHeader(FrameType.RST_STREAM, 0, 8), body]);
}

export function encodePing(id: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(id >>> 0, 0);
  return Buffer.concat([controlHeader(FrameType.PING, 0, 4), body]);
}

export function encodeGoAway(lastGoodStreamId: number, status = 0): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  body.writeUInt32BE(status, 4);
  return Buffer.concat([controlHeader(FrameType.GOAWAY, 0, 8), body]);
}

/** Incremental frame parser: feed bytes, get whole frames. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      if (this.buf.length < 8) break;
      const length = this.buf.readUInt32BE(4) & 0xffffff;
      const isControl = (this.buf[0]! & 0x80) !== 0;
      if (isControl && length > MAX_CONTROL_FRAME) throw new SpdyProtocolError(`control frame of ${length} bytes`);
      if (this.buf.length < 8 + length) break;
      const frame = this.buf.subarray(0, 8 + length);
      this.buf = this.buf.subarray(8 + length);
      frames.push(parseFrame(frame));
    }
    if (this.buf.length === 0) this.buf = Buffer.alloc(0);
    return frames;
  }
}

function parseFrame(f: Buffer): Frame {
  const flags = f[4]!;
  const payload = f.subarray(8);
  if ((f[0]! & 0x80) === 0) {
    return { type: 'data', streamId: f.readUInt32BE(0) & 0x7fffffff, flags, data: Buffer.from(payload) };
  }
  const version = f.readUInt16BE(0) & 0x7fff;
  const type = f.readUInt16BE(2);
  if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported version ${version}`);
  const need = (n: number) => {
    if (payload.length < n) throw new SpdyProtocolError(`frame type ${type} too short`);
  };
  switch (type) {
    case FrameType.SYN_STREAM:
      need(10);
      return {
        type: 'syn_stream',
        streamId: payload.readUInt32BE(0) & 0x7fffffff,
        associatedTo: payload.readUInt32BE(4) & 0x7fffffff,
        priority: payload[8]! >> 5,
        flags,
        block: Buffer.from(payload.subarray(10)),
      };
    case FrameType.SYN_REPLY:
      need(4);
      return { type: 'syn_reply', streamId: payload.readUInt32BE(0) & 0x7fffffff, flags, block: Buffer.from(payload.subarray(4)) };
    case FrameType.HEADERS:
      need(4);
      return { type: 'headers', streamId: payload.readUInt32BE(0) & 0x7fffffff, flags, block: Buffer.from(payload.subarray(4)) };
    case FrameType.RST_STREAM:
      need(8);
      return { type: 'rst_stream', streamId: payload.readUInt32BE(0) & 0x7fffffff, status: payload.readUInt32BE(4) };
    case FrameType.SETTINGS: {
      need(4);
      const n = payload.readUInt32BE(0);
      const entries: Array<{ flags: number; id: number; value: number }> = [];
      for (let i = 0; i < n && 4 + i * 8 + 8 <= payload.length; i++) {
        const w = payload.readUInt32BE(4 + i * 8);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: payload.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, entries };
    }
    case FrameType.PING:
      need(4);
      return { type: 'ping', id: payload.readUInt32BE(0) };
    case FrameType.GOAWAY:
      need(4);
      return { type: 'goaway', lastGoodStreamId: payload.readUInt32BE(0) & 0x7fffffff, status: payload.length >= 8 ? payload.readUInt32BE(4) : 0 };
    case FrameType.WINDOW_UPDATE:
      need(8);
      return { type: 'window_update', streamId: payload.readUInt32BE(0) & 0x7fffffff, delta: payload.readUInt32BE(4) & 0x7fffffff };
    default:
      return { type: 'unknown', frameType: type };
  }
}

// ---------------------------------------------------------------- streams

/**
 * One SPDY stream as a Node Duplex: writing sends DATA frames, end() sends a
 * FIN, the readable side ends when the peer's FIN arrives. A reset (either
 * way) destroys it. Streams we open buffer writes until the peer's SYN_REPLY.
 */
export class SpdyStream extends Duplex {
  /** Headers of the SYN_STREAM (theirs for incoming streams, ours for outgoing). */
  readonly headers: SpdyHeaders;
  /** Headers of the SYN_REPLY once it arrived (outgoing streams). */
  replyHeaders: SpdyHeaders | undefined;
  private replied: boolean;
  private readonly replyWaiters: Array<(err?: Error) => void> = [];
  private localFin = false;
  remoteFin = false;
  private resetSeen = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    headers: SpdyHeaders,
    readonly incoming: boolean,
  ) {
    super({ allowHalfOpen: true });
    this.headers = headers;
    // Incoming streams may be written to once we reply; we reply before
    // handing them out, so treat them as replied.
    this.replied = incoming;
  }

  /** streamtype, port, requestid, ... */
  header(name: string): string | undefined {
    return headerValue(this.headers, name);
  }

  get isReplied(): boolean {
    return this.replied;
  }

  /** Resolves when the peer replied to a stream we opened (rejects on reset / close). */
  waitReply(timeoutMs = 30_000): Promise<void> {
    if (this.replied) return Promise.resolve();
    if (this.resetSeen || this.destroyed) return Promise.reject(new Error(`spdy stream ${this.id} was reset`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`spdy stream ${this.id}: no reply within ${timeoutMs} ms`)), timeoutMs);
      this.replyWaiters.push((err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** @internal */
  _onReply(headers: SpdyHeaders, fin: boolean): void {
    if (this.replied) return;
    this.replied = true;
    this.replyHeaders = headers;
    this.emit('reply', headers);
    for (const w of this.replyWaiters.splice(0)) w();
    if (fin) this._onRemoteFin();
  }

  /** @internal */
  _onData(data: Buffer, fin: boolean): void {
    if (this.remoteFin) return;
    if (data.length > 0) this.push(data);
    if (fin) this._onRemoteFin();
  }

  /** @internal our FIN went out with the SYN_STREAM (or we may not send at all) */
  _setLocalFin(): void {
    this.localFin = true;
  }

  /** @internal */
  _onRemoteFin(): void {
    if (this.remoteFin) return;
    this.remoteFin = true;
    this.push(null);
    this.maybeDone();
  }

  /** @internal */
  _onReset(status: number): void {
    if (this.resetSeen) return;
    this.resetSeen = true;
    for (const w of this.replyWaiters.splice(0)) w(new Error(`spdy stream ${this.id} was reset (status ${status})`));
    this.conn._forget(this);
    this.emit('reset', status);
    this.destroy();
  }

  /** @internal the connection went away */
  _onConnectionClosed(): void {
    for (const w of this.replyWaiters.splice(0)) w(new Error('spdy connection closed'));
    if (!this.remoteFin) {
      this.remoteFin = true;
      this.push(null);
    }
    if (!this.destroyed) this.destroy();
  }

  /** Send RST_STREAM (CANCEL by default) and drop the stream. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetSeen) return;
    this.resetSeen = true;
    this.conn._send(encodeRstStream(this.id, status));
    for (const w of this.replyWaiters.splice(0)) w(new Error(`spdy stream ${this.id} was reset`));
    this.conn._forget(this);
    this.destroy();
  }

  private maybeDone(): void {
    if (this.localFin && this.remoteFin) this.conn._forget(this);
  }

  override _read(): void {
    // Data is pushed as frames arrive (no flow control in this protocol subset).
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const send = () => {
      if (this.resetSeen || this.conn.closed) return cb(new Error(`spdy stream ${this.id} is closed`));
      let ok = true;
      for (let off = 0; off < chunk.length; off += MAX_DATA_CHUNK) {
        ok = this.conn._send(encodeDataFrame(this.id, chunk.subarray(off, off + MAX_DATA_CHUNK), false));
      }
      if (ok) cb();
      else this.conn._onDrain(() => cb());
    };
    if (this.replied) send();
    else this.waitReply().then(send, (err: Error) => cb(err));
  }

  override _final(cb: (err?: Error | null) => void): void {
    const fin = () => {
      if (!this.resetSeen && !this.conn.closed && !this.localFin) {
        this.localFin = true;
        this.conn._send(encodeDataFrame(this.id, Buffer.alloc(0), true));
        this.maybeDone();
      }
      cb();
    };
    if (this.replied) fin();
    else this.waitReply().then(fin, () => cb());
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.conn._forget(this);
    cb(err);
  }
}

// ---------------------------------------------------------------- connection

export interface SpdyConnectionOptions {
  /** true on the accepting side (even stream ids), false when we dialled (odd ids). */
  server: boolean;
  /** Called for each stream the peer opens; return headers to reply with, or false to refuse. Default: reply {}. */
  onStream?: (stream: SpdyStream) => SpdyHeaders | false | void;
  /** Bytes already read from the transport (after the HTTP upgrade). */
  head?: Buffer;
}

/**
 * A SPDY/3.1 session over any byte duplex (a TLS/TCP socket, or a WebSocket
 * tunnel). Events: 'stream' (SpdyStream, after our SYN_REPLY went out),
 * 'goaway', 'close', 'error'.
 */
export class SpdyConnection extends EventEmitter {
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private nextStreamId: number;
  private nextPingId: number;
  private readonly pings = new Map<number, () => void>();
  private lastRemoteStreamId = 0;
  private readonly frames: Frame[] = [];
  private processing = false;
  private transportEnded = false;
  private drainWaiters: Array<() => void> = [];
  closed = false;
  goneAway = false;

  constructor(
    readonly transport: Duplex,
    private readonly opts: SpdyConnectionOptions,
  ) {
    super();
    this.nextStreamId = opts.server ? 2 : 1;
    this.nextPingId = opts.server ? 2 : 1;
    transport.on('data', (chunk: Buffer) => this.onBytes(chunk));
    transport.on('drain', () => {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const fn of w) fn();
    });
    transport.on('end', () => this.endAfterFrames());
    transport.on('close', () => this.endAfterFrames());
    transport.on('error', (err) => {
      this.emit('transportError', err);
      this.shutdown();
    });
    if (opts.head && opts.head.length > 0) setImmediate(() => this.onBytes(opts.head!));
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Opens a stream; writes are held until the peer replies. */
  createStream(headers: SpdyHeaders, opts: { fin?: boolean } = {}): SpdyStream {
    if (this.closed || this.goneAway) throw new Error('spdy connection is closed');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers, false);
    this.streams.set(id, stream);
    const block = this.compressor.compress(headers);
    this._send(encodeSynStream(id, block, opts.fin ? FLAG_FIN : 0));
    if (opts.fin) {
      // The SYN_STREAM carried our FIN: nothing more goes out on this stream.
      stream._setLocalFin();
      stream.end();
    }
    return stream;
  }

  /** Round-trip time of a PING, in ms. */
  ping(timeoutMs = 10_000): Promise<number> {
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 2) >>> 0;
    const start = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new Error('spdy ping timed out'));
      }, timeoutMs);
      this.pings.set(id, () => {
        clearTimeout(timer);
        resolve(performance.now() - start);
      });
      this._send(encodePing(id));
    });
  }

  /** Sends GOAWAY and closes the transport once the write is flushed. */
  close(): void {
    if (this.closed) return;
    if (!this.goneAway) {
      this.goneAway = true;
      this._send(encodeGoAway(this.lastRemoteStreamId, 0));
    }
    this.transport.end();
    this.shutdown();
  }

  /** Tears everything down at once. */
  destroy(): void {
    this.transport.destroy();
    this.shutdown();
  }

  /** @internal */
  _send(frame: Buffer): boolean {
    if (this.closed || this.transport.destroyed || this.transport.writableEnded) return true;
    return this.transport.write(frame);
  }

  /** @internal */
  _onDrain(fn: () => void): void {
    if (this.closed) return fn();
    this.drainWaiters.push(fn);
  }

  /** @internal */
  _forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.streams.values()]) s._onConnectionClosed();
    this.streams.clear();
    for (const fn of this.drainWaiters.splice(0)) fn();
    this.compressor.close();
    this.decompressor.close();
    this.emit('close');
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const f of this.parser.push(chunk)) this.frames.push(f);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    void this.drainFrames();
  }

  /** Frames are handled strictly in order; header blocks are inflated asynchronously. */
  private async drainFrames(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.frames.length > 0 && !this.closed) {
        const f = this.frames.shift()!;
        try {
          const r = this.onFrame(f);
          if (r) await r;
        } catch (err) {
          this.fail(err as Error);
          return;
        }
      }
    } finally {
      this.processing = false;
    }
    if (this.transportEnded && this.frames.length === 0) this.shutdown();
  }

  /** The transport ended: finish the frames already read, then shut down. */
  private endAfterFrames(): void {
    this.transportEnded = true;
    if (!this.processing && this.frames.length === 0) this.shutdown();
    else void this.drainFrames();
  }

  private fail(err: Error): void {
    this.emit('protocolError', err);
    if (!this.goneAway) {
      this.goneAway = true;
      this._send(encodeGoAway(this.lastRemoteStreamId, 1));
    }
    this.destroy();
  }

  private onFrame(f: Frame): void | Promise<void> {
    switch (f.type) {
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (s) s._onData(f.data, (f.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'syn_stream':
        return this.decompressor.decompress(f.block).then((headers) => this.onSynStream(f, headers));
      case 'syn_reply':
        return this.decompressor.decompress(f.block).then((headers) => {
          this.streams.get(f.streamId)?._onReply(headers, (f.flags & FLAG_FIN) !== 0);
        });
      case 'headers':
        return this.decompressor.decompress(f.block).then((headers) => {
          const s = this.streams.get(f.streamId);
          if (s) {
            s.emit('headers', headers);
            if ((f.flags & FLAG_FIN) !== 0) s._onRemoteFin();
          }
        });
      case 'rst_stream':
        this.streams.get(f.streamId)?._onReset(f.status);
        return;
      case 'ping': {
        const ours = (f.id % 2 === 0) === this.opts.server;
        if (ours) {
          const done = this.pings.get(f.id);
          this.pings.delete(f.id);
          done?.();
        } else {
          this._send(encodePing(f.id));
        }
        return;
      }
      case 'goaway':
        this.goneAway = true;
        this.emit('goaway', f.lastGoodStreamId, f.status);
        // The peer opens nothing more; streams in flight finish on their own.
        if (this.streams.size === 0) this.close();
        return;
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }

  private onSynStream(f: Extract<Frame, { type: 'syn_stream' }>, headers: SpdyHeaders): void {
    const remoteOdd = this.opts.server;
    if (f.streamId === 0 || (f.streamId % 2 === 1) !== remoteOdd || f.streamId <= this.lastRemoteStreamId) {
      this._send(encodeRstStream(f.streamId, RstStatus.PROTOCOL_ERROR));
      return;
    }
    this.lastRemoteStreamId = f.streamId;
    if (this.goneAway) {
      this._send(encodeRstStream(f.streamId, RstStatus.REFUSED_STREAM));
      return;
    }
    const stream = new SpdyStream(this, f.streamId, headers, true);
    this.streams.set(f.streamId, stream);
    let reply: SpdyHeaders | false | void = {};
    if (this.opts.onStream) reply = this.opts.onStream(stream);
    if (reply === false) {
      stream.reset(RstStatus.REFUSED_STREAM);
      return;
    }
    this._send(encodeSynReply(f.streamId, this.compressor.compress(reply ?? {}), 0));
    if ((f.flags & FLAG_UNIDIRECTIONAL) !== 0) {
      stream._setLocalFin();
      stream.end();
    }
    if ((f.flags & FLAG_FIN) !== 0) stream._onRemoteFin();
    this.emit('stream', stream);
  }
}

// ---------------------------------------------------------------- upgrade helpers

/** The HTTP/1.1 answer that switches a connection to SPDY. */
export function spdyUpgradeResponse(protocolVersion?: string): string {
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (protocolVersion) lines.push(`X-Stream-Protocol-Version: ${protocolVersion}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Values of a (possibly repeated, comma-separated) request header. */
export function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const all = Array.isArray(value) ? value : [value];
  return all.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}
