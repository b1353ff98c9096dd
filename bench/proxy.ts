// Proxy benchmark: how long the nftables proxier takes to program N Services × M
// endpoints (a full sync, as at start or on the periodic resync), and then one
// Service's endpoint change (the incremental sync every ordinary change takes). Runs in
// a private network namespace, so the host's rules are never touched. Root only.
//
//   node dist/bench/proxy.js [--services 10000] [--endpoints 2] [--changes 20] [--backend nftables|iptables] [--balance cascade|vmap]
import { execFileSync } from 'node:child_process';
import { NftablesProxier } from '../proxy/nftables.js';
import { IptablesProxier } from '../proxy/iptables.js';
import { commandRunner } from '../proxy/exec.js';
import type { EndpointInfo, ServicePortState } from '../proxy/model.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const SERVICES = Number(args.get('services') ?? 10000);
const ENDPOINTS = Number(args.get('endpoints') ?? 2);
const CHANGES = Number(args.get('changes') ?? 20);
const BACKEND = args.get('backend') ?? 'nftables';
const BALANCE = (args.get('balance') ?? 'cascade') as 'cascade' | 'vmap';

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
      affinitySeconds: i % 10 === 0 ? 10800 : 0,
      externalPolicyLocal: false,
      internalPolicyLocal: false,
      rank: `2024-01-01T00:00:00Z|bench/svc-${i}`,
    },
    endpoints,
  };
}

async function main(): Promise<void> {
  const ns = `kite-bench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const run = commandRunner(ns);
    const opts = { run, clusterCIDR: '10.244.0.0/16', balance: BALANCE };
    const proxier = BACKEND === 'iptables' ? new IptablesProxier(opts) : new NftablesProxier(opts);
    const states: ServicePortState[] = [];
    for (let i = 0; i < SERVICES; i++) states.push(state(i));

    let t = performance.now();
    const first = await proxier.fullSync(states);
    const firstMs = performance.now() - t;
    t = performance.now();
    const resync = await proxier.fullSync(states);
    const resyncMs = performance.now() - t;

    const times: number[] = [];
    let chains = 0;
    for (let c = 0; c < CHANGES; c++) {
      const i = Math.floor((c * 7919) % SERVICES);
      t = performance.now();
      const r = await proxier.partialSync(new Map([[states[i].svc.id, state(i, c + 1)]]));
      times.push(performance.now() - t);
      chains += r.chainsWritten;
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length / 2)];
    const p99 = times[Math.min(times.length - 1, Math.floor(times.length * 0.99))];
    console.log(`backend ${BACKEND}${BACKEND === 'nftables' ? ` (balance: ${BALANCE})` : ''}: ${SERVICES} Services × ${ENDPOINTS} endpoints`);
    console.log(`  full sync (first, empty table):  ${firstMs.toFixed(0)} ms  (${first.chainsWritten} chains, ${first.elementsChanged} map elements, ${(first.scriptBytes / 1e6).toFixed(1)} MB of script)`);
    console.log(`  full sync (resync, same rules):  ${resyncMs.toFixed(0)} ms  (${resync.chainsWritten} chains)`);
    console.log(`  one-Service incremental sync:    p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${CHANGES} changes (${(chains / CHANGES).toFixed(1)} chains written each)`);
    await proxier.cleanup();
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
