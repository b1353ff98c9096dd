// API server benchmark: creates/s, gets/s and lists/s through HTTPS against a real
// `kite server` process, next to the raw SQLite write and read rate measured in the
// same run (the goal: creates/s ≥ 1× SQLite's own sequential durable inserts), the
// server's CPU per create (its request thread, and its other threads) next to the
// benchmark's own (the client's, on the same cores: ./https-client.ts), and the p50/p99
// latency of single-object writes at a steady load. The
// workload runs twice, as a ServiceAccount (bearer token) bound to `edit`: once with
// authorization as every cluster has it (Node,RBAC) and once with AlwaysAllow, so the
// cost of authorization shows as a ratio: both servers run side by side and the creates
// alternate between them in rounds (`--rounds`). Each server first serves a warm-up of creates
// (a fresh process spends about as much CPU again compiling its code during its first
// few thousand requests), so the figures are those of a running server. The creates run
// at each of several client concurrencies (`--concurrency 16,64`): group commit, the
// goal's lever, shares a commit and an fsync among the writes in flight, so the rate and
// the CPU per create depend on how many there are (kube-apiserver admits 200 mutating
// requests at once by default); gets, lists and the steady load use the first.
//
//   node dist/bench/apiserver.js [--objects 4000] [--rounds 8] [--concurrency 16,64] [--rate 500] [--seconds 10] [--warm-up 10000]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CURRENT_ROWS, STORE_TABLES } from '../store/sqlite.js';
import type { HttpsClient } from './https-client.js';
import { benchConfigMap, benchConfigMapJson, startKiteServer, WARM_UP_CREATES, warmUp, type KiteServer } from './kite-server.js';
import { runParallel } from './parallel.js';
import { benchArgs } from './args.js';
import { openLoop } from './open-loop.js';
import { percentile } from './stats.js';

const args = benchArgs();
const OBJECTS = Number(args.get('objects') ?? 4000);
const CONCURRENCIES = (args.get('concurrency') ?? '16,64').split(',').map(Number);
if (CONCURRENCIES.some((c) => !(c >= 1))) throw new Error(`--concurrency: positive numbers separated by commas (got ${args.get('concurrency')})`);
const CONCURRENCY = CONCURRENCIES[0];
const MAX_CONCURRENCY = Math.max(...CONCURRENCIES);
const RATE = Number(args.get('rate') ?? 500);
const SECONDS = Number(args.get('seconds') ?? 10);
const WARM_UP = Number(args.get('warm-up') ?? WARM_UP_CREATES);
const CREATE_ROUNDS = Number(args.get('rounds') ?? 8);

/**
 * The floor: SQLite itself (better-sqlite3, WAL, synchronous=FULL), one transaction (one
 * fsync) per sequential insert of exactly the rows the store writes for a create (its own
 * tables and settings: a history row holding the value and a current row), then reads by
 * key as the store reads them. Its inserts run in rounds between the servers' create
 * rounds: this machine's fsync rate moves several-fold within minutes, so a floor taken
 * once, before the servers, is not the floor of their creates.
 */
class RawSqlite {
  private readonly db: Database.Database;
  private readonly insert: (rev: number, key: string, value: Buffer) => void;
  private readonly value = Buffer.from(JSON.stringify(benchConfigMap('raw')));
  private inserted = 0;
  private insertMs = 0;

  constructor(dir: string) {
    this.db = new Database(join(dir, 'raw.db'));
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(STORE_TABLES);
    const insertHistory = this.db.prepare('INSERT INTO history (revision, key, deleted, value, create_revision, prev_revision) VALUES (?, ?, 0, ?, ?, NULL)');
    const insertCurrent = this.db.prepare('INSERT INTO current (key, create_revision, mod_revision) VALUES (?, ?, ?)');
    this.insert = this.db.transaction((rev: number, key: string, value: Buffer) => {
      insertCurrent.run(key, rev, rev);
      insertHistory.run(rev, key, value, rev);
    });
  }

  /** `n` more sequential durable inserts, timed. */
  insertRound(n: number): void {
    const t = performance.now();
    for (let i = 0; i < n; i++, this.inserted++) this.insert(this.inserted + 1, `/registry/core/configmaps/bench/raw-${this.inserted}`, this.value);
    this.insertMs += performance.now() - t;
  }

  /** Inserts per second over all rounds. */
  writes(): number {
    return this.inserted / (this.insertMs / 1000);
  }

  /** Reads by key per second (5 per inserted row). */
  reads(): number {
    const get = this.db.prepare(`${CURRENT_ROWS} WHERE c.key = ?`);
    const n = this.inserted * 5;
    const t = performance.now();
    for (let i = 0; i < n; i++) get.get(`/registry/core/configmaps/bench/raw-${i % this.inserted}`);
    return n / ((performance.now() - t) / 1000);
  }

  close(): void {
    this.db.close();
  }
}

/** Creates at one client concurrency. */
interface CreateFigures {
  creates: number;
  /** CPU µs per create of the server's request thread and of its other threads (fsync, checkpoints, history, GC helpers). */
  requestThreadUs: number;
  otherThreadsUs: number;
  /** CPU µs per create of this process, the client. */
  clientUs: number;
}

interface Figures {
  /** By client concurrency, as CONCURRENCIES. */
  creates: CreateFigures[];
  gets: number;
  lists: number;
  p50: number;
  p99: number;
}

/** Sums over the create rounds at one concurrency: elapsed ms and CPU µs. */
interface CreateSums {
  createMs: number;
  requestThreadUs: number;
  allThreadsUs: number;
  clientUs: number;
}

/** A running `kite server` with an authorization mode, and a client with a ServiceAccount token bound to `edit`. */
interface Side {
  server: KiteServer;
  client: HttpsClient;
  /** By client concurrency, as CONCURRENCIES. */
  sums: CreateSums[];
}

async function startSide(dir: string, authorizationMode: string): Promise<Side> {
  const server = await startKiteServer(join(dir, `cluster-${authorizationMode.replace(/\W/g, '')}`), {
    name: `bench-${authorizationMode.replace(/\W/g, '').toLowerCase()}`,
    env: { KITE_AUTHORIZATION_MODE: authorizationMode },
  });
  try {
    const admin = server.admin(CONCURRENCY);
    await admin.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    await admin.call('POST', '/api/v1/namespaces/bench/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bench' } });
    await admin.call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'bench-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: 'bench', namespace: 'bench' }],
    });
    const tr = await admin.call('POST', '/api/v1/namespaces/bench/serviceaccounts/bench/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
    admin.close();
    const token = (JSON.parse(tr.body) as { status: { token: string } }).status.token;
    const client = server.withToken(token, MAX_CONCURRENCY);
    // At the highest concurrency, so that every connection is open (its TLS handshake done) before the measured rounds.
    await warmUp(client, 'bench', WARM_UP, MAX_CONCURRENCY);
    return { server, client, sums: CONCURRENCIES.map(() => ({ createMs: 0, requestThreadUs: 0, allThreadsUs: 0, clientUs: 0 })) };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Creates ConfigMaps <prefix><first>… on one side with `level`'s concurrency, adding its elapsed time and CPU to that level's sums. */
async function createRound(side: Side, level: number, prefix: string, first: number, n: number): Promise<void> {
  const sums = side.sums[level];
  const main0 = side.server.mainThreadCpuUs();
  const all0 = side.server.cpuUs();
  const client0 = process.cpuUsage();
  sums.createMs += await runParallel(n, CONCURRENCIES[level], async (i) => {
    const r = await side.client.call('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMapJson(`${prefix}${first + i}`));
    if (r.code !== 201) throw new Error(`create failed: ${r.code} ${r.body}`);
  });
  const clientCpu = process.cpuUsage(client0);
  sums.clientUs += clientCpu.user + clientCpu.system;
  sums.requestThreadUs += side.server.mainThreadCpuUs() - main0;
  sums.allThreadsUs += side.server.cpuUs() - all0;
}

/**
 * Until both servers are quiet (under 5 % of a core each over 200 ms, at most 10 s): what
 * the creates left running (the object-history worker's backlog, a WAL checkpoint) would
 * otherwise land in the reads measured next, on whichever side comes later.
 */
async function settle(sides: Side[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const before = sides.map((s) => s.server.cpuUs());
    await new Promise((r) => setTimeout(r, 200));
    if (sides.every((s, i) => s.server.cpuUs() - before[i] < 10_000) || Date.now() > deadline) return;
  }
}

/** A side's gets and lists of its ConfigMaps (cm-<i>, the first level's creates). */
function readers(side: Side): { get: (i: number) => Promise<void>; list: () => Promise<void> } {
  const { client } = side;
  return {
    get: async (i) => {
      const r = await client.call('GET', `/api/v1/namespaces/bench/configmaps/cm-${i % OBJECTS}`);
      if (r.code !== 200) throw new Error(`get failed: ${r.code}`);
    },
    list: async () => {
      const r = await client.call('GET', '/api/v1/namespaces/bench/configmaps?limit=100');
      if (r.code !== 200) throw new Error(`list failed: ${r.code}`);
    },
  };
}

/**
 * Gets/s and lists/s of each side, measured in rounds alternating between the two (each
 * first in turn), as the creates are: measured one side after the other, the machine's
 * drift between the two passed for authorization's cost (Node,RBAC's gets read 63–112 %
 * of AlwaysAllow's over one day's runs).
 */
async function readFigures(sides: Side[]): Promise<{ gets: number; lists: number }[]> {
  const all = sides.map(readers);
  // Their code paths warmed up first, as the creates' are: a few thousand gets take a
  // fraction of a second, about what compiling the paths they take costs (more with
  // authorization, so cold figures overstate its cost).
  for (const r of all) {
    await runParallel(OBJECTS * 2, CONCURRENCY, r.get);
    await runParallel(100, CONCURRENCY, r.list);
  }
  await settle(sides);
  // Per round and side: ~0.1–0.3 s of each (200 lists in all read 84–138 % between two runs: rounds of 25 lists were over in ~25 ms).
  const GETS = Math.ceil((OBJECTS * 4) / CREATE_ROUNDS);
  const LISTS = Math.ceil(800 / CREATE_ROUNDS);
  const ms = sides.map(() => ({ gets: 0, lists: 0 }));
  for (let round = 0; round < CREATE_ROUNDS; round++) {
    for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
      ms[i].gets += await runParallel(GETS, CONCURRENCY, (k) => all[i].get(round * GETS + k));
      ms[i].lists += await runParallel(LISTS, CONCURRENCY, all[i].list);
    }
  }
  return ms.map((m) => ({ gets: (GETS * CREATE_ROUNDS) / (m.gets / 1000), lists: (LISTS * CREATE_ROUNDS) / (m.lists / 1000) }));
}

/** The create figures summed over the rounds, the reads' figures, and the steady load's latencies on the side's ConfigMaps. */
async function sideFigures(side: Side, reads: { gets: number; lists: number }): Promise<Figures> {
  const { client } = side;
  // Steady load: RATE updates per second for SECONDS, each latency from when it was due (or sent, if earlier: bench/open-loop.ts).
  const { latencies } = await openLoop(RATE, RATE * SECONDS, async (i) => {
    const r = await client.call('PUT', `/api/v1/namespaces/bench/configmaps/cm-${i % OBJECTS}`, benchConfigMapJson(`cm-${i % OBJECTS}`));
    if (r.code !== 200) throw new Error(`update failed: ${r.code} ${r.body}`);
  });
  latencies.sort();
  return {
    creates: side.sums.map((s) => ({
      creates: OBJECTS / (s.createMs / 1000),
      requestThreadUs: s.requestThreadUs / OBJECTS,
      otherThreadsUs: (s.allThreadsUs - s.requestThreadUs) / OBJECTS,
      clientUs: s.clientUs / OBJECTS,
    })),
    gets: reads.gets,
    lists: reads.lists,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-'));
  const load = () => loadavg()[0].toFixed(1);
  const loadBefore = load();
  try {
    const rawDb = new RawSqlite(dir);
    const sides: Side[] = [];
    let off: Figures;
    let on: Figures;
    let raw: { writes: number; reads: number };
    try {
      for (const mode of ['AlwaysAllow', 'Node,RBAC']) sides.push(await startSide(dir, mode));
      // The creates in rounds alternating between the two servers and the raw floor (each
      // first in turn), so the shared machine's drift (its CPU, its disk's fsync rate) does
      // not pass for authorization's cost or for the floor's.
      const perRound = Math.ceil(OBJECTS / CREATE_ROUNDS);
      for (let round = 0, first = 0; first < OBJECTS; round++, first += perRound) {
        const n = Math.min(perRound, OBJECTS - first);
        // Each level's creates make their own names (the first level's, cm-<i>, are what gets and updates read).
        const levels = CONCURRENCIES.flatMap((_, level) => sides.map((side) => () => createRound(side, level, level === 0 ? 'cm-' : `cm${CONCURRENCIES[level]}-`, first, n)));
        const steps = [() => Promise.resolve(rawDb.insertRound(n * CONCURRENCIES.length)), ...levels];
        for (let k = 0; k < steps.length; k++) await steps[(round + k) % steps.length]();
      }
      await settle(sides);
      const reads = await readFigures(sides);
      await settle(sides);
      off = await sideFigures(sides[0], reads[0]);
      await settle(sides);
      on = await sideFigures(sides[1], reads[1]);
      raw = { writes: rawDb.writes(), reads: rawDb.reads() };
    } finally {
      rawDb.close();
      for (const side of sides) {
        side.client.close();
        await side.server.stop();
      }
    }
    const f = (n: number) => n.toFixed(0).padStart(8);
    const ms = (n: number) => `${n.toFixed(2)} ms`.padStart(10);
    const ratio = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`.padStart(7);
    console.log(`kite API server benchmark (${OBJECTS} ConfigMaps of ~1.5 KB at each of ${CONCURRENCIES.join(', ')} concurrent HTTPS clients with a ServiceAccount token, after ${WARM_UP} to warm up; synchronous=FULL; load ${loadBefore} → ${load()})`);
    console.log(`  raw SQLite (synchronous=FULL, one transaction per insert, in rounds between the creates)   writes/s ${f(raw.writes)}   reads/s ${f(raw.reads)}`);
    console.log(`                     ${'AlwaysAllow'.padStart(11)} ${'Node,RBAC'.padStart(11)}   RBAC/AlwaysAllow (goal ≥ 90 %)`);
    const x = (n: number) => `${(n / raw.writes).toFixed(2)}×`.padStart(8);
    const us = (n: number) => `${n.toFixed(0)} µs`.padStart(8);
    const busy = (fig: CreateFigures) => `${((fig.creates * fig.requestThreadUs) / 1e4).toFixed(0)} %`.padStart(8);
    CONCURRENCIES.forEach((c, level) => {
      const [a, b] = [off.creates[level], on.creates[level]];
      console.log(`  ${c} clients`);
      console.log(`  creates/s          ${f(a.creates)}    ${f(b.creates)}   ${ratio(b.creates, a.creates)}`);
      console.log(`  creates/s ÷ raw    ${x(a.creates)}    ${x(b.creates)}   (goal ≥ 1×: group commit shares one fsync among concurrent writes)`);
      console.log(`  CPU per create     ${us(a.requestThreadUs)}    ${us(b.requestThreadUs)}   (the server's request thread)`);
      // What bounds the creates: the request thread's CPU per create caps them at 1 s ÷ that
      // (the ceiling, were the thread never idle waiting for an fsync or a client), and its
      // busy share says how close to that cap the run came.
      console.log(`    ceiling ÷ raw    ${x(1e6 / a.requestThreadUs)}    ${x(1e6 / b.requestThreadUs)}   (1 s ÷ that CPU: creates/s with the request thread never idle)`);
      console.log(`    thread busy      ${busy(a)}    ${busy(b)}`);
      console.log(`    other threads    ${us(a.otherThreadsUs)}    ${us(b.otherThreadsUs)}`);
      console.log(`    the client       ${us(a.clientUs)}    ${us(b.clientUs)}   (this process, on the same cores)`);
    });
    console.log(`  gets, lists, steady writes (${CONCURRENCY} clients)`);
    console.log(`  gets/s             ${f(off.gets)}    ${f(on.gets)}   ${ratio(on.gets, off.gets)}`);
    console.log(`  lists/s (100)      ${f(off.lists)}    ${f(on.lists)}   ${ratio(on.lists, off.lists)}`);
    console.log(`  steady ${RATE}/s p50  ${ms(off.p50)}  ${ms(on.p50)}`);
    console.log(`  steady ${RATE}/s p99  ${ms(off.p99)}  ${ms(on.p99)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
