// Store benchmark, one run: API creates/s and create latency (p50/p99) through HTTPS
// against a `kite server` on the SQLite store and one on the etcd store, next to the
// raw rates of both backends at the same client concurrency: SQLite store creates,
// and raw etcd Put RPCs (no compare, no watch) on a local etcd from etcd-server.
//
//   node dist/bench/store.js [--objects 2000] [--concurrency 16]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SqliteStore } from '../store/sqlite.js';
import { EtcdStore, etcdServices, grpcTarget } from '../store/etcd.js';
import { startEtcd } from '../store/etcd-process.js';
import { createCA } from '../machinery/pki.js';
import { benchConfigMap, benchConfigMapJson, startKiteServer } from './kite-server.js';
import { benchArgs } from './args.js';
import { percentile } from './stats.js';

const args = benchArgs();
const OBJECTS = Number(args.get('objects') ?? 2000);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);

const VALUE = Buffer.from(JSON.stringify(benchConfigMap('raw')));

interface Figures {
  rate: number;
  p50: number;
  p99: number;
}

/** n operations from CONCURRENCY workers: rate and latency percentiles. */
async function measure(n: number, op: (i: number) => Promise<void>): Promise<Figures> {
  let next = 0;
  const latencies: number[] = [];
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await op(i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  const rate = n / ((performance.now() - t) / 1000);
  latencies.sort((a, b) => a - b);
  return { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function rawSqlite(dir: string): Promise<Figures> {
  const store = new SqliteStore(join(dir, 'raw.db'));
  try {
    return await measure(OBJECTS, async (i) => void (await store.create(`/registry/core/configmaps/bench/raw-${i}`, VALUE)));
  } finally {
    await store.close();
  }
}

async function rawEtcd(endpoint: string, tls: { ca: string; cert: string; key: string }): Promise<{ puts: Figures; storeCreates: Figures }> {
  const { target } = grpcTarget(endpoint);
  const creds = grpc.credentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert));
  const kv = new (etcdServices().KV)(target, creds, { 'grpc.ssl_target_name_override': 'localhost' }) as any;
  try {
    const puts = await measure(OBJECTS, (i) =>
      new Promise<void>((resolve, reject) => kv.put({ key: Buffer.from(`/bench/raw-put-${i}`), value: VALUE }, (err: unknown) => (err ? reject(err) : resolve()))),
    );
    // The etcd store itself (txn create guarded by create_revision, no watch open).
    const store = await EtcdStore.open({ endpoints: [endpoint], ...tls });
    try {
      const storeCreates = await measure(OBJECTS, async (i) => void (await store.create(`/bench/store-create-${i}`, VALUE)));
      return { puts, storeCreates };
    } finally {
      await store.close();
    }
  } finally {
    kv.close();
  }
}

/** API creates through a `kite server` on the given store. */
async function apiCreates(dir: string, store: 'sqlite' | 'etcd'): Promise<Figures> {
  const server = await startKiteServer(join(dir, `cluster-${store}`), { name: `${process.env.KITE_E2E_CLUSTER_PREFIX ?? ''}bench-${store}`, serverArgs: ['--store', store] });
  const client = server.admin(CONCURRENCY);
  try {
    await client.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    return await measure(OBJECTS, async (i) => {
      const r = await client.call('POST', '/api/v1/namespaces/bench/configmaps', benchConfigMapJson(`cm-${i}`));
      if (r.code !== 201) throw new Error(`create failed: ${r.code} ${r.body}`);
    });
  } finally {
    client.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-store-'));
  try {
    const sqlite = await rawSqlite(dir);
    const etcd = await startEtcd({ clusterDir: join(dir, 'raw-etcd'), ca: await createCA('kite-bench') });
    let raw: Awaited<ReturnType<typeof rawEtcd>>;
    try {
      raw = await rawEtcd(etcd.clientURL, etcd.tls);
    } finally {
      await etcd.stop();
    }
    const apiSqlite = await apiCreates(dir, 'sqlite');
    const apiEtcd = await apiCreates(dir, 'etcd');

    const row = (what: string, f: Figures) =>
      console.log(`  ${what.padEnd(34)} ${f.rate.toFixed(0).padStart(7)}/s   p50 ${f.p50.toFixed(2).padStart(7)} ms   p99 ${f.p99.toFixed(2).padStart(7)} ms`);
    console.log(`kite store benchmark: ${OBJECTS} ConfigMaps of ~1.5 KB, ${CONCURRENCY} concurrent clients, every write durable`);
    row('raw SQLite store creates', sqlite);
    row('raw etcd puts (gRPC Put)', raw.puts);
    row('etcd store creates (txn CAS)', raw.storeCreates);
    row('API creates on SQLite', apiSqlite);
    row('API creates on etcd', apiEtcd);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
