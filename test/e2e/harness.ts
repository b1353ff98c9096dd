// Acceptance-test harness: brings up a real kite cluster with the `kite` CLI (as a
// user would, in a private KITE_HOME) and drives it with the real kubectl binaries.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyInMetrics, waitFor, waitUntilQuiet } from '../wait.js';
import type { QuietOptions } from '../wait.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/cli/main.js, from dist/test/e2e/harness.js. */
export const KITE_MAIN = join(here, '..', '..', 'cli', 'main.js');
export const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
export const KUBECTL_VERSIONS = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'] as const;
export type KubectlVersion = (typeof KUBECTL_VERSIONS)[number];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  version?: KubectlVersion;
  stdin?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: opts.env, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    else child.stdin?.end();
  });
}

/** Every cluster made in this process (a file that re-runs others' tests checks what they ran on). */
export const clustersMade: Cluster[] = [];

export class Cluster {
  readonly home: string;
  readonly kubeconfig: string;
  port = 0;
  /** What the last `up()` printed (stdout and stderr). */
  upOutput = '';

  /** `extraEnv`: added to the environment of `kite up` (and so of the server it starts) and of kubectl. */
  readonly name: string;

  /**
   * `name` gets KITE_E2E_CLUSTER_PREFIX in front, so runs side by side on one host (their
   * bridges, nftables tables and netns names derive from it) never collide.
   */
  constructor(
    name: string,
    readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.name = `${process.env.KITE_E2E_CLUSTER_PREFIX ?? ''}${name}`;
    this.home = mkdtempSync(join(tmpdir(), `kite-e2e-${name}-`));
    this.kubeconfig = join(this.home, this.name, 'kubeconfig');
    clustersMade.push(this);
  }

  /** The store the cluster was created on (its cluster.json), once it is up. */
  store(): string {
    return (JSON.parse(readFileSync(join(this.home, this.name, 'cluster.json'), 'utf8')) as { store?: string }).store ?? 'sqlite';
  }

  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      // KITE_E2E_STORE=etcd: the clusters of the run are created on the etcd store (KITE_STORE).
      ...(process.env.KITE_E2E_STORE ? { KITE_STORE: process.env.KITE_E2E_STORE } : {}),
      ...this.extraEnv,
      KITE_HOME: this.home,
      KUBECONFIG: join(this.home, 'user-kubeconfig'),
      // kubectl keeps its discovery cache under HOME; keep it per cluster.
      HOME: this.home,
    };
  }

  /** `kite up`; `extraArgs` are added to its command line (e.g. --nodes 3). */
  async up(extraArgs: string[] = []): Promise<void> {
    this.port = await freePort();
    const r = await run(process.execPath, [KITE_MAIN, 'up', '--name', this.name, '--api-port', String(this.port), ...extraArgs], { env: this.env(), timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`kite up failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    this.upOutput = r.stdout + r.stderr;
    const m = /https:\/\/[^\s:]+:(\d+)/.exec(r.stdout + r.stderr);
    if (m) this.port = Number(m[1]);
  }

  /**
   * kill -9 of the cluster's server, and with it of its node's kubelet (a thread of the
   * server), then `kite up`: the new server adopts the containerd and the containers the
   * killed one left running. Resolves with the old and the new server's pids.
   */
  async killServerAndUp(): Promise<{ oldPid: number; newPid: number }> {
    const oldPid = await this.killServer();
    const r = await this.kite(['up', '--name', this.name], 120_000);
    if (r.code !== 0) throw new Error(`kite up after kill -9 of the server failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return { oldPid, newPid: Number(readFileSync(join(this.home, this.name, 'server.pid'), 'utf8').trim()) };
  }

  /** kill -9 of the cluster's (first) server; resolves to its pid once it is gone. */
  async killServer(): Promise<number> {
    const oldPid = Number(readFileSync(join(this.home, this.name, 'server.pid'), 'utf8').trim());
    process.kill(oldPid, 'SIGKILL');
    await waitFor('the killed server to be gone', () => {
      try {
        process.kill(oldPid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 10_000, 50);
    return oldPid;
  }

  /** Runs another `kite` subcommand against this cluster's KITE_HOME. */
  kite(args: string[], timeoutMs = 240_000): Promise<RunResult> {
    return run(process.execPath, [KITE_MAIN, ...args], { env: this.env(), timeoutMs });
  }

  async down(): Promise<void> {
    await run(process.execPath, [KITE_MAIN, 'down', '--name', this.name, '--purge'], { env: this.env(), timeoutMs: 60_000 });
    rmSync(this.home, { recursive: true, force: true });
  }

  kubectl(args: string[], opts: KubectlOptions = {}): Promise<RunResult> {
    const bin = join(KUBECTL_DIR, `kubectl.${opts.version ?? '1.33'}`);
    return run(bin, ['--kubeconfig', this.kubeconfig, ...args], { env: { ...this.env(), ...opts.env }, stdin: opts.stdin, timeoutMs: opts.timeoutMs });
  }

  /** kubectl that must succeed; returns stdout. */
  async k(args: string[], opts: KubectlOptions = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Start a long-running kubectl (e.g. `get -w`) and collect its output. */
  spawnKubectl(args: string[], version: KubectlVersion = '1.33'): { output: () => string; stop: () => void; exited: Promise<number>; stdin: NodeJS.WritableStream } {
    const child = spawn(join(KUBECTL_DIR, `kubectl.${version}`), ['--kubeconfig', this.kubeconfig, ...args], { env: this.env() });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
    return { output: () => out, stop: () => child.kill('SIGTERM'), exited, stdin: child.stdin };
  }

  writeFile(name: string, content: string): string {
    const p = join(this.home, name);
    writeFileSync(p, content);
    return p;
  }
}

export { waitFor };

/**
 * Waits until the cluster's control plane is quiet, read from its /metrics (every
 * controller work queue empty with nothing in process, no pod in the scheduler's
 * active queue) on several reads in a row. A test that asserts nothing happened calls
 * this first, then looks.
 */
export async function waitForQuiet(cluster: Cluster, opts: QuietOptions = {}): Promise<void> {
  await waitUntilQuiet(
    `cluster ${cluster.name}`,
    async () => {
      const r = await cluster.kubectl(['get', '--raw', '/metrics']);
      if (r.code !== 0) return `/metrics: ${r.stderr.trim()}`;
      if (!/^workqueue_depth\{/m.test(r.stdout)) return 'no workqueue_depth in /metrics yet';
      return busyInMetrics(r.stdout);
    },
    { timeoutMs: 60_000, ...opts },
  );
}

// ---------------------------------------------------------------------------------------
// Node helpers (the kubelet tests): the node `kite server` runs on this host.

/** Name of the node a cluster's server runs (kubelet/local-node.ts localNodeName). */
export function nodeNameOf(cluster: Cluster): string {
  return `${cluster.name}-control-plane`;
}

/** The node's directory: pki, containerd state, kubelet state, kubelet.log. */
export function nodeDirOf(cluster: Cluster): string {
  return join(cluster.home, cluster.name, 'node');
}

/** Waits until the cluster's node reports Ready; resolves with the Node object. */
export async function waitForNodeReady(cluster: Cluster, timeoutMs = 60_000): Promise<any> {
  return waitFor(
    `node ${nodeNameOf(cluster)} Ready`,
    async () => {
      const r = await cluster.kubectl(['get', 'node', nodeNameOf(cluster), '-o', 'json']);
      if (r.code !== 0) return undefined;
      const node = JSON.parse(r.stdout);
      const ready = (node.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
      return ready?.status === 'True' ? node : undefined;
    },
    timeoutMs,
    300,
  );
}

/** `kubectl get pod NAME -o json`, parsed (undefined when it does not exist). */
export async function getPod(cluster: Cluster, name: string, namespace = 'default'): Promise<any | undefined> {
  const r = await cluster.kubectl(['get', 'pod', name, '-n', namespace, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout);
}

/** Polls the pod until `pred` holds; resolves with the pod. */
export async function waitForPod(cluster: Cluster, name: string, what: string, pred: (pod: any) => boolean, timeoutMs = 60_000, namespace = 'default'): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      `pod ${name}: ${what}`,
      async () => {
        last = await getPod(cluster, name, namespace);
        return last && pred(last) ? last : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status ?? null)}`, { cause: err });
  }
}

/** Applies a manifest given as YAML text. */
export async function applyYaml(cluster: Cluster, name: string, yaml: string): Promise<string> {
  const file = cluster.writeFile(`${name}.yaml`, yaml);
  return cluster.k(['apply', '-f', file]);
}

/**
 * Two busybox httpd replicas serving their hostname on 8080 (ready once the page
 * exists) and the `web` Service on port 80: the backend of the networking tests and
 * benchmark.
 */
export const WEB_APP = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /www/ready && exec httpd -f -p 8080 -h /www"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {exec: {command: ["test", "-f", "/www/ready"]}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

/** Waits until Service `service` has a ready endpoint in its EndpointSlices (want) or none (!want). */
export async function waitForServiceEndpoints(cluster: Cluster, namespace: string, service: string, want: boolean): Promise<void> {
  await waitFor(
    `${service} endpoints ${want ? 'ready' : 'gone'}`,
    async () => {
      const r = await cluster.kubectl(['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${service}`, '-o', 'json']);
      if (r.code !== 0) return false;
      const ready = JSON.parse(r.stdout).items.flatMap((s: any) => (s.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false));
      return want ? ready.length > 0 : ready.length === 0;
    },
    180_000,
    500,
  );
}
