// An in-process control plane serving HTTPS on a free loopback port, with a fresh CA, in
// a directory of its own: what unit tests that need a real API server (and its clients
// over HTTPS) start before their tests and close after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../server/control-plane.js';
import { createCA, createServiceAccountKeyPair, issueServingCert, type CertKeyPair } from '../../machinery/pki.js';

export interface TestControlPlane {
  cp: ControlPlane;
  /** The cluster CA (with its key: tests issue their clients' certificates). */
  ca: CertKeyPair;
  /** The control plane's data directory (removed by close). */
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  close(): Promise<void>;
}

export async function startTestControlPlane(name: string): Promise<TestControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), `kite-${name}-`));
  const ca = await createCA('kubernetes');
  const serving = await issueServingCert(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const cp = await startControlPlane({
    name,
    dataDir: dir,
    port: 0,
    bindAddress: '127.0.0.1',
    tls: { caCert: ca.cert, cert: serving.cert, key: serving.key },
    serviceAccountKeys: createServiceAccountKeyPair(),
  });
  return {
    cp,
    ca,
    dir,
    server: `https://127.0.0.1:${cp.port}`,
    async close() {
      await cp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
