// The resource metrics scraper (metrics.k8s.io): a node it cannot scrape is logged once per
// failure streak and reason, not at every scrape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { SqliteStore } from '../../store/sqlite.js';
import { startApiCore, OPEN_POLICY } from '../../apiserver/api.js';
import { internalContext } from '../../apiserver/context.js';
import { ResourceMetrics } from '../../apiserver/metrics/resource-metrics.js';
import { createCA } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;

test('a node that cannot be scraped is logged once per reason, and again only once it changes', async () => {
  const store = new SqliteStore(':memory:');
  const core = await startApiCore(store, OPEN_POLICY);
  // A port that refuses connections: listened on, then closed.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  try {
    const ready = [{ type: 'Ready', status: 'True' }];
    await core.registry.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { conditions: ready } }, internalContext('test'));
    const lines: string[] = [];
    const metrics = new ResourceMetrics(core.registry, { caCert: (await createCA('test')).cert }, (m) => lines.push(m));
    await metrics.scrapeAll();
    await metrics.scrapeAll();
    assert.deepEqual(lines, ['unable to fetch metrics from node n1: no address (logged again only when this changes)']);

    const node = core.registry.get(NODES, undefined, 'n1') as { status: object };
    node.status = { conditions: ready, addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } };
    await core.registry.update(NODES, undefined, 'n1', node as never, internalContext('test'), 'status');
    await metrics.scrapeAll();
    await metrics.scrapeAll();
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^unable to fetch metrics from node n1: .*ECONNREFUSED/);

    // Many nodes failing for one reason make one line, not one each.
    for (const name of ['n2', 'n3', 'n4', 'n5']) {
      await core.registry.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { conditions: ready } }, internalContext('test'));
    }
    await metrics.scrapeAll();
    await metrics.scrapeAll();
    assert.deepEqual(lines.slice(2), ['unable to fetch metrics from 4 nodes (n2, n3, n4, …): no address (logged again only when this changes)']);
  } finally {
    core.stop();
    await store.close();
  }
});
