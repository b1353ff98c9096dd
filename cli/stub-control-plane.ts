// A stand-in control plane that only answers the health endpoints over TLS (/readyz,
// /livez, /healthz -> "ok"; everything else a 404 Status). `kite server` uses it instead
// of server/control-plane.ts when KITE_CONTROL_PLANE=stub, so the CLI's lifecycle
// (up/down/list, certificates, kubeconfig) can be tested without the real API server.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ControlPlaneOptions } from '../server/control-plane.js';

export async function startStubControlPlane(opts: ControlPlaneOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer(
    { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.caCert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/readyz' || path === '/livez' || path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'the server could not find the requested resource',
          reason: 'NotFound',
          code: 404,
        }),
      );
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
