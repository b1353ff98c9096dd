// Opening a cluster's store by kind: the SQLite file, the cluster's own etcd (started
// and supervised here), or an existing etcd cluster named by URLs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertKeyPair } from '../machinery/pki.js';
import type { Store } from './types.js';

export type StoreKind = 'sqlite' | 'etcd';

export function parseStoreKind(v: string): StoreKind {
  if (v === 'sqlite' || v === 'etcd') return v;
  throw new Error(`invalid store "${v}": use sqlite or etcd`);
}

export interface ExternalEtcd {
  /** Client URLs (--etcd-servers). */
  servers: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * How another API server of the cluster reaches the etcd its first server runs (its
 * client URLs and the client certificate files under <clusterDir>/etcd).
 */
export function localEtcdClient(clusterDir: string): ExternalEtcd {
  const dir = join(clusterDir, 'etcd');
  let ports: { client?: number; clients?: number[] };
  try {
    ports = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as typeof ports;
  } catch {
    throw new Error(`the cluster's etcd has not been started (no ${join(dir, 'ports.json')}): start its first server first`);
  }
  const clients = ports.clients ?? (ports.client ? [ports.client] : []);
  return {
    servers: clients.map((p) => `https://127.0.0.1:${p}`),
    caFile: join(dir, 'pki', 'ca.crt'),
    certFile: join(dir, 'pki', 'kite-client.crt'),
    keyFile: join(dir, 'pki', 'kite-client.key'),
  };
}

export interface OpenStoreOptions {
  kind: StoreKind;
  /** The cluster directory (the local etcd lives in <clusterDir>/etcd). */
  clusterDir: string;
  /** The control plane's data directory (SQLite: <dataDir>/state.db). */
  dataDir: string;
  /** The cluster CA: signs the local etcd's certificates. Required for a local etcd. */
  ca?: CertKeyPair;
  /** Members of the cluster's own etcd (default 1), when it is first created. */
  etcdMembers?: number;
  /** Use this etcd cluster instead of starting one (kind etcd). */
  external?: ExternalEtcd;
  /** Compact etcd's history every this many ms (upstream's --etcd-compaction-interval, 5 min); 0 = never. */
  compactionIntervalMs?: number;
  log?: (msg: string) => void;
}

export interface OpenedStore {
  store: Store;
  /** For logs: "sqlite <file>", "etcd https://..." */
  description: string;
  /** Closes the store, then stops the local etcd if one was started. */
  close(): Promise<void>;
}

const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60_000;

export async function openStore(opts: OpenStoreOptions): Promise<OpenedStore> {
  if (opts.kind === 'sqlite') {
    const { SqliteStore } = await import('./sqlite.js');
    const file = join(opts.dataDir, 'state.db');
    const store = new SqliteStore(file);
    // The same compactor as for etcd: the SQLite history is compacted (and its space
    // reclaimed) every interval, keeping one interval of history for watch resumption.
    const stopCompactor = startCompactor(store, opts.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS, opts.log);
    return {
      store,
      description: `sqlite ${file}`,
      close: async () => {
        stopCompactor();
        await store.close();
      },
    };
  }
  const { EtcdStore, readTLSFiles } = await import('./etcd.js');
  let endpoints: string[];
  let tls: { ca?: string; cert?: string; key?: string };
  let stopEtcd = async (): Promise<void> => {};
  if (opts.external) {
    endpoints = opts.external.servers;
    tls = readTLSFiles(opts.external);
  } else {
    if (!opts.ca) throw new Error('a local etcd needs the cluster CA');
    const { startEtcd } = await import('./etcd-process.js');
    const etcd = await startEtcd({ clusterDir: opts.clusterDir, ca: opts.ca, members: opts.etcdMembers, log: opts.log });
    endpoints = etcd.clientURLs;
    tls = etcd.tls;
    stopEtcd = () => etcd.stop();
  }
  let store: Awaited<ReturnType<typeof EtcdStore.open>>;
  try {
    store = await EtcdStore.open({ endpoints, ...tls, connectTimeoutMs: 60_000 });
  } catch (err) {
    await stopEtcd();
    throw err;
  }
  const version = await store.serverVersion().catch(() => 'unknown version');
  const stopCompactor = startCompactor(store, opts.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS, opts.log);
  return {
    store,
    description: `etcd ${version} at ${endpoints.join(',')}`,
    async close() {
      stopCompactor();
      await store.close();
      await stopEtcd();
    },
  };
}

/**
 * Upstream's compactor: every interval, compact to the revision seen one interval ago,
 * so watchers have a full interval of history to resume from.
 */
export function startCompactor(store: Store, intervalMs: number, log?: (msg: string) => void): () => void {
  if (intervalMs <= 0) return () => {};
  let last = store.revision();
  const timer = setInterval(() => {
    const target = last;
    last = store.revision();
    if (target > store.compactedRevision()) {
      store.compact(target).catch((err) => log?.(`store: compaction to ${target} failed: ${(err as Error).message}`));
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
