// Object history benchmark: API creates/s (ConfigMaps through the request pipeline,
// on a durable SQLite store as `kite server` runs it) with history recording off and
// on, alternating in the same run so both see the same machine; plus write latency
// percentiles and how long the history takes to drain its queue after the last write.
// On a loaded machine rates swing from round to round, so each round with history on
// is compared with the round off next to it (the order alternates within pairs) and
// the median of those ratios is printed, as is the CPU time of the request thread,
// which history hands its work off (to a worker thread, whose CPU time is shown).
// Then the same comparison as users meet it: ConfigMaps created over HTTPS by 16
// clients against a real `kite server` process started with KITE_HISTORY=off or on,
// with the server's CPU time per create, measured after a warm-up of as many creates
// (a fresh process first spends as much CPU again compiling its code).
//
//   node dist/bench/history.js [--objects 4000] [--concurrency 16] [--rounds 8] [--https-objects 3000] [--https-rounds 6] [--warm-up 3000]
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite.js';
import { startApiCore, OPEN_POLICY } from '../apiserver/api.js';
import type { RequestContext } from '../apiserver/context.js';
import { internalContext } from '../apiserver/context.js';
import { resourceByPath } from '../machinery/resources.js';
import { runParallel } from './parallel.js';
import { benchConfigMap, benchConfigMapJson, startKiteServer, WARM_UP_CREATES, warmUp } from './kite-server.js';
import { benchArgs } from './args.js';
import { percentile } from './stats.js';

const args = benchArgs();
const OBJECTS = Number(args.get('objects') ?? 4000);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const ROUNDS = Number(args.get('rounds') ?? 8);
const HTTPS_OBJECTS = Number(args.get('https-objects') ?? 3000);
const HTTPS_ROUNDS = Number(args.get('https-rounds') ?? 6);
const WARM_UP = Number(args.get('warm-up') ?? WARM_UP_CREATES);

const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;
const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;
const USER: RequestContext = { user: { name: 'bench', groups: ['system:masters'] }, dryRun: false, fieldValidation: 'Ignore', warnings: [], userAgent: 'kite-bench' };

interface Result {
  history: boolean;
  rate: number;
  p50: number;
  p99: number;
  drainMs: number;
  historyBytes: number;
  /** CPU time of the process per create (user+system, all threads, the history's worker included): steadier than rates on a shared machine. */
  cpuUs: number;
  /** CPU time of the history's worker thread per create (Linux). */
  workerCpuUs: number;
  /** CPU time of the request thread per create (Linux): what history must not add to. */
  mainCpuUs: number;
}

/** CPU time of the calling thread (Linux, nanosecond schedstat; 0 elsewhere), in µs. */
function threadCpuUs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return 0;
  }
}

async function round(history: boolean): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-history-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  const core = await startApiCore(store, OPEN_POLICY, history ? { history: { path: join(dir, 'history.db') } } : {});
  try {
    await core.registry.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }, internalContext('bench'));
    const latencies: number[] = [];
    let next = 0;
    const cpu = process.cpuUsage();
    const mainCpu = threadCpuUs();
    const workerCpu = core.history?.workerCpuUs() ?? 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < OBJECTS) {
          const i = next++;
          const t = performance.now();
          await core.pipeline.create({ ...USER, warnings: [] }, CONFIGMAPS, 'bench', benchConfigMap(`cm-${i}`));
          latencies.push(performance.now() - t);
        }
      }),
    );
    const elapsed = performance.now() - start;
    const t = performance.now();
    core.history?.flush();
    const drainMs = performance.now() - t;
    const workerCpuUs = ((core.history?.workerCpuUs() ?? 0) - workerCpu) / OBJECTS;
    const used = process.cpuUsage(cpu);
    const mainCpuUs = (threadCpuUs() - mainCpu) / OBJECTS;
    const cpuUs = (used.user + used.system) / OBJECTS;
    latencies.sort((a, b) => a - b);
    // The database and its WAL (checkpointed on a timer, so most of a round is still there).
    const historyBytes = history ? ['history.db', 'history.db-wal'].reduce((n, f) => n + (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0), 0) : 0;
    return { history, rate: OBJECTS / (elapsed / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), drainMs, historyBytes, cpuUs, workerCpuUs, mainCpuUs };
  } finally {
    core.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`load average at the start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const pct = (on: number, off: number) => `${on >= off ? '+' : ''}${(((on - off) / off) * 100).toFixed(1)}%`;
if (ROUNDS > 0) {
  const results: Result[] = [];
  await round(false); // warm-up (JIT, page cache)
  const pairs: [Result, Result][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const first = await round(r % 2 === 1);
    const second = await round(r % 2 === 0);
    results.push(first, second);
    pairs.push(first.history ? [second, first] : [first, second]);
  }
  console.log(`ConfigMap creates through the API pipeline (in process, SQLite synchronous=FULL), ${OBJECTS} objects, concurrency ${CONCURRENCY}:`);
  console.log('history  creates/s  p50 ms  p99 ms  CPU µs/create: process  request thread  history worker  drain ms  history.db');
  for (const r of results) {
    console.log(
      `${(r.history ? 'on' : 'off').padEnd(7)}  ${r.rate.toFixed(0).padStart(9)}  ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}  ${r.cpuUs.toFixed(0).padStart(21)}  ${r.mainCpuUs.toFixed(0).padStart(14)}  ${r.workerCpuUs.toFixed(0).padStart(14)}  ${r.drainMs.toFixed(0).padStart(8)}  ${r.history ? `${(r.historyBytes / 1024 / 1024).toFixed(1)} MiB` : '-'}`,
    );
  }
  const median = (on: boolean, f: (r: Result) => number) => {
    const xs = results.filter((r) => r.history === on).map(f).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  };
  const [offRate, onRate] = [median(false, (r) => r.rate), median(true, (r) => r.rate)];
  const [offCpu, onCpu] = [median(false, (r) => r.cpuUs), median(true, (r) => r.cpuUs)];
  const [offMain, onMain] = [median(false, (r) => r.mainCpuUs), median(true, (r) => r.mainCpuUs)];
  const ratios = pairs.map(([off, on]) => on.rate / off.rate).sort((a, b) => a - b);
  const pairRatio = ratios[Math.floor(ratios.length / 2)];
  console.log(`median of on/off creates/s in adjacent rounds: ${pct(pairRatio, 1)}`);
  console.log(`median creates/s: off ${offRate.toFixed(0)}, on ${onRate.toFixed(0)} (${pct(onRate, offRate)}); CPU per create: off ${offCpu.toFixed(0)} µs, on ${onCpu.toFixed(0)} µs (${pct(onCpu, offCpu)})`);
  console.log(`median request-thread CPU per create: off ${offMain.toFixed(0)} µs, on ${onMain.toFixed(0)} µs (${pct(onMain, offMain)}); history worker thread ${median(true, (r) => r.workerCpuUs).toFixed(0)} µs per create`);
}

interface HttpsResult {
  history: boolean;
  rate: number;
  /** The server process's CPU time per create (all threads). */
  cpuUs: number;
}

/** One round over HTTPS: a new `kite server` (history off or on), OBJECTS creates by CONCURRENCY clients. */
async function httpsRound(history: boolean): Promise<HttpsResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-history-https-'));
  const server = await startKiteServer(join(dir, 'cluster'), { env: { KITE_HISTORY: history ? 'on' : 'off' } });
  try {
    const client = server.admin(CONCURRENCY);
    const ns = await client.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    if (ns.code !== 201) throw new Error(`namespace: ${ns.code} ${ns.body}`);
    await warmUp(client, 'bench', WARM_UP, CONCURRENCY);
    const cpu = server.cpuUs();
    const ms = await runParallel(HTTPS_OBJECTS, CONCURRENCY, async (i) => {
      const r = await client.call('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMapJson(`cm-${i}`));
      if (r.code !== 201) throw new Error(`create: ${r.code} ${r.body}`);
    });
    const cpuUs = (server.cpuUs() - cpu) / HTTPS_OBJECTS;
    client.close();
    return { history, rate: HTTPS_OBJECTS / (ms / 1000), cpuUs };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (HTTPS_ROUNDS > 0) {
  const https: [HttpsResult, HttpsResult][] = [];
  await httpsRound(false); // warm-up (page cache, certificates' code paths)
  for (let r = 0; r < HTTPS_ROUNDS; r++) {
    const first = await httpsRound(r % 2 === 1);
    const second = await httpsRound(r % 2 === 0);
    https.push(first.history ? [second, first] : [first, second]);
  }
  console.log(`\nConfigMap creates over HTTPS to a kite server process (${HTTPS_OBJECTS} per round after ${WARM_UP} to warm up, ${CONCURRENCY} clients with the admin certificate), KITE_HISTORY off vs on in adjacent rounds:`);
  console.log('pair  off creates/s  on creates/s  on/off   server CPU µs/create off  on');
  https.forEach(([off, on], i) => {
    console.log(`${String(i + 1).padStart(4)}  ${off.rate.toFixed(0).padStart(13)}  ${on.rate.toFixed(0).padStart(12)}  ${pct(on.rate / off.rate, 1).padStart(6)}   ${off.cpuUs.toFixed(0).padStart(24)}  ${on.cpuUs.toFixed(0).padStart(3)}`);
  });
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rateRatio = mid(https.map(([off, on]) => on.rate / off.rate));
  const cpuRatio = mid(https.map(([off, on]) => on.cpuUs / off.cpuUs));
  console.log(`median of on/off creates/s over HTTPS in adjacent rounds: ${pct(rateRatio, 1)} (goal: within 5 %); server CPU per create: ${pct(cpuRatio, 1)}`);
}
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
