// Custom resources vs ConfigMaps: creates and lists of 10,000 objects of each through the
// request pipeline (authorization, strategy, admission, storage, watch cache) of an
// in-process API core on a SQLite file, and the ratio custom/ConfigMap per phase. The
// custom resource has a structural schema (pruning, defaulting, validation all run);
// both kinds carry the same ~1.4 KB payload.
//
//   node dist/bench/crd.js [--objects 10000] [--concurrency 16] [--lists 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite.js';
import { OPEN_POLICY, startApiCore } from '../apiserver/api.js';
import { internalContext } from '../apiserver/context.js';
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { resourceByPath } from '../machinery/resources.js';
import { runParallel } from './parallel.js';
import { benchArgs } from './args.js';

const args = benchArgs();
const OBJECTS = Number(args.get('objects') ?? 10_000);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const LISTS = Number(args.get('lists') ?? 5);
const PAYLOAD = 'x'.repeat(1400);

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'benches.bench.example.com' },
  spec: {
    group: 'bench.example.com',
    scope: 'Namespaced',
    names: { plural: 'benches', kind: 'Bench' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['payload'],
                properties: { payload: { type: 'string', maxLength: 4096 }, replicas: { type: 'integer', minimum: 0, default: 1 }, mode: { type: 'string', enum: ['a', 'b'] } },
              },
              status: { type: 'object', properties: { ready: { type: 'boolean' } } },
            },
          },
        },
      },
    ],
  },
};

const parallel = (n: number, work: (i: number) => Promise<void>): Promise<number> => runParallel(n, CONCURRENCY, work);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-crd-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  const core = await startApiCore(store, OPEN_POLICY);
  const ctx = () => internalContext('bench');
  try {
    const namespaces = resourceByPath('', 'v1', 'namespaces')!;
    await core.registry.create(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }, ctx());
    await core.registry.create(resourceByPath('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!, undefined, structuredClone(CRD) as KubeObject, ctx());
    while (!resourceByPath('bench.example.com', 'v1', 'benches')) await new Promise((r) => setTimeout(r, 10));

    const kinds: { label: string; res: ResourceInfo; make: (name: string) => KubeObject }[] = [
      { label: 'ConfigMap', res: resourceByPath('', 'v1', 'configmaps')!, make: (name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'yes' } }, data: { payload: PAYLOAD, mode: 'a' } }) },
      {
        label: 'Bench (CR)',
        res: resourceByPath('bench.example.com', 'v1', 'benches')!,
        make: (name) => ({ apiVersion: 'bench.example.com/v1', kind: 'Bench', metadata: { name, labels: { bench: 'yes' } }, spec: { payload: PAYLOAD, mode: 'a' } }) as KubeObject,
      },
    ];
    const results: { label: string; createMs: number; listMs: number }[] = [];
    for (const k of kinds) {
      const createMs = await parallel(OBJECTS, async (i) => {
        await core.pipeline.create(ctx(), k.res, 'bench', k.make(`obj-${i}`));
      });
      let listMs = 0;
      for (let i = 0; i < LISTS; i++) {
        const t = performance.now();
        const out = await core.pipeline.list(ctx(), k.res, 'bench', {});
        // Serialize as the server would answer.
        JSON.stringify({ kind: 'List', items: out.items });
        listMs += performance.now() - t;
        if (out.items.length !== OBJECTS) throw new Error(`${k.label}: listed ${out.items.length}, want ${OBJECTS}`);
      }
      listMs /= LISTS;
      results.push({ label: k.label, createMs, listMs });
      console.log(`${k.label.padEnd(12)} create ${OBJECTS}: ${(createMs / 1000).toFixed(2)} s (${Math.round(OBJECTS / (createMs / 1000))}/s)   list ${OBJECTS}: ${listMs.toFixed(0)} ms`);
    }
    const [cm, cr] = results;
    console.log(`ratio CR/ConfigMap: create ${(cr.createMs / cm.createMs).toFixed(2)}×   list ${(cr.listMs / cm.listMs).toFixed(2)}×   (goal ≤ 1.5×)`);
  } finally {
    core.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
