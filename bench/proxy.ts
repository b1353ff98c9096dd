// Proxy benchmark: how long the nftables proxier takes to program N Services × M
// endpoints (a full sync, as at start or on the periodic resync), and then one
// Service's endpoint change (the partial sync every ordinary change takes) — at two
// sizes, to show that a change costs the same whatever the number of Services. Each
// size runs in its own private network namespace, so the host's rules are never
// touched. Root only; installs Debian's nftables when `nft` is missing.
//
//   node dist/bench/proxy.js [--services 10000] [--small 1000] [--endpoints 2] [--changes 200] [--affinity-every 10] [--compare-rounds 5] [--backend nftables|iptables]
//
// The Services: a third NodePorts, every tenth (`--affinity-every`, 0 for none) with
// ClientIP affinity (through shared sticky chains, their endpoints' ids in map elements,
// their clients in one shared set), the rest plain ClusterIPs; every change
// moves one Service's endpoints. Then as many changes that add a Service and remove it
// again (its dispatch element is a verdict-map element: the kernel validates the table).
// Wall-clock figures move with the machine's load: the CPU time (this process plus nft,
// nft's split into user and kernel time) is printed next to them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { NftablesProxier } from '../proxy/nftables.js';
import { IptablesProxier } from '../proxy/iptables.js';
import { NftSession, commandRunner } from '../proxy/exec.js';
import type { EndpointInfo, ServicePortState } from '../proxy/model.js';
import { benchArgs } from './args.js';
import { percentile } from './stats.js';

const args = benchArgs();
const SERVICES = Number(args.get('services') ?? 10000);
const SMALL = Number(args.get('small') ?? 1000);
const ENDPOINTS = Number(args.get('endpoints') ?? 2);
const CHANGES = Number(args.get('changes') ?? 200);
const BACKEND = args.get('backend') ?? 'nftables';
const AFFINITY_EVERY = Number(args.get('affinity-every') ?? 10);
const COMPARE_ROUNDS = Number(args.get('compare-rounds') ?? 5);

const GOAL_FULL_MS = 1000;
const GOAL_CHANGE_P99_MS = 20;

const ip = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const SVC_BASE = (10 << 24) | (96 << 16);
const POD_BASE = (10 << 24) | (244 << 16);

function state(i: number, generation = 0): ServicePortState {
  const endpoints: EndpointInfo[] = [];
  for (let e = 0; e < ENDPOINTS; e++) endpoints.push({ ip: ip(POD_BASE + ((i * ENDPOINTS + e + generation * 7) % 60000) + 2), port: 8080, ready: true, serving: true, terminating: false, isLocal: e === 0 });
  return {
    svc: {
      id: `bench/svc-${i}:http`,
      namespace: 'bench',
      name: `svc-${i}`,
      portName: 'http',
      protocol: 'tcp',
      clusterIP: ip(SVC_BASE + 16 + i),
      port: 80,
      // A third of them NodePorts, like a mixed cluster.
      nodePort: i % 3 === 0 && i / 3 < 2700 ? 30000 + i / 3 : undefined,
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      affinitySeconds: AFFINITY_EVERY > 0 && i % AFFINITY_EVERY === 0 ? 10800 : 0,
      externalPolicyLocal: false,
      internalPolicyLocal: false,
      rank: `2024-01-01T00:00:00Z|bench/svc-${i}`,
    },
    endpoints,
  };
}

/** CPU milliseconds used so far: this process, and the session's nft in user and kernel mode (utime, stime from /proc). */
function cpuSplit(session: NftSession): { own: number; nftUser: number; nftKernel: number } {
  const own = process.cpuUsage();
  let nftUser = 0;
  let nftKernel = 0;
  if (session.pid) {
    try {
      const fields = readFileSync(`/proc/${session.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      nftUser = (Number(fields[11]) * 1000) / CLOCK_TICKS;
      nftKernel = (Number(fields[12]) * 1000) / CLOCK_TICKS;
    } catch {
      /* gone */
    }
  }
  return { own: (own.user + own.system) / 1000, nftUser, nftKernel };
}
function cpuMs(session: NftSession): number {
  const c = cpuSplit(session);
  return c.own + c.nftUser + c.nftKernel;
}
const CLOCK_TICKS = 100;

/** CPU in ms (per change, or of one sync): this process / nft user / nft kernel. */
type CpuPerChange = [own: number, nftUser: number, nftKernel: number];

interface Result {
  services: number;
  fullMs: number;
  fullCpuMs: number;
  /** The cold full sync's CPU: proxy / nft user / nft kernel. */
  fullCpuSplit: CpuPerChange;
  /** Warm full syncs, streamed and not (medians of COMPARE_ROUNDS): wall, CPU. */
  streamedMs: number;
  streamedCpuMs: number;
  wholeMs: number;
  wholeCpuMs: number;
  resyncMs: number;
  resyncCpuMs: number;
  changeCpuMs: number;
  changeCpuSplit: CpuPerChange;
  /** Adding a Service and removing it again: p99 wall, CPU split per change. */
  addRemoveP99: number;
  addRemoveCpuSplit: CpuPerChange;
  fullChains: number;
  fullElements: number;
  fullBytes: number;
  p50: number;
  p99: number;
  max: number;
  chainsPerChange: number;
  elementsPerChange: number;
}

function ensureTools(): void {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('installing nftables (apt-get)…');
    execFileSync('apt-get', ['install', '-y', '-q', 'nftables'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

async function measure(services: number): Promise<Result> {
  const ns = `kite-bench-${process.pid}-${services}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const run = commandRunner(ns);
    const session = new NftSession(ns);
    const opts = { run, clusterCIDR: '10.244.0.0/16', session };
    const proxier = BACKEND === 'iptables' ? new IptablesProxier(opts) : new NftablesProxier(opts);
    const states: ServicePortState[] = [];
    for (let i = 0; i < services; i++) states.push(state(i));

    // Start nft before timing: its start-up is paid once per process, not per sync.
    if (BACKEND === 'nftables') await session.apply('list tables\n');
    const perChange = (before: ReturnType<typeof cpuSplit>, n: number): CpuPerChange => {
      const after = cpuSplit(session);
      return [(after.own - before.own) / n, (after.nftUser - before.nftUser) / n, (after.nftKernel - before.nftKernel) / n];
    };
    let split = cpuSplit(session);
    let cpu = cpuMs(session);
    let t = performance.now();
    const first = await proxier.fullSync(states);
    const fullMs = performance.now() - t;
    const fullCpuMs = cpuMs(session) - cpu;
    const fullCpuSplit = perChange(split, 1);
    // Streaming against the whole script rendered first and then handed to nft (as
    // before streaming), in the same run: both warm, into an empty table, alternately,
    // medians of COMPARE_ROUNDS each.
    const streamed: [number, number][] = [];
    const whole: [number, number][] = [];
    if (BACKEND === 'nftables') {
      const timed = async (sync: () => Promise<unknown>, into: [number, number][]) => {
        const c = cpuMs(session);
        const start = performance.now();
        await sync();
        into.push([performance.now() - start, cpuMs(session) - c]);
      };
      for (let round = 0; round < COMPARE_ROUNDS; round++) {
        const wholeProxier = new NftablesProxier({ ...opts, apply: (script) => session.apply(script) });
        const runs = [() => timed(() => proxier.fullSync(states), streamed), () => timed(() => wholeProxier.fullSync(states), whole)];
        for (const run of round % 2 ? runs.reverse() : runs) {
          await proxier.cleanup();
          await wholeProxier.cleanup();
          await run();
        }
      }
      await proxier.cleanup();
      await proxier.fullSync(states);
    }
    const median = (runs: [number, number][], i: 0 | 1) => runs.map((r) => r[i]).sort((a, b) => a - b)[Math.floor(runs.length / 2)] ?? NaN;
    // A periodic resync: fresh copies of the same states.
    const again = states.map((_, i) => state(i));
    cpu = cpuMs(session);
    t = performance.now();
    await proxier.fullSync(again);
    const resyncMs = performance.now() - t;
    const resyncCpuMs = cpuMs(session) - cpu;

    const times: number[] = [];
    split = cpuSplit(session);
    cpu = cpuMs(session);
    let chains = 0;
    let elements = 0;
    for (let c = 0; c < CHANGES; c++) {
      const i = Math.floor((c * 7919) % services);
      t = performance.now();
      const r = await proxier.partialSync(new Map([[states[i].svc.id, state(i, c + 1)]]));
      times.push(performance.now() - t);
      chains += r.chainsWritten;
      elements += r.elementsChanged;
    }
    const changeCpuMs = (cpuMs(session) - cpu) / CHANGES;
    const changeCpuSplit = perChange(split, CHANGES);
    times.sort((a, b) => a - b);
    // A Service added, then removed (a plain ClusterIP with its endpoints; ids past the others).
    const addRemove: number[] = [];
    split = cpuSplit(session);
    for (let c = 0; c < CHANGES; c++) {
      const added = state(services + Math.floor(c / 2));
      added.svc.affinitySeconds = 0;
      t = performance.now();
      await proxier.partialSync(new Map([[added.svc.id, c % 2 === 0 ? added : undefined]]));
      addRemove.push(performance.now() - t);
    }
    const addRemoveCpuSplit = perChange(split, CHANGES);
    addRemove.sort((a, b) => a - b);
    await proxier.cleanup();
    session.close();
    return {
      services,
      fullMs,
      fullCpuMs,
      fullCpuSplit,
      streamedMs: median(streamed, 0),
      streamedCpuMs: median(streamed, 1),
      wholeMs: median(whole, 0),
      wholeCpuMs: median(whole, 1),
      resyncMs,
      resyncCpuMs,
      changeCpuMs,
      changeCpuSplit,
      addRemoveP99: percentile(addRemove, 99),
      addRemoveCpuSplit,
      fullChains: first.chainsWritten,
      fullElements: first.elementsChanged,
      fullBytes: first.scriptBytes,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      max: times[times.length - 1],
      chainsPerChange: chains / CHANGES,
      elementsPerChange: elements / CHANGES,
    };
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

async function main(): Promise<void> {
  if (BACKEND === 'nftables') ensureTools();
  const small = await measure(SMALL);
  const large = await measure(SERVICES);
  const ok = (v: number, goal: number) => (v < goal ? 'met' : 'MISSED');
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  // (nft's times come in clock ticks of 10 ms: averages over the changes.)
  const split = (c: CpuPerChange) => `${c.map((v) => v.toFixed(2)).join(' / ')} ms`;
  const rows: [string, string, string, string][] = [
    [`full sync, ${SERVICES} Services × ${ENDPOINTS} endpoints (empty table)`, ms(large.fullMs), `< ${GOAL_FULL_MS} ms`, ok(large.fullMs, GOAL_FULL_MS)],
    [`  CPU time of it (proxy + nft)`, ms(large.fullCpuMs), '', ''],
    [`    of it proxy / nft user / nft kernel`, split(large.fullCpuSplit), '', ''],
    [`  warm, streamed to nft while rendered: wall / CPU (median of ${COMPARE_ROUNDS})`, `${ms(large.streamedMs)} / ${ms(large.streamedCpuMs)}`, '', ''],
    [`  warm, whole script first, then nft: wall / CPU`, `${ms(large.wholeMs)} / ${ms(large.wholeCpuMs)}`, '', ''],
    [`full resync, ${SERVICES} Services (same rules)`, ms(large.resyncMs), `< ${GOAL_FULL_MS} ms`, ok(large.resyncMs, GOAL_FULL_MS)],
    [`  CPU time of it (proxy + nft)`, ms(large.resyncCpuMs), '', ''],
    [`one-Service change at ${SMALL} Services, p50`, ms(small.p50), '', ''],
    [`one-Service change at ${SMALL} Services, p99`, ms(small.p99), `< ${GOAL_CHANGE_P99_MS} ms`, ok(small.p99, GOAL_CHANGE_P99_MS)],
    [`one-Service change at ${SERVICES} Services, p50`, ms(large.p50), '', ''],
    [`one-Service change at ${SERVICES} Services, p99`, ms(large.p99), `< ${GOAL_CHANGE_P99_MS} ms`, ok(large.p99, GOAL_CHANGE_P99_MS)],
    [`  CPU time per change at ${SMALL} / ${SERVICES} (proxy + nft)`, `${small.changeCpuMs.toFixed(1)} / ${large.changeCpuMs.toFixed(1)} ms`, '', ''],
    [`    of it proxy / nft user / nft kernel at ${SMALL}`, split(small.changeCpuSplit), '', ''],
    [`    of it proxy / nft user / nft kernel at ${SERVICES}`, split(large.changeCpuSplit), '', ''],
    [`Service added or removed at ${SMALL} / ${SERVICES} Services, p99`, `${ms(small.addRemoveP99)} / ${ms(large.addRemoveP99)}`, `< ${GOAL_CHANGE_P99_MS} ms`, ok(Math.max(small.addRemoveP99, large.addRemoveP99), GOAL_CHANGE_P99_MS)],
    [`  proxy / nft user / nft kernel per change at ${SMALL}`, split(small.addRemoveCpuSplit), '', ''],
    [`  proxy / nft user / nft kernel per change at ${SERVICES}`, split(large.addRemoveCpuSplit), '', ''],
    // Judged on CPU time: wall-clock percentiles on a shared machine move with its load.
    [`change at ${SERVICES} ÷ at ${SMALL}: CPU (p50)`, `${(large.changeCpuMs / small.changeCpuMs).toFixed(2)}× (${(large.p50 / small.p50).toFixed(2)}×)`, '≈ 1×', large.changeCpuMs / small.changeCpuMs < 1.5 ? 'met' : 'MISSED'],
  ];
  const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), ['measure', 'value', 'goal', ''][c].length));
  const line = (r: string[]) => `| ${r.map((x, i) => x.padEnd(w[i])).join(' | ')} |`;
  const affinity = AFFINITY_EVERY > 0 ? `every ${AFFINITY_EVERY}th Service with ClientIP affinity` : 'no ClientIP affinity';
  console.log(`backend ${BACKEND}; ${affinity}; ${CHANGES} one-Service changes per size (each moves one Service's ${ENDPOINTS} endpoints); load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs`);
  console.log(line(['measure', 'value', 'goal', '']));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  for (const r of [small, large]) {
    console.log(
      `  ${r.services} Services: full sync ${r.fullChains} chains, ${r.fullElements} map elements, ${(r.fullBytes / 1e6).toFixed(1)} MB of script; ` +
        `per change ${r.chainsPerChange.toFixed(1)} chains, ${r.elementsPerChange.toFixed(1)} elements written; max ${ms(r.max)}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
