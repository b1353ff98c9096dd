// The API server's request-thread CPU per create of two builds side by side: this build's
// `kite server` and another build's (its compiled directory, e.g. a worktree's dist/ built
// from the commit before a change), both running and warmed up, then rounds of creates
// alternating between them, so both see the same load. On a shared machine, whose load
// swings within a minute, this compares two builds better than runs one after the other.
//
// The two sides may also be one build run with different node flags (`--before-node-args`,
// `--after-node-args`: flags without their leading dashes, separated by commas, e.g.
// `max-semi-space-size=32`), to measure a V8 setting the same way.
//
//   node dist/bench/apiserver-ab.js --before /path/to/other/dist [--rounds 6] [--creates 4000] [--concurrency 16] [--warm-up 10000]
//   node dist/bench/apiserver-ab.js --after-node-args max-semi-space-size=32
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HttpsClient } from './https-client.js';
import { benchConfigMapJson, startKiteServer, WARM_UP_CREATES, warmUp, type KiteServer } from './kite-server.js';
import { runParallel } from './parallel.js';
import { benchArgs } from './args.js';
import { median, percentile } from './stats.js';

const args = benchArgs();
const BEFORE = args.get('before');
const ROUNDS = Number(args.get('rounds') ?? 6);
const CREATES = Number(args.get('creates') ?? 4000);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const WARM_UP = Number(args.get('warm-up') ?? WARM_UP_CREATES);
const nodeArgs = (name: string) => (args.get(name) ?? '').split(',').filter(Boolean).map((a) => `--${a}`);
const NODE_ARGS = { before: nodeArgs('before-node-args'), after: nodeArgs('after-node-args') };

interface Side {
  name: 'before' | 'after';
  server: KiteServer;
  client: HttpsClient;
  requestThreadUs: number[];
  /** The server's CPU per create, all its threads. */
  serverUs: number[];
  /** The client's (this process's) CPU per create while it drove this side. */
  clientUs: number[];
  creates: number[];
}


async function main(): Promise<void> {
  if (!BEFORE && NODE_ARGS.before.join() === NODE_ARGS.after.join()) throw new Error("--before <the other build's dist directory>, or node flags that differ (--before-node-args, --after-node-args), is required");
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-ab-'));
  const sides: Side[] = [];
  try {
    for (const [name, main] of [
      ['before', BEFORE ? join(resolve(BEFORE), 'cli', 'main.js') : undefined],
      ['after', undefined],
    ] as const) {
      const server = await startKiteServer(join(dir, name), { name: `bench-ab-${name}`, main, nodeArgs: NODE_ARGS[name] });
      const client = server.admin(CONCURRENCY);
      sides.push({ name, server, client, requestThreadUs: [], serverUs: [], clientUs: [], creates: [] });
      await client.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
      await warmUp(client, 'bench', WARM_UP, CONCURRENCY);
    }
    const loads: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Each side goes first in every other round.
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const cpu0 = side.server.mainThreadCpuUs();
        const server0 = side.server.cpuUs();
        const client0 = process.cpuUsage();
        const ms = await runParallel(CREATES, CONCURRENCY, async (i) => {
          const r = await side.client.call('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMapJson(`cm-${round}-${i}`));
          if (r.code !== 201) throw new Error(`create failed: ${r.code} ${r.body}`);
        });
        side.requestThreadUs.push((side.server.mainThreadCpuUs() - cpu0) / CREATES);
        side.serverUs.push((side.server.cpuUs() - server0) / CREATES);
        const clientCpu = process.cpuUsage(client0);
        side.clientUs.push((clientCpu.user + clientCpu.system) / CREATES);
        side.creates.push(CREATES / (ms / 1000));
      }
      loads.push(loadavg()[0].toFixed(1));
    }
    console.log(`request thread CPU per create, ${ROUNDS} alternating rounds of ${CREATES} creates (${CONCURRENCY} clients, admin certificate; load ${loads.join(' ')})`);
    for (const s of sides) if (NODE_ARGS[s.name].length) console.log(`  ${s.name} runs node ${NODE_ARGS[s.name].join(' ')}`);
    for (const s of sides) {
      console.log(`  ${s.name.padEnd(7)} ${s.requestThreadUs.map((u) => `${u.toFixed(0)}`.padStart(5)).join('')} µs   median ${median(s.requestThreadUs).toFixed(0)} µs (all threads ${median(s.serverUs).toFixed(0)} µs, client ${median(s.clientUs).toFixed(0)} µs), creates/s median ${median(s.creates).toFixed(0)}`);
    }
    const [before, after] = sides.map((s) => median(s.requestThreadUs));
    // Each round's two sides ran seconds apart, so their ratio sheds the machine's drift
    // across rounds, which the medians above keep (one side's rounds spread ±25 % on a
    // noisy day); the spread of the ratios says how far to trust the median.
    const paired = sides[1].requestThreadUs.map((u, i) => u / sides[0].requestThreadUs[i]).sort((a, b) => a - b);
    console.log(`  after ÷ before (medians) ${(after / before).toFixed(2)}; round by round: median ${median(paired).toFixed(2)}, quartiles ${percentile(paired, 25).toFixed(2)}–${percentile(paired, 75).toFixed(2)}`);
  } finally {
    for (const s of sides) {
      s.client.close();
      await s.server.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
