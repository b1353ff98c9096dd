// Start-up time with a big store: a `kite server` (no node) is started once to lay out its
// cluster, stopped, its SQLite store filled with N ConfigMaps of about SIZE bytes each,
// then started again: the figures are the time from spawn to /readyz answering 200 and
// to the first list of the big namespace, and the RSS after that list.
//
//   node dist/bench/startup.js [--objects 84000] [--size 5000] [--runs 2] [--keep yes]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/e2e/harness.js';
import { configMapObject, fillStore, get, layOutCluster, rssMiB, startServer, stop, waitReady } from './bigstore.js';
import { benchArgs } from './args.js';

const args = benchArgs();
const OBJECTS = Number(args.get('objects') ?? 84_000);
const SIZE = Number(args.get('size') ?? 5_000);
const RUNS = Number(args.get('runs') ?? 2);
/** Leave the filled cluster dir behind (for profiling a start by hand). */
const KEEP = args.get('keep') === 'yes';

const dir = mkdtempSync(join(tmpdir(), 'kite-bench-startup-'));
const clusterDir = join(dir, 'cluster');
try {
  const port = await freePort();
  // 1. Lay the cluster out (PKI, bootstrap objects), then stop it.
  const agent: Agent = await layOutCluster('bench-startup', clusterDir, port);

  // 2. Fill the store directly (a namespace `big` of ConfigMaps).
  const t0 = performance.now();
  const file = await fillStore(clusterDir, OBJECTS, (i) => configMapObject('big', i, SIZE));
  const fillS = (performance.now() - t0) / 1000;
  const mb = Math.round(statSync(file).size / 1e6);
  console.log(`filled ${OBJECTS} objects of ~${SIZE} B: ${mb} MB in ${fillS.toFixed(1)} s`);

  // 3. Start again, RUNS times: time to /readyz and to the first list.
  console.log('| run | objects | store MB | to /readyz (s) | to first list of `big` (s) | list MB | RSS after (MiB) |');
  console.log('|---|---|---|---|---|---|---|');
  for (let run = 1; run <= RUNS; run++) {
    const start = performance.now();
    const server = startServer('bench-startup', clusterDir, port);
    const ready = await waitReady(port, () => agent, server, start);
    const list = await get(port, agent, '/api/v1/namespaces/big/configmaps', 600_000);
    const listed = (performance.now() - start) / 1000;
    const rss = rssMiB(server.pid!);
    console.log(`| ${run} | ${OBJECTS} | ${mb} | ${ready.toFixed(2)} | ${listed.toFixed(2)} | ${(list.bytes / 1e6).toFixed(0)} | ${rss} |`);
    await stop(server);
  }
  agent.destroy();
} finally {
  if (KEEP) console.log(`kept ${clusterDir}`);
  else rmSync(dir, { recursive: true, force: true });
}
