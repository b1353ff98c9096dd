// Footprint benchmark: the idle memory of kite's own processes.
//   1. `kite up` (a control plane plus this host's node; needs root), left idle: RSS of the
//      server, which runs the node's kubelet in a thread (with its anonymous/file-backed
//      split), next to the goal (≤ 150 MiB), and containerd's for reference.
//   2. control planes without a node (KITE_NODE=none), with 0 and with N hollow nodes:
//      the server's RSS difference per hollow node next to the goal (≤ 20 MiB).
//
//   node dist/bench/footprint.js [--hollow 100] [--idle 15]     (--hollow 0: part 1 only)
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../test/e2e/harness.js';
import { processesMatching } from './procfs.js';
import { benchArgs } from './args.js';

const run = promisify(execFile);
const args = benchArgs();
const HOLLOW = Number(args.get('hollow') ?? 100);
const IDLE_MS = Number(args.get('idle') ?? 15) * 1000;
const KITE_GOAL_MIB = 150;
const HOLLOW_GOAL_MIB = 20;

const here = dirname(fileURLToPath(import.meta.url));
const KITE_MAIN = join(here, '..', 'cli', 'main.js');
const PREFIX = process.env.KITE_BENCH_PREFIX ?? 'footprint';

interface Mem {
  rss: number;
  anon: number;
  file: number;
  /** pages only this process maps (what ending it would free): USS */
  private: number;
  /** proportional set size: each resident page divided by the number of processes mapping it */
  pss: number;
}

/** KiB from /proc/PID/status: resident total, anonymous (heaps) and file-backed (code, mapped files). */
function memOf(pid: number): Mem {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const v = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    let priv = 0;
    let pss = 0;
    try {
      const r = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? 0);
      priv = field('Private_Clean') + field('Private_Dirty');
      pss = field('Pss');
    } catch {
      // no smaps_rollup (old kernel)
    }
    return { rss: v('VmRSS'), anon: v('RssAnon'), file: v('RssFile') + v('RssShmem'), private: priv, pss };
  } catch {
    return { rss: 0, anon: 0, file: 0, private: 0, pss: 0 };
  }
}


const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
const describe = (m: Mem) => `${mib(m.rss)} (anon ${mib(m.anon)}, file-backed ${mib(m.file)}; private to it ${mib(m.private)}, PSS ${mib(m.pss)})`;
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withCluster<T>(name: string, extraArgs: string[], env: NodeJS.ProcessEnv, fn: (dir: string) => Promise<T>): Promise<T> {
  const home = mkdtempSync(join(tmpdir(), 'kite-bench-footprint-'));
  const e = { ...process.env, ...env, KITE_HOME: home, KUBECONFIG: join(home, 'user-kubeconfig'), HOME: home };
  try {
    await run(process.execPath, [KITE_MAIN, 'up', '--name', name, '--api-port', String(await freePort()), ...extraArgs], { env: e, timeout: 600_000 });
    return await fn(join(home, name));
  } finally {
    await run(process.execPath, [KITE_MAIN, 'down', '--name', name, '--purge'], { env: e }).catch((err) => console.error(`kite down: ${err}`));
    rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const serverPid = (dir: string) => Number(readFileSync(join(dir, 'server.pid'), 'utf8'));

  // ---- 1. control plane + this host's node
  if (process.getuid?.() === 0) {
    await withCluster(`${PREFIX}-${process.pid}-node`, [], {}, async (dir) => {
      await sleep(IDLE_MS);
      const server = memOf(serverPid(dir));
      const containerd = processesMatching((a) => a.some((x) => x.includes(join(dir, 'node', 'containerd', 'config.toml')))).reduce((a, p) => a + memOf(p).rss, 0);
      console.log(`control plane + one node, idle ${IDLE_MS / 1000} s after kite up:`);
      console.log(`  kite server with its kubelet thread ${describe(server)}`);
      console.log(`  kite total  ${mib(server.rss)} (goal ≤ ${KITE_GOAL_MIB} MiB: ${server.rss / 1024 <= KITE_GOAL_MIB ? 'met' : 'NOT met'}); containerd ${mib(containerd)}`);
      console.log(`  (file-backed pages are mostly the node binary's code); load average ${loadavg()}`);
    });
  } else {
    console.log('(not root: the control plane + node figure is skipped)');
  }

  // ---- 2. hollow nodes: server RSS with 0 and with N
  if (HOLLOW === 0) return;
  const noNode = { KITE_NODE: 'none' };
  const base = await withCluster(`${PREFIX}-${process.pid}-h0`, [], noNode, async (dir) => {
    await sleep(IDLE_MS);
    return memOf(serverPid(dir));
  });
  const withHollow = await withCluster(`${PREFIX}-${process.pid}-h`, ['--hollow-nodes', String(HOLLOW)], noNode, async (dir) => {
    await sleep(IDLE_MS);
    return memOf(serverPid(dir));
  });
  const per = (withHollow.rss - base.rss) / HOLLOW;
  console.log(`control plane without a node: ${describe(base)}; with ${HOLLOW} hollow nodes: ${describe(withHollow)}`);
  console.log(`  per hollow node ${mib(per)} (goal ≤ ${HOLLOW_GOAL_MIB} MiB: ${per / 1024 <= HOLLOW_GOAL_MIB ? 'met' : 'NOT met'})`);
  console.log(`load average at the end: ${loadavg()}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
