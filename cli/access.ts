// How CLI commands that act as the user (history, dashboard) reach a cluster: the
// user's kubeconfig context for the cluster (`kite-NAME`), else the cluster's own
// kubeconfig file, or an explicit --kubeconfig/--context.
import { existsSync } from 'node:fs';
import { loadKubeconfig, type ClientConfig } from '../client/http-transport.js';
import { contextName } from '../machinery/kubeconfig.js';
import { openCluster } from './cluster.js';
import { CliError } from './errors.js';

export interface AccessOptions {
  name: string;
  kubeconfig?: string;
  context?: string;
}

export function userClientConfig(o: AccessOptions): ClientConfig {
  if (o.kubeconfig) return loadKubeconfig(o.kubeconfig, { context: o.context });
  try {
    return loadKubeconfig(undefined, { context: o.context ?? contextName(o.name) });
  } catch (err) {
    if (o.context) throw err;
  }
  const own = openCluster(o.name).paths.kubeconfig;
  if (!existsSync(own)) throw new CliError(`cluster "${o.name}" has no kubeconfig context "${contextName(o.name)}" and no ${own}; is it up?`);
  return loadKubeconfig(own);
}
