// Shared by the big-store benchmarks (startup.ts, scale.ts): lay a `kite server` (no node)
// cluster out and stop it, fill its SQLite store directly (far faster than through the
// API), start it again, and read figures from it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../store/sqlite.js';
import { clusterPathsIn } from '../cli/paths.js';
import { clusterPKIPaths } from '../machinery/pki.js';

const here = dirname(fileURLToPath(import.meta.url));
const KITE_MAIN = join(here, '..', 'cli', 'main.js');

/** Node options for the server alone (e.g. `--cpu-prof --cpu-prof-dir=DIR`, which NODE_OPTIONS does not take), space-separated. */
const SERVER_NODE_ARGS = (process.env.KITE_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

export function startServer(name: string, clusterDir: string, port: number): ChildProcess {
  return spawn(process.execPath, [...SERVER_NODE_ARGS, KITE_MAIN, 'server', '--name', name, '--data-dir', clusterDir, '--api-port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, KITE_NODE: 'none' },
  });
}

export interface Reply {
  code: number;
  bytes: number;
  body?: Buffer;
}

/** One HTTPS request; the body is kept when `keep` (else only counted). */
export function call(port: number, agent: Agent, method: string, path: string, opts: { body?: object; type?: string; accept?: string; keep?: boolean; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const payload = opts.body ? Buffer.from(JSON.stringify(opts.body)) : undefined;
    const headers: Record<string, string | number> = payload ? { 'Content-Type': opts.type ?? 'application/json', 'Content-Length': payload.length } : {};
    if (opts.accept) headers.Accept = opts.accept;
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers, timeout: opts.timeoutMs ?? 2000 }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (opts.keep) chunks.push(c);
      });
      res.on('end', () => resolve({ code: res.statusCode ?? 0, bytes, body: opts.keep ? Buffer.concat(chunks) : undefined }));
      res.on('error', () => resolve({ code: 0, bytes }));
    });
    req.on('error', () => resolve({ code: 0, bytes: 0 }));
    req.on('timeout', () => req.destroy());
    req.end(payload);
  });
}

export function get(port: number, agent: Agent, path: string, timeoutMs = 2000): Promise<Reply> {
  return call(port, agent, 'GET', path, { timeoutMs });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** The admin's HTTPS agent, once the cluster's PKI exists. */
export function adminAgent(clusterDir: string, keepAlive = false): Agent {
  const pki = clusterPKIPaths(clusterPathsIn(clusterDir).pki);
  return new Agent({ keepAlive, ca: readFileSync(pki.caCert, 'utf8'), cert: readFileSync(pki.adminCert, 'utf8'), key: readFileSync(pki.adminKey, 'utf8') });
}

/** Waits for /readyz 200; returns the seconds since `since` (a performance.now()). */
export async function waitReady(port: number, agent: () => Agent, child: ChildProcess, since = performance.now()): Promise<number> {
  for (;;) {
    try {
      if ((await get(port, agent(), '/readyz')).code === 200) return (performance.now() - since) / 1000;
    } catch {
      // PKI not written yet
    }
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a server on a new cluster dir once (PKI, bootstrap objects, the default
 * ServiceAccount made by its controllers), then stops it; returns the admin agent.
 */
export async function layOutCluster(name: string, clusterDir: string, port: number): Promise<Agent> {
  const server = startServer(name, clusterDir, port);
  let agent: Agent | undefined;
  const agentNow = () => (agent ??= adminAgent(clusterDir));
  await waitReady(port, agentNow, server);
  while ((await get(port, agentNow(), '/api/v1/namespaces/default/serviceaccounts/default')).code !== 200) await new Promise((r) => setTimeout(r, 100));
  await stop(server);
  return agentNow();
}

/** An object to store: its key under /registry/ and its JSON. */
export interface StoredObject {
  key: string;
  object: object;
}

/**
 * Writes `count` objects made by `make(i)` straight into the cluster's SQLite store
 * (synchronous=OFF, batches of 500), then tells the object history it has seen them all
 * (as when objects came through the API: a start does not replay the fill). Returns
 * the store file.
 */
export async function fillStore(clusterDir: string, count: number, make: (i: number) => StoredObject): Promise<string> {
  const paths = clusterPathsIn(clusterDir);
  const file = join(paths.data, 'state.db');
  const store = new SqliteStore(file, { synchronous: 'OFF' });
  const BATCH = 500;
  for (let i = 0; i < count; i += BATCH) {
    const writes: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      const { key, object } = make(j);
      writes.push(store.create(key, Buffer.from(JSON.stringify(object))));
    }
    await Promise.all(writes);
  }
  const revision = store.revision();
  await store.close();
  const history = new Database(join(paths.data, 'history.db'));
  history.prepare("INSERT INTO meta (name, value) VALUES ('last_revision', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value").run(revision);
  history.close();
  return file;
}

/** A uid that is unique per (kind number, index). */
export function uidOf(kind: number, i: number): string {
  return `00000000-0000-4000-${String(8000 + kind).padStart(4, '0')}-${String(i).padStart(12, '0')}`;
}

/** A ConfigMap of about `size` bytes. */
export function configMapObject(namespace: string, i: number, size: number): StoredObject {
  const name = `cm-${i}`;
  const pad = 'x'.repeat(Math.max(0, size - 300));
  return {
    key: `/registry/core/configmaps/${namespace}/${name}`,
    object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace, uid: uidOf(0, i), creationTimestamp: '2026-01-01T00:00:00Z' }, data: { payload: pad } },
  };
}
