// An in-process API server over plain HTTP for the bad-input and abuse tests: the real
// ApiServer handlers on the client fixture's cluster, a bearer token "admin" for
// system:masters.
import { createServer, request, type Agent, type Server } from 'node:http';
import { listenOn } from '../../machinery/ports.js';
import { ApiServer } from '../../apiserver/server.js';
import { Authenticator } from '../../apiserver/authentication.js';
import { startCluster, type Cluster } from './client-fixture.js';

export interface HttpApi {
  cluster: Cluster;
  api: ApiServer;
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHttpApi(namespaces = ['default'], limits: { maxRequestsInflight?: number; maxMutatingRequestsInflight?: number; maxWatchBacklogBytes?: number } = {}): Promise<HttpApi> {
  const cluster = await startCluster(namespaces);
  const authenticator = new Authenticator([(t) => (t === 'admin' ? { name: 'admin', groups: ['system:masters', 'system:authenticated'] } : undefined)]);
  const api = new ApiServer({ pipeline: cluster.pipeline, authenticator, serverAddress: '127.0.0.1:0', ...limits });
  const server = createServer(api.handle);
  const port = await listenOn(server, 0, '127.0.0.1');
  return {
    cluster,
    api,
    server,
    port,
    async close() {
      api.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cluster.close();
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): Record<string, any>;
}

export function call(port: number, method: string, path: string, body?: string | Buffer, contentType = 'application/json', headers: Record<string, string> = {}, agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers: { authorization: 'Bearer admin', 'content-type': contentType, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
