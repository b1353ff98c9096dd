// `kite dashboard`: serves the web UI (dashboard/server.ts) until interrupted.
import { startDashboard } from '../../dashboard/server.js';
import { userClientConfig, type AccessOptions } from '../access.js';

export async function dashboard(o: AccessOptions & { port: number; address: string }): Promise<void> {
  const config = userClientConfig(o);
  const d = await startDashboard({ config, port: o.port, address: o.address, clusterName: o.name });
  console.log(`kite dashboard for cluster "${o.name}" at ${d.url} (acting as your kubeconfig identity; Ctrl-C stops it)`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await d.close();
}
