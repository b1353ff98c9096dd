// `kite up` benchmark (needs root for the node): how long `kite up` takes to return,
// which it does once the node is Ready, for a new cluster and for the same cluster
// stopped (`kite down`) and started again, next to the goal (≤ 3 s on a warm machine:
// containerd installed, image archives built). Prints the steps' times from the server
// log too: API serving, kubelet started, containerd started, images in, the ingress controller listening
// (whose address `kite up` prints).
//
//   node dist/bench/up.js [--rounds 2]
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../test/e2e/harness.js';
import { benchArgs } from './args.js';

const run = promisify(execFile);
const args = benchArgs();
const ROUNDS = Number(args.get('rounds') ?? 2);
const GOAL_MS = 3000;

const here = dirname(fileURLToPath(import.meta.url));
const KITE_MAIN = join(here, '..', 'cli', 'main.js');

/** Milliseconds from the server's start line to the first log line matching each pattern (the last start in the log). */
function serverSteps(log: string): string {
  const text = readFileSync(log, 'utf8');
  const start = text.lastIndexOf('kite server "');
  const lines = text.slice(text.lastIndexOf('\n', start) + 1).split('\n');
  const t0 = Date.parse(lines[0]!.split(' ')[0]!);
  const at = (re: RegExp) => {
    const l = lines.find((x) => re.test(x));
    return l ? `${Date.parse(l.split(' ')[0]!) - t0} ms` : '-';
  };
  return `API listening ${at(/API server listening/)}, kubelet started ${at(/kubelet started/)}, containerd ready ${at(/containerd (started|adopted|restarted)/)}, images ready ${at(/node: images ready/)}, ingress listening ${at(/ingress: listening on/)}`;
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'kite-bench-up-'));
  const env = { ...process.env, KITE_HOME: home, KUBECONFIG: join(home, 'user-kubeconfig'), HOME: home };
  const prefix = process.env.KITE_BENCH_PREFIX ?? 'upbench';
  const results: string[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const name = `${prefix}-${process.pid}-${round}`;
      const port = String(await freePort());
      for (const kind of ['new cluster', 'stopped cluster started again'] as const) {
        const t = performance.now();
        await run(process.execPath, [KITE_MAIN, 'up', '--name', name, '--api-port', port], { env, timeout: 600_000 });
        const ms = performance.now() - t;
        results.push(`  ${kind.padEnd(31)} ${ms.toFixed(0).padStart(6)} ms (goal ≤ ${GOAL_MS} ms: ${ms <= GOAL_MS ? 'met' : 'NOT met'}); server log: ${serverSteps(join(home, name, 'server.log'))}`);
        await run(process.execPath, [KITE_MAIN, 'down', '--name', name, ...(kind === 'new cluster' ? [] : ['--purge'])], { env });
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  console.log(`kite up until it returns with the node Ready (${ROUNDS} rounds; the first round may include first-use work):`);
  for (const r of results) console.log(r);
  console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
