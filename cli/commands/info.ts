// `kite kubeconfig` and `kite list`.
import { existsSync, readFileSync } from 'node:fs';
import { clusterExists, clusterStatus, listClusterNames, openCluster, readClusterState } from '../cluster.js';
import { CliError } from '../errors.js';
import { clusterPaths } from '../paths.js';

export function printKubeconfig(name: string, out: NodeJS.WritableStream = process.stdout): void {
  const c = openCluster(name);
  if (!existsSync(c.paths.kubeconfig)) {
    throw new CliError(
      clusterExists(c)
        ? `cluster "${c.name}" has no kubeconfig yet (run \`kite up --name ${c.name}\`)`
        : `no cluster named "${c.name}" (see \`kite list\`)`,
    );
  }
  out.write(readFileSync(c.paths.kubeconfig, 'utf8'));
}

export interface ClusterSummary {
  name: string;
  state: 'running' | 'stopped';
  port?: number;
  pid?: number;
}

export function clusterSummaries(): ClusterSummary[] {
  return listClusterNames().map((name) => {
    const paths = clusterPaths(name);
    const status = clusterStatus(paths);
    const state = readClusterState(paths);
    return {
      name,
      state: status.state,
      port: state?.apiPort,
      pid: status.state === 'running' ? status.pid : undefined,
    };
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
}

export function listClusters(out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): void {
  const clusters = clusterSummaries();
  if (clusters.length === 0) {
    err.write('No kite clusters found.\n');
    return;
  }
  const rows = [['NAME', 'STATE', 'PORT', 'PID']];
  for (const c of clusters) rows.push([c.name, c.state, c.port ? String(c.port) : '-', c.pid ? String(c.pid) : '-']);
  out.write(table(rows));
}
