// Seam for `--hollow-nodes N`: simulated nodes (a kubelet that registers, heartbeats and
// reports pods Running without running containers), hosted by `kite server` so large
// clusters can be faked on one machine. Not implemented yet.
import type { ClusterPKI } from '../machinery/pki.js';
import { CliError } from './errors.js';

export interface HollowNodesContext {
  clusterName: string;
  /** https URL of the API server. */
  server: string;
  pki: ClusterPKI;
}

export interface HollowNodes {
  close(): Promise<void>;
}

/** Fails early (before anything is started) when `count` hollow nodes cannot be run. */
export function checkHollowNodes(count: number): void {
  if (count > 0) throw new CliError('--hollow-nodes is not implemented yet');
}

export async function startHollowNodes(count: number, _ctx: HollowNodesContext): Promise<HollowNodes> {
  checkHollowNodes(count);
  return { close: async () => {} };
}

export function parseNodeCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new Error(`invalid node count "${value}"`);
  return n;
}
