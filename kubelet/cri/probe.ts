// Whether a CRI runtime answers on a socket, asked without the gRPC library: the node's
// start only needs to know when its containerd serves the CRI, and loading @grpc/grpc-js
// and building the CRI services from api.proto costs the server's event loop ~0.25 s of
// CPU on a 2-core machine while its control plane starts. One unary call
// (runtime.v1.RuntimeService/Version with an empty request) over HTTP/2, as the gRPC
// protocol frames it: a 5-byte message header (not compressed, length 0), and the call's
// outcome in the grpc-status trailer (or header, for a response with no body).
import { connect as http2Connect, constants } from 'node:http2';
import { createConnection } from 'node:net';

const VERSION_PATH = '/runtime.v1.RuntimeService/Version';
/** An empty message: flags 0 (not compressed), length 0. */
const EMPTY_MESSAGE = Buffer.alloc(5);

/** Resolves true when the CRI on `socket` answers Version with OK within `timeoutMs`, false otherwise. */
export function criAnswers(socket: string, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let settled = false;
    const session = http2Connect('http://localhost', { createConnection: () => createConnection(socket) });
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    session.on('error', () => done(false));
    const call = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: VERSION_PATH,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
    });
    call.on('error', () => done(false));
    let status: string | undefined;
    call.on('response', (headers) => {
      if (Number(headers[constants.HTTP2_HEADER_STATUS]) !== 200) done(false);
      // A response without a message carries its status in the headers.
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    });
    call.on('trailers', (trailers) => {
      if (trailers['grpc-status'] !== undefined) status = String(trailers['grpc-status']);
    });
    call.on('data', () => undefined); // the VersionResponse: its content is not needed
    call.on('close', () => done(status === '0'));
    call.end(EMPTY_MESSAGE);
  });
}
