// Deployment benchmark: the controllers, scheduler and (hollow) kubelets at scale.
// Brings up a cluster with N hollow nodes and no real node (KITE_NODE=none), then
//   1. creates a Deployment with R replicas and times it until
//      status.updatedReplicas == status.availableReplicas == R (and observedGeneration
//      caught up), observed by polling the Deployment's status;
//   2. `kubectl set image` to a new image and times the rolling update until the same
//      condition holds for the new generation with no old pods left (replicas == R);
// prints both figures and pods/s, then tears the cluster down.
//
//   node dist/bench/deployment.js [--replicas 1000] [--nodes 100]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../test/e2e/harness.js';
import { benchArgs } from './args.js';

const run = promisify(execFile);
const args = benchArgs();
const REPLICAS = Number(args.get('replicas') ?? 1000);
const NODES = Number(args.get('nodes') ?? 100);
const TIMEOUT_MS = Number(args.get('timeout') ?? 150) * 1000;
if (!Number.isSafeInteger(REPLICAS) || REPLICAS < 1 || !Number.isSafeInteger(NODES) || NODES < 1) {
  throw new Error('usage: deployment.js [--replicas N>=1] [--nodes N>=1] [--timeout SECONDS]');
}

const here = dirname(fileURLToPath(import.meta.url));
const KITE_MAIN = join(here, '..', 'cli', 'main.js');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';
const NAME = 'bench-deploy';

const home = mkdtempSync(join(tmpdir(), 'kite-bench-deploy-'));
const env: NodeJS.ProcessEnv = { ...process.env, KITE_HOME: home, KITE_NODE: 'none', HOME: home, KUBECONFIG: join(home, 'user-kubeconfig') };
const kubeconfig = join(home, NAME, 'kubeconfig');

function kubectl(a: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(KUBECTL, ['--kubeconfig', kubeconfig, ...a], { env, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
}

interface DeployStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  readyReplicas?: number;
}

async function deployment(): Promise<{ generation: number; status: DeployStatus }> {
  const d = JSON.parse((await kubectl(['get', 'deploy', 'bench', '-o', 'json'])).stdout) as { metadata: { generation: number }; status?: DeployStatus };
  return { generation: d.metadata.generation, status: d.status ?? {} };
}

/** Polls until the Deployment's newest generation is fully updated and available; ms taken. */
async function waitComplete(what: string, start: number): Promise<number> {
  let lastLine = '';
  let lastPrint = 0;
  for (;;) {
    let d: Awaited<ReturnType<typeof deployment>>;
    try {
      d = await deployment();
    } catch (err) {
      // A loaded machine can time a poll out (TLS handshake timeout): keep polling.
      if (Date.now() - start > TIMEOUT_MS) throw err;
      process.stdout.write(`  (poll failed, retrying: ${String(err).split('\n').slice(-2).join(' ').trim()})\n`);
      continue;
    }
    const { generation, status: s } = d;
    const done = (s.observedGeneration ?? 0) >= generation && s.updatedReplicas === REPLICAS && s.availableReplicas === REPLICAS && s.replicas === REPLICAS;
    const now = Date.now();
    if (done) return now - start;
    const line = `  ${what}: updated ${s.updatedReplicas ?? 0} ready ${s.readyReplicas ?? 0} available ${s.availableReplicas ?? 0} total ${s.replicas ?? 0}`;
    if (line !== lastLine && now - lastPrint > 5000) {
      process.stdout.write(`${((now - start) / 1000).toFixed(1)}s ${line}\n`);
      lastLine = line;
      lastPrint = now;
    }
    if (now - start > TIMEOUT_MS) throw new Error(`${what}: not complete after ${TIMEOUT_MS / 1000}s (${line.trim()})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function manifest(): string {
  // Pods request a little CPU so the scheduler spreads them (110 pods per node max).
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench' },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: 'bench' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'bench' } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'app', image: 'registry.kite.test/bench:1', resources: { requests: { cpu: '1m', memory: '1Mi' } } }],
        },
      },
    },
  });
}

async function main(): Promise<void> {
  if (REPLICAS > NODES * 110) throw new Error(`${REPLICAS} replicas do not fit on ${NODES} nodes of 110 pods`);
  try {
    const t0 = Date.now();
    await run(process.execPath, [KITE_MAIN, 'up', '--name', NAME, '--api-port', String(await freePort()), '--hollow-nodes', String(NODES)], { env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
    // Wait for every hollow node to be Ready.
    for (;;) {
      const nodes = JSON.parse((await kubectl(['get', 'nodes', '-o', 'json'])).stdout) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready >= NODES) break;
      if (Date.now() - t0 > 180_000) throw new Error(`only ${ready}/${NODES} nodes Ready`);
      await new Promise((r) => setTimeout(r, 500));
    }
    process.stdout.write(`cluster up with ${NODES} hollow nodes Ready in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);

    const file = join(home, 'bench.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, manifest());
    const createStart = Date.now();
    await kubectl(['apply', '-f', file]);
    const createMs = await waitComplete('create', createStart);
    process.stdout.write(`create: ${REPLICAS} replicas available in ${(createMs / 1000).toFixed(2)}s (${(REPLICAS / (createMs / 1000)).toFixed(1)} pods/s)\n`);

    const rollStart = Date.now();
    await kubectl(['set', 'image', 'deployment/bench', 'app=registry.kite.test/bench:2']);
    const rollMs = await waitComplete('rollout', rollStart);
    process.stdout.write(`rolling update: ${REPLICAS} replicas replaced in ${(rollMs / 1000).toFixed(2)}s (${(REPLICAS / (rollMs / 1000)).toFixed(1)} pods/s)\n`);

    process.stdout.write(
      `\nRESULT replicas=${REPLICAS} nodes=${NODES} create_s=${(createMs / 1000).toFixed(2)} create_pods_per_s=${(REPLICAS / (createMs / 1000)).toFixed(1)} ` +
        `rollout_s=${(rollMs / 1000).toFixed(2)} rollout_pods_per_s=${(REPLICAS / (rollMs / 1000)).toFixed(1)}\n`,
    );
  } finally {
    // Also after a failed `kite up`: it may have left a server behind.
    await run(process.execPath, [KITE_MAIN, 'down', '--name', NAME, '--purge'], { env, timeout: 120_000 }).catch((err) => process.stderr.write(`kite down: ${String(err)}\n`));
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
