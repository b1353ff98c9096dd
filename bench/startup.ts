// Start-up time with a big store: a `kite server` (no node) is started once to lay out its
// cluster, stopped, its SQLite store filled with N ConfigMaps of about SIZE bytes each,
// then started again: the figures are the time from spawn to /readyz answering 200 and
// to the first list of the big namespace, and the RSS after that list.
//
//   node dist/bench/startup.js [--objects 84000] [--size 5000] [--runs 2] [--keep yes]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../store/sqlite.js';
import { clusterPathsIn } from '../cli/paths.js';
import { clusterPKIPaths } from '../machinery/pki.js';
import { freePort } from '../test/e2e/harness.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const OBJECTS = Number(args.get('objects') ?? 84_000);
const SIZE = Number(args.get('size') ?? 5_000);
const RUNS = Number(args.get('runs') ?? 2);
/** Leave the filled cluster dir behind (for profiling a start by hand). */
const KEEP = args.get('keep') === 'yes';

const here = dirname(fileURLToPath(import.meta.url));
const KITE_MAIN = join(here, '..', 'cli', 'main.js');

function startServer(clusterDir: string, port: number): ChildProcess {
  return spawn(process.execPath, [KITE_MAIN, 'server', '--name', 'bench-startup', '--data-dir', clusterDir, '--api-port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, KITE_NODE: 'none' },
  });
}

function get(port: number, agent: Agent, path: string, timeoutMs = 2000): Promise<{ code: number; bytes: number }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, bytes }));
      res.on('error', () => resolve({ code: 0, bytes }));
    });
    req.on('error', () => resolve({ code: 0, bytes: 0 }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'kite-bench-startup-'));
const clusterDir = join(dir, 'cluster');
try {
  const paths = clusterPathsIn(clusterDir);
  const port = await freePort();
  // 1. Lay the cluster out (PKI, bootstrap objects), then stop it.
  let server = startServer(clusterDir, port);
  const pki = clusterPKIPaths(paths.pki);
  let agent: Agent | undefined;
  for (;;) {
    try {
      agent ??= new Agent({ keepAlive: false, ca: readFileSync(pki.caCert, 'utf8'), cert: readFileSync(pki.adminCert, 'utf8'), key: readFileSync(pki.adminKey, 'utf8') });
      if ((await get(port, agent, '/readyz')).code === 200) break;
    } catch {
      // PKI not written yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // A cluster that has run: its controllers made the default ServiceAccount.
  while ((await get(port, agent, '/api/v1/namespaces/default/serviceaccounts/default')).code !== 200) await new Promise((r) => setTimeout(r, 100));
  await stop(server);

  // 2. Fill the store directly (a namespace `big` of ConfigMaps).
  const file = join(paths.data, 'state.db');
  const store = new SqliteStore(file, { synchronous: 'OFF' });
  const t0 = performance.now();
  const pad = 'x'.repeat(Math.max(0, SIZE - 300));
  const BATCH = 500;
  for (let i = 0; i < OBJECTS; i += BATCH) {
    const writes: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(OBJECTS, i + BATCH); j++) {
      const name = `cm-${j}`;
      const obj = { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace: 'big', uid: `00000000-0000-4000-8000-${String(j).padStart(12, '0')}`, creationTimestamp: '2026-01-01T00:00:00Z' }, data: { payload: pad } };
      writes.push(store.create(`/registry/core/configmaps/big/${name}`, Buffer.from(JSON.stringify(obj))));
    }
    await Promise.all(writes);
  }
  const revision = store.revision();
  await store.close();
  // The object history has seen everything (as when the objects came through the API):
  // a start does not replay the fill into it.
  const history = new Database(join(paths.data, 'history.db'));
  history.prepare("INSERT INTO meta (name, value) VALUES ('last_revision', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value").run(revision);
  history.close();
  const fillS = (performance.now() - t0) / 1000;
  const mb = Math.round(statSync(file).size / 1e6);
  console.log(`filled ${OBJECTS} objects of ~${SIZE} B: ${mb} MB in ${fillS.toFixed(1)} s`);

  // 3. Start again, RUNS times: time to /readyz and to the first list.
  console.log('| run | objects | store MB | to /readyz (s) | to first list of `big` (s) | list MB | RSS after (MiB) |');
  console.log('|---|---|---|---|---|---|---|');
  for (let run = 1; run <= RUNS; run++) {
    const start = performance.now();
    server = startServer(clusterDir, port);
    let ready = NaN;
    for (;;) {
      if ((await get(port, agent!, '/readyz')).code === 200) {
        ready = (performance.now() - start) / 1000;
        break;
      }
      if (server.exitCode !== null) throw new Error(`server exited ${server.exitCode}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const list = await get(port, agent!, '/api/v1/namespaces/big/configmaps', 600_000);
    const listed = (performance.now() - start) / 1000;
    const rss = rssMiB(server.pid!);
    console.log(`| ${run} | ${OBJECTS} | ${mb} | ${ready.toFixed(2)} | ${listed.toFixed(2)} | ${(list.bytes / 1e6).toFixed(0)} | ${rss} |`);
    await stop(server);
  }
  agent?.destroy();
} finally {
  if (KEEP) console.log(`kept ${clusterDir}`);
  else rmSync(dir, { recursive: true, force: true });
}
