// The cluster's store from the CLI's side: which backend a server opens (flags, else
// what cluster.json remembers, else SQLite), and `kite store migrate`, which copies a
// stopped cluster's objects into the other backend and switches the cluster to it.
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadOrCreateClusterPKI, type CertKeyPair } from '../../machinery/pki.js';
import type { ExternalEtcd, OpenedStore, StoreKind } from '../../store/open.js';
import { clusterExists, clusterStatus, openCluster, readClusterState, withClusterLock, writeClusterState, type ClusterState } from '../cluster.js';
import { CliError, errorMessage } from '../errors.js';
import { DEFAULT_CLUSTER_NAME, type ClusterPaths } from '../paths.js';
import { Progress } from '../progress.js';

/** What `kite server` was asked for (--store, --etcd-*). */
export interface StoreFlags {
  store?: StoreKind;
  etcdServers?: string[];
  etcdCAFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
}

/** The store settings cluster.json keeps, so `kite up` resumes a cluster on the same store. */
export interface StoreState {
  store?: StoreKind;
  /** An existing etcd cluster instead of the cluster's own. */
  etcd?: ExternalEtcd;
}

/** Flags win; else the cluster's remembered settings; else SQLite. */
export function resolveStoreConfig(flags: StoreFlags, previous: StoreState | undefined): Required<Pick<StoreState, 'store'>> & StoreState {
  if (flags.etcdServers && flags.etcdServers.length > 0) {
    if (flags.store === 'sqlite') throw new CliError('--etcd-servers needs --store etcd (or no --store)');
    return {
      store: 'etcd',
      etcd: { servers: flags.etcdServers, caFile: flags.etcdCAFile, certFile: flags.etcdCertFile, keyFile: flags.etcdKeyFile },
    };
  }
  if (flags.etcdCAFile || flags.etcdCertFile || flags.etcdKeyFile) throw new CliError('--etcd-cafile, --etcd-certfile and --etcd-keyfile go with --etcd-servers');
  if (flags.store) return { store: flags.store, etcd: flags.store === 'etcd' && previous?.store === 'etcd' ? previous.etcd : undefined };
  return { store: previous?.store ?? 'sqlite', etcd: previous?.etcd };
}

/**
 * Opens the store a `kite server` runs on and says what to remember in cluster.json.
 * (Used by cli/commands/server.ts; the stub control plane needs none.)
 */
export async function openServerStore(
  flags: StoreFlags,
  paths: ClusterPaths,
  ca: CertKeyPair,
  log: (msg: string) => void,
  /** An additional API server: it uses the etcd the cluster's first server runs, never one of its own. */
  additional = false,
): Promise<{ opened?: OpenedStore; state: StoreState }> {
  const config = resolveStoreConfig(flags, readClusterState(paths));
  if (additional && config.store !== 'etcd') throw new CliError('additional API servers (--server-index) need the etcd store');
  if (process.env.KITE_CONTROL_PLANE === 'stub') return { state: config };
  const { openStore, localEtcdClient } = await import('../../store/open.js');
  const external = config.etcd ?? (additional ? localEtcdClient(paths.dir) : undefined);
  // `kite up --servers N` (N > 1): as many etcd members, on this host.
  const members = Math.max(1, readClusterState(paths)?.servers ?? 1);
  const opened = await openStore({ kind: config.store, clusterDir: paths.dir, dataDir: paths.data, ca, external, etcdMembers: members, log });
  log(`store: ${opened.description}`);
  return { opened, state: config };
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Moves a backend's earlier data aside so the copy starts from an empty store. */
function setAside(kind: StoreKind, paths: ClusterPaths, progress: Progress): void {
  const targets = kind === 'sqlite' ? ['state.db', 'state.db-wal', 'state.db-shm'].map((f) => join(paths.data, f)) : [join(paths.dir, 'etcd', 'data')];
  const suffix = `.before-migrate-${stamp()}`;
  for (const t of targets) {
    if (!existsSync(t)) continue;
    renameSync(t, t + suffix);
    progress.note(`Kept the earlier ${kind} data as ${t + suffix}`);
  }
}

export interface MigrateOptions {
  name: string;
  to: StoreKind;
}

/** Copies every object of a stopped cluster into the other store and switches the cluster to it. */
export async function migrateStore(opts: MigrateOptions, progress = new Progress()): Promise<void> {
  const c = openCluster(opts.name);
  if (!clusterExists(c)) throw new CliError(`no cluster named "${c.name}" (see \`kite list\`)`);
  await withClusterLock(c.paths, async () => {
    const status = clusterStatus(c.paths);
    if (status.state === 'running') throw new CliError(`cluster "${c.name}" is running (pid ${status.pid}); stop it first with \`kite down --name ${c.name}\``);
    const state: ClusterState | undefined = readClusterState(c.paths);
    if (!state) throw new CliError(`cluster "${c.name}" has no state (${c.paths.state}); start it once with \`kite up\``);
    const from = state.store ?? 'sqlite';
    if (state.etcd) throw new CliError(`cluster "${c.name}" uses an external etcd (${state.etcd.servers.join(',')}); migrate it with etcd's own tools`);
    if (from === opts.to) throw new CliError(`cluster "${c.name}" already uses the ${from} store`);

    const { openStore } = await import('../../store/open.js');
    const pki = await loadOrCreateClusterPKI(c.paths.pki);
    const open = (kind: StoreKind) => openStore({ kind, clusterDir: c.paths.dir, dataDir: c.paths.data, ca: pki.ca, compactionIntervalMs: 0 });
    const source = await progress.step(`Opening the ${from} store`, () => open(from));
    let copied = 0;
    try {
      const listed = await source.store.list('/registry/');
      setAside(opts.to, c.paths, progress);
      const target = await progress.step(`Opening a new ${opts.to} store`, () => open(opts.to));
      try {
        await progress.step(
          `Copying ${listed.items.length} objects`,
          async () => {
            // A bounded number of writes in flight: etcd answers each after a raft round.
            let next = 0;
            const worker = async () => {
              while (next < listed.items.length) {
                const kv = listed.items[next++];
                await target.store.create(kv.key, kv.value);
                copied++;
              }
            };
            await Promise.all(Array.from({ length: 32 }, worker));
            const check = await target.store.list('/registry/');
            if (check.items.length !== listed.items.length) throw new Error(`copied ${check.items.length} of ${listed.items.length} objects`);
          },
          () => `Copied ${copied} objects from ${from} to ${opts.to}`,
        );
      } finally {
        await target.close();
      }
    } catch (err) {
      throw new CliError(`migration failed (the cluster still uses ${from}): ${errorMessage(err)}`);
    } finally {
      await source.close();
    }
    writeClusterState(c.paths, { ...state, store: opts.to, etcd: undefined });
    progress.info(`Cluster "${c.name}" now uses the ${opts.to} store; start it with \`kite up --name ${c.name}\`.`);
  });
}

export function registerStoreCommands(program: Command, parseKind: (v: string) => StoreKind): void {
  const store = program.command('store').description("Manage a cluster's store");
  store
    .command('migrate')
    .description("Copy a stopped cluster's objects into the other store (sqlite or etcd) and switch the cluster to it")
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .requiredOption('--to <store>', 'sqlite or etcd', parseKind)
    .action(async (o: { name: string; to: StoreKind }) => {
      await migrateStore({ name: o.name, to: o.to });
    });
}
