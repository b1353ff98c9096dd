// Shared by the benchmarks that measure a real `kite server` process over HTTPS: start
// one (no node) and wait until it is ready, its CPU time, and clients for it (./https-client.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterPathsIn } from '../cli/paths.js';
import type { KubeObject } from '../machinery/object.js';
import { clusterPKIPaths } from '../machinery/pki.js';
import { freePort } from '../test/e2e/harness.js';
import { HttpsClient } from './https-client.js';
import { runParallel } from './parallel.js';
import { cpuMsOf, threadCpuUsOf } from './procfs.js';

const KITE_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

export interface KiteServer {
  port: number;
  process: ChildProcess;
  /** A client with the cluster's admin certificate. */
  admin(sockets: number): HttpsClient;
  /** A client with a bearer token. */
  withToken(token: string, sockets: number): HttpsClient;
  /** CPU time (user + system, all threads) the server process has used, in µs. */
  cpuUs(): number;
  /** CPU time of the process's main thread (the one serving requests), in µs. */
  mainThreadCpuUs(): number;
  stop(): Promise<void>;
}

export interface KiteServerOptions {
  /** The cluster name (default `bench`); host-global names (an etcd's) derive from it. */
  name?: string;
  /** More environment for the server. */
  env?: NodeJS.ProcessEnv;
  /** Arguments for node itself (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** More arguments for `kite server` (e.g. `--store etcd`). */
  serverArgs?: string[];
  /** Another build's `cli/main.js` to run (default: this build's), to compare two builds side by side. */
  main?: string;
}

/** Starts `kite server` on the data directory `clusterDir` (no node) and waits for `/readyz`. */
export async function startKiteServer(clusterDir: string, opts: KiteServerOptions = {}): Promise<KiteServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.main ?? KITE_MAIN, 'server', '--name', opts.name ?? 'bench', '--data-dir', clusterDir, '--api-port', String(port), ...(opts.serverArgs ?? [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KITE_NODE: 'none', ...opts.env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (/ready|listening|serving/i.test(out)) resolve();
      });
      child.once('exit', (c) => reject(new Error(`kite server exited (${c}): ${out}`)));
    });
    const pki = clusterPKIPaths(clusterPathsIn(clusterDir).pki);
    const ca = readFileSync(pki.caCert, 'utf8');
    const server: KiteServer = {
      port,
      process: child,
      admin: (sockets) => new HttpsClient(port, { ca, cert: readFileSync(pki.adminCert, 'utf8'), key: readFileSync(pki.adminKey, 'utf8') }, sockets),
      withToken: (token, sockets) => new HttpsClient(port, { ca, token }, sockets),
      cpuUs: () => cpuMsOf(`/proc/${child.pid}/stat`) * 1000,
      mainThreadCpuUs: () => threadCpuUsOf(`/proc/${child.pid}/task/${child.pid}/schedstat`) ?? cpuMsOf(`/proc/${child.pid}/task/${child.pid}/stat`) * 1000,
      stop,
    };
    const probe = server.admin(1);
    try {
      // Until /readyz answers 200 (the port may not be open yet when the log says so of another listener).
      for (let i = 0; ; i++) {
        const code = await probe.call('GET', '/readyz').then(
          (r) => r.code,
          () => 0,
        );
        if (code === 200) break;
        if (i >= 600) throw new Error(`kite server not ready after 60 s (/readyz: ${code})`);
        await new Promise((res) => setTimeout(res, 100));
      }
    } finally {
      probe.close();
    }
    return server;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The object the API benchmarks write: a ConfigMap of about 1.5 KB (the size their raw-store floors use too). */
export function benchConfigMap(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'yes' } }, data: { payload: 'x'.repeat(1400) } };
}

/**
 * benchConfigMap(name) as JSON, the same text JSON.stringify gives, made from two parts
 * encoded once: the load generator's CPU shares the cores with the server it measures,
 * and encoding the 1.4 KB payload for every request was ~5 % of the client's.
 */
export function benchConfigMapJson(name: string): string {
  return CONFIG_MAP_JSON[0] + JSON.stringify(name) + CONFIG_MAP_JSON[1];
}

const NAME_MARK = 'name-mark';
const CONFIG_MAP_JSON = JSON.stringify(benchConfigMap(NAME_MARK)).split(JSON.stringify(NAME_MARK)) as [string, string];

/**
 * How many creates warm a server up by default. Measured in windows of 3,000 creates (16
 * clients, ServiceAccount token, Node,RBAC): the request thread's CPU per create is 147 µs
 * in the first, 93 µs in the second and 70–83 µs from the third on, where the JIT
 * compiler threads have settled too (their CPU per create 163 → 30 → 7–30 µs): a run
 * measured after 3,000 creates was still partly measuring the compiler.
 */
export const WARM_UP_CREATES = 10_000;

/**
 * Runs `n` ConfigMap creates (named `warm-up-<i>`) in `namespace` before a measurement, so
 * the server's code paths are compiled (a fresh process spends as much CPU again on its
 * JIT compiler threads during its first few thousand requests) and what is measured is a
 * running server.
 */
export async function warmUp(client: HttpsClient, namespace: string, n: number, sockets: number): Promise<void> {
  await runParallel(n, sockets, async (i) => {
    const r = await client.call('POST', `/api/v1/namespaces/${namespace}/configmaps`, benchConfigMapJson(`warm-up-${i}`));
    if (r.code !== 201) throw new Error(`warm-up create: ${r.code} ${r.body}`);
  });
}
