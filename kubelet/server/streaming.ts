// Exec, attach and port-forward sessions, bridged from whatever the caller
// speaks to the container runtime's own streaming server.
//
// containerd's CRI plugin answers Exec/Attach/PortForward with a one-time URL
// on its streaming server (loopback only), which speaks SPDY/3.1 with the
// Kubernetes stream protocols (v4.channel.k8s.io for remote commands,
// portforward.k8s.io). The kubelet terminates the caller's protocol and
// re-originates the session there:
//
//   SPDY caller (kubectl <= 1.29, or any SPDY client): stream-for-stream relay —
//     every stream the caller opens is opened on the runtime connection with the
//     same headers (streamtype, port, requestid), bytes and FINs copied both ways.
//   WebSocket v5/v4.channel.k8s.io (kubectl >= 1.30 exec/attach): channel bytes
//     (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize, 255 close) mapped onto
//     runtime streams; the runtime's status JSON goes out on channel 3.
//   WebSocket "SPDY/3.1+portforward.k8s.io" (kubectl >= 1.31 port-forward): the
//     WebSocket is only a byte tunnel carrying SPDY frames; relayed like SPDY.
//   Plain WebSocket port-forward (v4.channel.k8s.io, v4.base64.channel.k8s.io or no
//     subprotocol; the Python client): the runtime's streaming server is upstream's
//     own streaming library and serves this protocol for the ports named in the CRI
//     request, so the upgrade is relayed to it byte for byte, as upstream's kubelet
//     proxies its streams.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';
import { RstStatus, SpdyConnection, type SpdyStream } from './spdy.js';

export const STREAM_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const STREAM_PROTOCOL_V4 = 'v4.channel.k8s.io';
export const STREAM_PROTOCOL_V3 = 'v3.channel.k8s.io';
export const STREAM_PROTOCOL_V2 = 'v2.channel.k8s.io';
export const STREAM_PROTOCOL_V1 = 'channel.k8s.io';
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const PORT_FORWARD_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

/** Remote-command protocols the runtime side speaks, best first. */
export const REMOTE_COMMAND_PROTOCOLS = [STREAM_PROTOCOL_V4, STREAM_PROTOCOL_V3, STREAM_PROTOCOL_V2, STREAM_PROTOCOL_V1];

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A SPDY session dialled to the runtime's streaming server, with the protocol it agreed to. */
export interface BackendSession {
  conn: SpdyConnection;
  protocol: string;
}

export class StreamingError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'StreamingError';
  }
}

/** Upgrades a POST to `url` (http, the runtime's streaming server) to SPDY/3.1. */
export function dialSpdy(url: string, protocols: string[], timeoutMs = 15_000): Promise<BackendSession> {
  const u = new URL(url);
  if (u.protocol !== 'http:') return Promise.reject(new StreamingError(500, `unsupported streaming URL ${url}`));
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = httpRequest({
      host: u.hostname,
      port: u.port || 80,
      path: u.pathname + u.search,
      method: 'POST',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'SPDY/3.1',
        'X-Stream-Protocol-Version': protocols,
        'Content-Length': '0',
      },
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(new StreamingError(504, `timed out connecting to the runtime streaming server at ${u.host}`));
    }, timeoutMs);
    req.on('upgrade', (res, socket, head) => {
      clearTimeout(timer);
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      socket.setNoDelay(true);
      const chosen = String(res.headers['x-stream-protocol-version'] ?? '');
      resolve({ conn: new SpdyConnection(socket, { server: false, head }), protocol: chosen });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        const body = Buffer.concat(chunks).toString('utf8').trim();
        reject(new StreamingError(res.statusCode && res.statusCode >= 400 ? res.statusCode : 500, body || `runtime streaming server answered ${res.statusCode}`));
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new StreamingError(502, `cannot reach the runtime streaming server: ${err.message}`));
    });
    req.end();
  });
}

function quiet(s: Duplex): void {
  s.on('error', () => {});
}

/** Copies bytes, FINs and resets between two streams. */
function joinStreams(a: SpdyStream, b: SpdyStream): void {
  quiet(a);
  quiet(b);
  const forward = (from: SpdyStream, to: SpdyStream) => {
    from.on('data', (d: Buffer) => {
      if (!to.writableEnded && !to.destroyed) to.write(d);
    });
    from.on('end', () => {
      if (!to.writableEnded && !to.destroyed) to.end();
    });
    from.on('reset', () => {
      if (!to.destroyed) to.reset(RstStatus.CANCEL);
    });
  };
  forward(a, b);
  forward(b, a);
}

/** Resolves once every stream's write side has been flushed, or after maxMs. */
function settleStreams(streams: SpdyStream[], maxMs: number): Promise<void> {
  const pending = streams.filter((s) => !s.destroyed && s.writableEnded && !s.writableFinished);
  if (pending.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = pending.length;
    const timer = setTimeout(resolve, maxMs);
    for (const s of pending) {
      const done = () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      s.once('finish', done);
      s.once('close', done);
    }
  });
}

/**
 * Relays a SPDY session from a caller to the runtime: each stream the caller
 * opens is opened on the backend with the same headers.
 */
export function relaySpdy(front: SpdyConnection, back: SpdyConnection): Promise<void> {
  const frontStreams: SpdyStream[] = [];
  const pendingFront: SpdyStream[] = [];
  const attach = (fs: SpdyStream) => {
    let bs: SpdyStream;
    try {
      bs = back.createStream(fs.headers);
    } catch {
      fs.reset(RstStatus.REFUSED_STREAM);
      return;
    }
    frontStreams.push(fs);
    joinStreams(fs, bs);
  };
  front.on('stream', attach);
  for (const s of pendingFront) attach(s);
  back.on('stream', (s: SpdyStream) => s.reset(RstStatus.REFUSED_STREAM));
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
    };
    front.on('close', () => {
      back.close();
      finish();
    });
    back.on('close', () => {
      // Let the last relayed bytes and FINs reach the caller before hanging up.
      void settleStreams(frontStreams, 2000).then(() => {
        front.close();
        finish();
      });
    });
  });
}

// ---------------------------------------------------------------- WebSocket remote command

const CH_STDIN = 0;
const CH_STDOUT = 1;
const CH_STDERR = 2;
const CH_ERROR = 3;
const CH_RESIZE = 4;
const CH_CLOSE = 255;

const SUCCESS_STATUS = JSON.stringify({ metadata: {}, status: 'Success' });

/**
 * Serves one exec/attach over a WebSocket speaking v5/v4.channel.k8s.io,
 * backed by a SPDY session to the runtime (already negotiated to v4).
 */
export function bridgeWebSocketRemoteCommand(ws: WebSocket, protocol: string, back: BackendSession, opts: StreamOptions): Promise<void> {
  const conn = back.conn;
  const open = (type: string) => {
    const s = conn.createStream({ streamtype: type });
    quiet(s);
    return s;
  };
  // The order client-go uses: error first, then the data streams.
  const errorStream = open('error');
  errorStream.end();
  const stdin = opts.stdin ? open('stdin') : undefined;
  const stdout = opts.stdout ? open('stdout') : undefined;
  const stderr = opts.stderr && !opts.tty ? open('stderr') : undefined;
  const resize = opts.tty ? open('resize') : undefined;
  const v5 = protocol === STREAM_PROTOCOL_V5;

  const send = (channel: number, data: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    const msg = Buffer.allocUnsafe(data.length + 1);
    msg[0] = channel;
    data.copy(msg, 1);
    ws.send(msg, { binary: true });
  };

  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (data.length === 0) return;
    // The base64 variants are not offered, so text frames are unexpected; treat them as binary.
    void isBinary;
    const channel = data[0]!;
    const payload = data.subarray(1);
    switch (channel) {
      case CH_STDIN:
        if (stdin && !stdin.writableEnded && payload.length > 0) stdin.write(payload);
        break;
      case CH_RESIZE:
        if (resize && !resize.writableEnded && payload.length > 0) resize.write(payload);
        break;
      case CH_CLOSE:
        if (v5 && payload[0] === CH_STDIN && stdin && !stdin.writableEnded) stdin.end();
        break;
      default:
        break;
    }
  });

  stdout?.on('data', (d: Buffer) => send(CH_STDOUT, d));
  stderr?.on('data', (d: Buffer) => send(CH_STDERR, d));
  const statusChunks: Buffer[] = [];
  errorStream.on('data', (d: Buffer) => statusChunks.push(d));

  const ended = (s: SpdyStream | undefined) =>
    !s ? Promise.resolve() : new Promise<void>((r) => (s.remoteFin || s.destroyed ? r() : (s.once('end', () => r()), s.once('close', () => r()))));

  return new Promise((resolve) => {
    let finished = false;
    const finish = (status: string | null) => {
      if (finished) return;
      finished = true;
      if (status !== null) send(CH_ERROR, Buffer.from(status));
      if (ws.readyState === ws.OPEN) ws.close(1000);
      conn.close();
      resolve();
    };
    ws.on('close', () => {
      if (!finished) {
        finished = true;
        conn.close();
        resolve();
      }
    });
    ws.on('error', () => {});
    // The runtime writes the status after the output streams are drained; wait
    // for the error stream's end (or the session's end) and flush output first.
    const statusReady = new Promise<void>((r) => {
      errorStream.once('end', () => r());
      errorStream.once('close', () => r());
      conn.once('close', () => r());
    });
    void statusReady
      .then(() => Promise.race([Promise.all([ended(stdout), ended(stderr)]), new Promise((r) => setTimeout(r, 1000))]))
      .then(() => {
        const text = Buffer.concat(statusChunks).toString('utf8').trim();
        if (text === '') return finish(SUCCESS_STATUS);
        if (text.startsWith('{')) return finish(text);
        // Older protocols send a plain message: wrap it as a failure Status.
        return finish(JSON.stringify({ metadata: {}, status: 'Failure', message: text, reason: 'InternalError' }));
      });
  });
}

/** Serves port-forward over a WebSocket that tunnels SPDY frames (kubectl >= 1.31). */
export function bridgeWebSocketTunnel(ws: WebSocket, back: BackendSession): Promise<void> {
  const duplex = createWebSocketStream(ws, { allowHalfOpen: false });
  duplex.on('error', () => {});
  const front = new SpdyConnection(duplex, { server: true });
  return relaySpdy(front, back.conn);
}

/** Serves a SPDY caller on an upgraded socket (the 101 already written). */
export function bridgeSpdy(socket: Duplex, head: Buffer, back: BackendSession): Promise<void> {
  const front = new SpdyConnection(socket, { server: true, head });
  return relaySpdy(front, back.conn);
}

/**
 * Relays a WebSocket upgrade to the runtime's streaming server at `url` (http): the
 * caller's handshake goes there unchanged (path replaced), and the bytes flow both ways
 * until either side hangs up. Resolves when the session ends; `closer` ends it early.
 */
export function relayWebSocketUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: string, closer: (close: () => void) => void): Promise<void> {
  const u = new URL(url);
  if (u.protocol !== 'http:') return Promise.reject(new StreamingError(500, `unsupported streaming URL ${url}`));
  return new Promise((resolve) => {
    const up = netConnect({ host: u.hostname, port: Number(u.port || 80) });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      up.destroy();
      socket.destroy();
      resolve();
    };
    closer(finish);
    up.once('connect', () => {
      up.setNoDelay(true);
      const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i]!.toLowerCase();
        // Credentials and hop-specific headers of the caller's connection stay here.
        if (k === 'host' || k === 'authorization' || k === 'content-length' || k === 'transfer-encoding') continue;
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
    up.on('error', finish);
    up.on('close', finish);
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/**
 * The ports of a plain WebSocket port-forward, from its `port` query parameters
 * (repeated or comma-separated), checked as upstream's portforward.NewV4Options does.
 */
export function webSocketForwardPorts(query: URLSearchParams): number[] {
  const values = query.getAll('port');
  if (values.length === 0) throw new StreamingError(400, 'query parameter "port" is required');
  const ports: number[] = [];
  for (const v of values) {
    if (v === '') throw new StreamingError(400, 'query parameter "port" cannot be empty');
    for (const p of v.split(',')) {
      if (!/^\d+$/.test(p) || Number(p) > 65535) throw new StreamingError(400, `unable to parse "${v}" as a port: strconv.ParseUint: parsing ${JSON.stringify(p)}: ${/^\d+$/.test(p) ? 'value out of range' : 'invalid syntax'}`);
      if (Number(p) < 1) throw new StreamingError(400, `port "${v}" must be > 0`);
      ports.push(Number(p));
    }
  }
  return ports;
}

/** Picks the first protocol the client offers that we speak (client preference wins, as upstream). */
export function negotiate(offered: string[], supported: string[]): string | undefined {
  return offered.find((p) => supported.includes(p));
}
