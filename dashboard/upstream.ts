// Requests to the API server as the kubeconfig's user (client certificate or token),
// for the dashboard's proxy and `kite history`: the API server authenticates and
// authorizes each one, so RBAC applies exactly as for kubectl.
import { Agent, request } from 'node:https';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { ClientConfig } from '../client/http-transport.js';

export class Upstream {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(readonly config: ClientConfig) {
    this.url = new URL(config.server);
    this.agent = new Agent({
      keepAlive: true,
      ca: config.caData,
      cert: config.certData,
      key: config.keyData,
      rejectUnauthorized: !config.insecureSkipTLSVerify,
      servername: config.tlsServerName,
    });
  }

  /** Starts a request (`path` includes the query); the caller writes the body and ends it. */
  request(method: string, path: string, headers: OutgoingHttpHeaders, onResponse: (res: IncomingMessage) => void) {
    const h: OutgoingHttpHeaders = { ...headers };
    if (this.config.token) h.authorization = `Bearer ${this.config.token}`;
    return request(
      {
        agent: this.agent,
        host: this.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.url.port ? Number(this.url.port) : 443,
        method,
        path: this.url.pathname.replace(/\/+$/, '') + path,
        headers: h,
        servername: this.config.tlsServerName,
      },
      onResponse,
    );
  }

  /** A whole JSON answer: `{status, body}` (body parsed when it is JSON). */
  json(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const headers: OutgoingHttpHeaders = { accept: 'application/json', 'user-agent': 'kite-dashboard' };
      if (data) Object.assign(headers, { 'content-type': contentType, 'content-length': data.length });
      const req = this.request(method, path, headers, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
