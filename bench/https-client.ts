// The benchmarks' HTTPS/1.1 client: a pool of keep-alive TLS sockets, one request at a
// time on each. A load generator's own CPU shares the machine with the server it
// measures (the API benchmarks run both on the same cores), so this one does the least
// it can: a request is one string written to the socket, and an answer is read for its
// status code and body only (Content-Length or chunked). With node:https (its request
// and response objects, header objects and streams) the API benchmarks' client spent
// 85–125 µs of CPU per create, more than half of what the server's request thread did.
import { connect, type TLSSocket } from 'node:tls';

export interface HttpsAnswer {
  code: number;
  /** Decoded from UTF-8 when first read: a load generator that checks only the code never decodes it. */
  readonly body: string;
}

/** An answer whose body bytes are decoded on first read. */
class Answer implements HttpsAnswer {
  private text?: string;
  constructor(
    readonly code: number,
    private readonly bytes: Buffer,
  ) {}

  get body(): string {
    return (this.text ??= this.bytes.toString('utf8'));
  }
}

export interface HttpsClientOptions {
  /** The CA certificate (PEM) that signed the server's. */
  ca: string;
  /** A client certificate and its key (PEM). */
  cert?: string;
  key?: string;
  /** A bearer token sent as `Authorization`. */
  token?: string;
}

const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/**
 * Where an answer's body ends in `buf` (its header block ending at `bodyStart`), and the
 * body's bytes; until it has all arrived, how many bytes `buf` must hold before another
 * look can get further (so a big body is gathered in one copy, not one per chunk).
 */
type BodyReader = (buf: Buffer, bodyStart: number) => { end: number; body: Buffer } | { need: number };

function contentLengthBody(length: number): BodyReader {
  return (buf, bodyStart) => (buf.length - bodyStart < length ? { need: bodyStart + length } : { end: bodyStart + length, body: buf.subarray(bodyStart, bodyStart + length) });
}

/** A chunked body: hex size lines, each chunk followed by CRLF, a zero-size chunk, then trailers up to an empty line. */
const chunkedBody: BodyReader = (buf, bodyStart) => {
  const chunks: Buffer[] = [];
  let at = bodyStart;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, at);
    if (lineEnd < 0) return { need: buf.length + 1 };
    // A size line may carry extensions after ';'.
    const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line: ${buf.toString('latin1', at, lineEnd)}`);
    if (size === 0) {
      // Then trailers (kite sends none) up to an empty line.
      const end = buf.indexOf(HEADERS_END, lineEnd);
      return end < 0 ? { need: buf.length + 1 } : { end: end + 4, body: Buffer.concat(chunks) };
    }
    if (buf.length < lineEnd + 2 + size + 2) return { need: lineEnd + 2 + size + 2 };
    chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
};

interface Exchange {
  resolve: (a: HttpsAnswer) => void;
  reject: (err: Error) => void;
  /** A HEAD request's answer has no body whatever its headers say. */
  head: boolean;
}

/** One keep-alive TLS connection; one exchange at a time. */
class Connection {
  /** What has arrived and is not yet read, in the chunks it came in, and their bytes. */
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes to gather before looking again (an answer's end, when its length is known). */
  private need = 0;
  private exchange?: Exchange;
  closed = false;

  constructor(
    readonly socket: TLSSocket,
    private readonly released: (c: Connection) => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.parts.push(chunk);
      this.size += chunk.length;
      if (this.size < this.need) return;
      try {
        this.read();
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    const fail = (err: Error) => {
      this.closed = true;
      const x = this.exchange;
      this.exchange = undefined;
      x?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed before the answer')));
  }

  send(request: string, exchange: Exchange): void {
    if (this.closed) {
      exchange.reject(new Error('connection closed before the request'));
      return;
    }
    this.exchange = exchange;
    this.socket.write(request);
  }

  /** What has arrived and is not yet read, as one buffer. */
  private buffered(): Buffer {
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts, this.size)];
    return this.parts[0] ?? EMPTY;
  }

  /** Drops the first `n` bytes of what has arrived (an answer read). */
  private consume(n: number): void {
    const rest = this.buffered().subarray(n);
    this.parts = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
  }

  private read(): void {
    const x = this.exchange;
    if (!x) return;
    const buf = this.buffered();
    const headersEnd = buf.indexOf(HEADERS_END);
    if (headersEnd < 0) {
      this.need = buf.length + 1;
      return;
    }
    // Header names are case-insensitive; the values read here are ASCII.
    const head = buf.toString('latin1', 0, headersEnd).toLowerCase();
    const code = Number(head.slice(9, 12));
    const bodyStart = headersEnd + 4;
    if (code >= 100 && code < 200) {
      // An interim answer (this client asks for no upgrade): the final one follows.
      this.consume(bodyStart);
      this.read();
      return;
    }
    let reader: BodyReader;
    if (x.head || code === 204 || code === 304) reader = contentLengthBody(0);
    else if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) reader = chunkedBody;
    else {
      const length = /\r\ncontent-length: *(\d+)/.exec(head);
      // Neither: the body runs to the end of the connection, which this client does not read.
      if (!length) throw new Error(`answer without Content-Length or chunked encoding: ${head.split('\r\n')[0]}`);
      reader = contentLengthBody(Number(length[1]));
    }
    const answer = reader(buf, bodyStart);
    if ('need' in answer) {
      this.need = answer.need;
      return;
    }
    this.need = 0;
    this.consume(answer.end);
    this.exchange = undefined;
    if (/\r\nconnection: *close/.test(head)) {
      this.closed = true;
      this.socket.end();
    }
    this.released(this);
    x.resolve(new Answer(code, answer.body));
  }
}

/** A pool of up to `sockets` keep-alive connections to one HTTPS server; calls beyond that wait for one. */
export class HttpsClient {
  private readonly all = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly waiting: ((c: Connection | undefined) => void)[] = [];
  /** The header lines every request carries. */
  private readonly fixedHeaders: string;

  constructor(
    private readonly port: number,
    private readonly tls: HttpsClientOptions,
    private readonly sockets: number,
  ) {
    this.fixedHeaders = `Host: 127.0.0.1:${port}\r\n${tls.token ? `Authorization: Bearer ${tls.token}\r\n` : ''}`;
  }

  /**
   * One request; a body goes as JSON, with `contentType` (a patch's, e.g.
   * `application/merge-patch+json`). A string body is sent as it is (JSON the caller
   * encoded once, e.g. benchConfigMapJson's).
   */
  async call(method: string, path: string, body?: object | string, contentType = 'application/json'): Promise<HttpsAnswer> {
    const payload = typeof body === 'string' ? body : body ? JSON.stringify(body) : undefined;
    const request =
      payload === undefined
        ? `${method} ${path} HTTP/1.1\r\n${this.fixedHeaders}\r\n`
        : `${method} ${path} HTTP/1.1\r\n${this.fixedHeaders}Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
    const conn = await this.connection();
    return new Promise<HttpsAnswer>((resolve, reject) => conn.send(request, { resolve, reject, head: method === 'HEAD' }));
  }

  private connection(): Promise<Connection> {
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.all.size < this.sockets) return this.connect();
    return new Promise((resolve) => this.waiting.push((c) => resolve(c ?? this.connect())));
  }

  private connect(): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: this.port, ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key });
      socket.setNoDelay(true);
      const conn = new Connection(socket, (c) => this.release(c));
      this.all.add(conn);
      const failed = (err: Error) => reject(err);
      socket.once('error', failed);
      socket.once('secureConnect', () => {
        socket.off('error', failed);
        resolve(conn);
      });
      socket.once('close', () => {
        this.all.delete(conn);
        const at = this.idle.indexOf(conn);
        if (at >= 0) this.idle.splice(at, 1);
        // A waiting call may open a connection in its place.
        this.waiting.shift()?.(undefined);
      });
    });
  }

  private release(conn: Connection): void {
    if (conn.closed) return;
    const next = this.waiting.shift();
    if (next) next(conn);
    else this.idle.push(conn);
  }

  /** Closes every connection; calls still waiting for an answer fail. */
  close(): void {
    for (const c of this.all) c.socket.destroy();
  }
}
