// `--hollow-nodes N`: simulated nodes hosted by `kite server` — the real kubelet code
// (registration, Lease heartbeats, pod workers, status) over the simulated runtime
// (kubelet/hollow.ts), so large clusters can be faked on one machine for scale tests
// and benchmarks of the control plane. They share one API connection pool.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPKI } from '../machinery/pki.js';
import type { Kubelet } from '../kubelet/kubelet.js';

export interface HollowNodesContext {
  clusterName: string;
  /** https URL of the API server. */
  server: string;
  pki: ClusterPKI;
  /** Where their (empty) kubelet directories go. */
  dir?: string;
}

export interface HollowNodes {
  names: string[];
  close(): Promise<void>;
}

/** Hollow nodes started at a time (each registers and lists its pods). */
const START_BATCH = 25;

/** Fails early (before anything is started) when `count` hollow nodes cannot be run. */
export function checkHollowNodes(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`invalid hollow node count ${count}`);
}

export function hollowNodeName(cluster: string, i: number): string {
  return `${cluster}-hollow-${i}`;
}

export async function startHollowNodes(count: number, ctx: HollowNodesContext): Promise<HollowNodes> {
  checkHollowNodes(count);
  if (count === 0) return { names: [], close: async () => {} };
  // Loaded here, not with this module: every kite command reads parseNodeCount from it, and
  // the kubelet's modules (gRPC, its proto) took ~100 ms of each command's start.
  const [{ HttpTransport }, { defaultKubeletConfig }, { HollowRuntime }, { Kubelet }] = await Promise.all([
    import('../client/http-transport.js'),
    import('../kubelet/config.js'),
    import('../kubelet/hollow.js'),
    import('../kubelet/kubelet.js'),
  ]);
  const transport = new HttpTransport({ server: ctx.server, caData: ctx.pki.ca.cert, certData: ctx.pki.admin.cert, keyData: ctx.pki.admin.key }, { component: 'kubelet' });
  const root = ctx.dir ?? join(ctx.pki.dir, '..', 'hollow');
  const kubelets: Kubelet[] = [];
  const quiet = () => {};
  for (let start = 0; start < count; start += START_BATCH) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + START_BATCH); i++) {
      const nodeName = hollowNodeName(ctx.clusterName, i);
      const rootDir = join(root, nodeName);
      mkdirSync(rootDir, { recursive: true });
      const config = defaultKubeletConfig({
        nodeName,
        apiServer: ctx.server,
        rootDir,
        caFile: '',
        clientCertFile: '',
        clientKeyFile: '',
        servingCertFile: '',
        servingKeyFile: '',
        runtime: 'hollow',
        // A fake address per node (no server listens: hollow nodes offer no streaming).
        nodeIP: `10.${250 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
        podCIDR: `10.${128 + (i >> 8)}.${i & 255}.0/24`,
        labels: { 'kite.io/hollow': 'true' },
      });
      const kubelet = new Kubelet({ config, runtime: new HollowRuntime({ nodeName }), transport, hollow: true, log: quiet });
      kubelets.push(kubelet);
      batch.push(kubelet.start());
    }
    await Promise.all(batch);
  }
  return {
    names: kubelets.map((k) => k.config.nodeName),
    async close() {
      await Promise.all(kubelets.map((k) => k.stop()));
      transport.close();
    },
  };
}

export function parseNodeCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new Error(`invalid node count "${value}"`);
  return n;
}
