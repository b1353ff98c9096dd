// `kite dashboard`: a web UI for one cluster, served on loopback. The browser talks to
// this server only; API calls (`/api/…`, `/apis/…`, including watches, log follows and
// exec WebSockets) are forwarded to the API server as the kubeconfig's user, so the API
// server authenticates and authorizes each one and RBAC applies as for kubectl.
//
// Another web page the user visits must not be able to use that identity: forwarded
// requests need the `X-Kite-Dashboard` header (a cross-site page can't set it without a
// CORS preflight, which is never answered), WebSockets need this server's own Origin,
// and the Host header must name this server (DNS rebinding).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { ClientConfig } from '../client/http-transport.js';
import { Upstream } from './upstream.js';

export const DASHBOARD_HEADER = 'x-kite-dashboard';

export interface DashboardOptions {
  config: ClientConfig;
  port: number;
  address?: string;
  /** The cluster's name, shown in the page title. */
  clusterName?: string;
}

export interface Dashboard {
  port: number;
  url: string;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** dashboard/ui in the source tree, from dist/dashboard/server.js. */
const UI_DIR = join(here, '..', '..', 'dashboard', 'ui');
const require = createRequire(import.meta.url);

/** Files the page loads besides its own: shared code compiled by tsc, and browser libraries from node_modules. */
function libraryFiles(): Record<string, string> {
  const xterm = dirname(require.resolve('@xterm/xterm/package.json'));
  const yaml = dirname(require.resolve('yaml/package.json'));
  return {
    '/lib/diff.js': join(here, '..', 'apiserver', 'history', 'diff.js'),
    '/vendor/xterm.mjs': join(xterm, 'lib', 'xterm.mjs'),
    '/vendor/xterm.css': join(xterm, 'css', 'xterm.css'),
    '/vendor/yaml/': join(yaml, 'browser', 'dist') + '/',
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Request headers passed on to the API server (nothing that carries the browser's identity). */
const FORWARDED = ['accept', 'content-type', 'content-length'];

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const upstream = new Upstream(opts.config);
  const libs = libraryFiles();
  let origin = '';
  const hostOk = (req: IncomingMessage) => {
    const host = req.headers.host ?? '';
    return host === origin.replace(/^http:\/\//, '') || host === `localhost:${new URL(origin).port}`;
  };

  const serveFile = async (res: ServerResponse, file: string) => {
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
      res.end(data);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  };

  const serveStatic = (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (path === '/' || path === '/index.html') return serveFile(res, join(UI_DIR, 'index.html'));
    if (path.startsWith('/ui/')) {
      const rel = normalize(path.slice(4));
      if (rel.startsWith('..')) return res.writeHead(404).end();
      return serveFile(res, join(UI_DIR, rel));
    }
    if (path === '/config') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ cluster: opts.clusterName ?? '', namespace: opts.config.namespace ?? 'default' }));
    }
    for (const [prefix, file] of Object.entries(libs)) {
      if (prefix.endsWith('/') && path.startsWith(prefix)) {
        const rel = normalize(path.slice(prefix.length));
        if (rel.startsWith('..')) return res.writeHead(404).end();
        return serveFile(res, join(file, rel));
      }
      if (path === prefix) return serveFile(res, file);
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  };

  const proxy = (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers[DASHBOARD_HEADER] !== '1') {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`missing ${DASHBOARD_HEADER} header`);
      return;
    }
    const headers: Record<string, string> = { 'user-agent': 'kite-dashboard' };
    for (const h of FORWARDED) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
    const up = upstream.request(req.method ?? 'GET', req.url ?? '/', headers, (ures) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(ures.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive') out[k] = v;
      res.writeHead(ures.statusCode ?? 502, out);
      // Watches and log follows stream: pass each chunk on as it comes.
      res.flushHeaders();
      ures.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`API server: ${err.message}`);
    });
    // The browser gone (closed a watch or a log): stop the upstream stream too.
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    if (!hostOk(req)) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('wrong host');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path.startsWith('/api/') || path === '/api' || path.startsWith('/apis/') || path === '/apis' || path === '/version') return proxy(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    void serveStatic(req, res, path);
  });

  // Exec: the browser's WebSocket is tunnelled to the API server's (same subprotocols).
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!hostOk(req) || req.headers.origin !== origin || !(req.url ?? '').startsWith('/api/')) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const headers: Record<string, string> = { connection: 'Upgrade', upgrade: 'websocket', 'user-agent': 'kite-dashboard' };
    for (const h of ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions']) {
      if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
    }
    const up = upstream.request('GET', req.url!, headers, (ures) => {
      // No upgrade: pass the API server's refusal (e.g. 403) on.
      socket.end(`HTTP/1.1 ${ures.statusCode} ${ures.statusMessage}\r\nconnection: close\r\n\r\n`);
      ures.resume();
    });
    up.on('upgrade', (ures, usock, uhead) => {
      const lines = [`HTTP/1.1 101 Switching Protocols`];
      for (let i = 0; i < ures.rawHeaders.length; i += 2) lines.push(`${ures.rawHeaders[i]}: ${ures.rawHeaders[i + 1]}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (uhead.length) socket.write(uhead);
      if (head.length) usock.write(head);
      usock.pipe(socket);
      socket.pipe(usock);
      const end = () => {
        usock.destroy();
        socket.destroy();
      };
      usock.on('error', end);
      socket.on('error', end);
      usock.on('close', end);
      socket.on('close', end);
    });
    up.on('error', () => socket.destroy());
    up.end();
  });

  const address = opts.address ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  return {
    port,
    url: `${origin}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        upstream.close();
      }),
  };
}
